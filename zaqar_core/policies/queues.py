"""Queues: policy rules (upstream names and defaults)."""

from zaqar_core.policies import base

_QUEUE = '/v2/queues/{queue_name}'

rules = [
    base.rule('queues:get_all', 'GET', '/v2/queues',
              'List queues.'),
    base.rule('queues:create', 'PUT', _QUEUE,
              'Create a queue.'),
    base.rule('queues:get', 'GET', _QUEUE,
              "Show a queue's metadata."),
    base.rule('queues:delete', 'DELETE', _QUEUE,
              'Delete a queue.'),
    base.rule('queues:update', 'PATCH', _QUEUE,
              "Update a queue's metadata."),
    base.rule('queues:stats', 'GET', _QUEUE + '/stats',
              'Show queue statistics.'),
    base.rule('queues:share', 'POST', _QUEUE + '/share',
              'Create a pre-signed URL for a queue.'),
    base.rule('queues:purge', 'POST', _QUEUE + '/purge',
              "Purge a queue's messages or subscriptions."),
]


def list_rules() -> list:
    return rules
