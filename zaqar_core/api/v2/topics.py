"""Topic actions: the queue, message and subscription actions, run in the
project's topic scope.

A topic is a queue that lives in a sibling namespace of its project: the
stores see project ``<project>`` + :data:`SCOPE`, which no client can
name (project ids are printable), so topics and queues of one name never
meet, and every storage driver holds topics without a schema of their
own. Topics have no claims.
"""

from zaqar_core.api.v2 import messages  # noqa: F401 (registers actions)
from zaqar_core.api.v2 import queues  # noqa: F401
from zaqar_core.api.v2 import registry
from zaqar_core.api.v2 import subscriptions  # noqa: F401

KIND = 'topics'
SCOPE = '\x1ftopics'

# topic action -> (queue action it runs, policy rule)
_TWINS = {
    'topic_list': ('queue_list', 'topics:get_all'),
    'topic_create': ('queue_create', 'topics:create'),
    'topic_get': ('queue_get', 'topics:get'),
    'topic_update': ('queue_update', 'topics:update'),
    'topic_delete': ('queue_delete', 'topics:delete'),
    'topic_get_stats': ('queue_get_stats', 'topics:stats'),
    'topic_purge': ('queue_purge', 'topics:purge'),
    'topic_message_post': ('message_post', 'messages:create'),
    'topic_message_list': ('message_list', 'messages:get_all'),
    'topic_message_get_many': ('message_get_many', 'messages:get_all'),
    'topic_message_delete_many': ('message_delete_many',
                                  'messages:delete_all'),
    'topic_message_get': ('message_get', 'messages:get'),
    'topic_message_delete': ('message_delete', 'messages:delete'),
    'topic_subscription_list': ('subscription_list',
                                'subscription:get_all'),
    'topic_subscription_create': ('subscription_create',
                                  'subscription:create'),
    'topic_subscription_get': ('subscription_get', 'subscription:get'),
    'topic_subscription_update': ('subscription_update',
                                  'subscription:update'),
    'topic_subscription_delete': ('subscription_delete',
                                  'subscription:delete'),
    'topic_subscription_confirm': ('subscription_confirm',
                                   'subscription:confirm'),
}

for _name, (_of, _rule) in _TWINS.items():
    registry.alias(_name, _of, _rule, KIND)


def scope(project: str) -> str:
    """The project the stores hold ``project``'s topics under."""
    return project + SCOPE
