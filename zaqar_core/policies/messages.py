"""Messages: policy rules (upstream names and defaults)."""

from zaqar_core.policies import base

_MESSAGES = '/v2/queues/{queue_name}/messages'

rules = [
    base.rule('messages:get_all', 'GET', _MESSAGES,
              'List messages, or get them by id.'),
    base.rule('messages:create', 'POST', _MESSAGES,
              'Post messages.'),
    base.rule('messages:get', 'GET', _MESSAGES + '/{message_id}',
              'Get a message.'),
    base.rule('messages:delete', 'DELETE', _MESSAGES + '/{message_id}',
              'Delete a message.'),
    base.rule('messages:delete_all', 'DELETE', _MESSAGES,
              'Delete messages by id, or pop them.'),
]


def list_rules() -> list:
    return rules
