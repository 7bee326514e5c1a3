"""Claims: policy rules (upstream names and defaults)."""

from zaqar_core.policies import base

_CLAIMS = '/v2/queues/{queue_name}/claims'

rules = [
    base.rule('claims:create', 'POST', _CLAIMS,
              'Claim messages.'),
    base.rule('claims:get', 'GET', _CLAIMS + '/{claim_id}',
              'Show a claim.'),
    base.rule('claims:update', 'PATCH', _CLAIMS + '/{claim_id}',
              'Renew a claim.'),
    base.rule('claims:delete', 'DELETE', _CLAIMS + '/{claim_id}',
              'Release a claim.'),
]


def list_rules() -> list:
    return rules
