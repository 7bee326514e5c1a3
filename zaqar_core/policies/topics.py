"""Topics: policy rules (upstream names and defaults)."""

from zaqar_core.policies import base

_TOPIC = '/v2/topics/{topic_name}'

rules = [
    base.rule('topics:get_all', 'GET', '/v2/topics',
              'List topics.'),
    base.rule('topics:create', 'PUT', _TOPIC,
              'Create a topic.'),
    base.rule('topics:get', 'GET', _TOPIC,
              'Show a topic.'),
    base.rule('topics:delete', 'DELETE', _TOPIC,
              'Delete a topic.'),
    base.rule('topics:update', 'PATCH', _TOPIC,
              'Update a topic.'),
    base.rule('topics:stats', 'GET', _TOPIC + '/stats',
              'Show topic statistics.'),
    base.rule('topics:purge', 'POST', _TOPIC + '/purge',
              'Purge a topic.'),
]


def list_rules() -> list:
    return rules
