"""Ping and health: policy rules (upstream names and defaults)."""

from zaqar_core.policies import base

rules = [
    base.rule('ping:get', 'GET', '/v2/ping',
              'Ping the storage.'),
    base.rule('health:get', 'GET', '/v2/health',
              'Show detailed health.',
              base.ROLE_ADMIN),
]


def list_rules() -> list:
    return rules
