"""Flavors: policy rules (upstream names and defaults)."""

from zaqar_core.policies import base

rules = [
    base.rule('flavors:get_all', 'GET', '/v2/flavors',
              'List flavors.'),
    base.rule('flavors:create', 'PUT', '/v2/flavors/{flavor_name}',
              'Create a flavor.',
              base.ROLE_ADMIN),
    base.rule('flavors:get', 'GET', '/v2/flavors/{flavor_name}',
              'Show a flavor.'),
    base.rule('flavors:delete', 'DELETE', '/v2/flavors/{flavor_name}',
              'Delete a flavor.',
              base.ROLE_ADMIN),
    base.rule('flavors:update', 'PATCH', '/v2/flavors/{flavor_name}',
              'Update a flavor.',
              base.ROLE_ADMIN),
]


def list_rules() -> list:
    return rules
