"""Pools: policy rules (upstream names and defaults)."""

from zaqar_core.policies import base

rules = [
    base.rule('pools:get_all', 'GET', '/v2/pools',
              'List pools.',
              base.ROLE_ADMIN),
    base.rule('pools:create', 'PUT', '/v2/pools/{pool_name}',
              'Create a pool.',
              base.ROLE_ADMIN),
    base.rule('pools:get', 'GET', '/v2/pools/{pool_name}',
              'Show a pool.',
              base.ROLE_ADMIN),
    base.rule('pools:delete', 'DELETE', '/v2/pools/{pool_name}',
              'Delete a pool.',
              base.ROLE_ADMIN),
    base.rule('pools:update', 'PATCH', '/v2/pools/{pool_name}',
              'Update a pool.',
              base.ROLE_ADMIN),
]


def list_rules() -> list:
    return rules
