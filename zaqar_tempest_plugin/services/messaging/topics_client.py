"""Topics: the queue operations on ``/v2/topics``, plus posting and
subscribing (through the topic's own paths)."""

from __future__ import annotations

from typing import Any

from zaqar_tempest_plugin.api_schema import messages as message_schemas
from zaqar_tempest_plugin.api_schema import subscriptions as sub_schemas
from zaqar_tempest_plugin.api_schema import topics as schemas
from zaqar_tempest_plugin.services.messaging import base
from zaqar_tempest_plugin.services.messaging import queues_client


class TopicsClient(queues_client.QueuesClient):
    """``/v2/topics`` and ``/v2/topics/{name}/...``."""

    collection = 'topics'
    schemas = {
        'list': schemas.list_topics,
        'list_detailed': schemas.list_topics,
        'create': schemas.create_topic,
        'show': schemas.get_topic,
        'update': schemas.update_topic,
        'stats': schemas.topic_stats,
        'purge': schemas.purge_topic,
        'delete': schemas.delete_topic,
    }

    def post_messages(self, name: str,
                      messages: list[dict[str, Any]]) -> base.Body:
        return self.call('POST', self.path(name, 'messages'),
                         message_schemas.post_messages,
                         body={'messages': messages})

    def list_messages(self, name: str, **params: Any) -> base.Body:
        return self.call('GET', self.path(name, 'messages') +
                         base.query(params), message_schemas.list_messages)

    def create_subscription(self, name: str, subscriber: str,
                            ttl: int = 3600,
                            options: dict[str, Any] | None = None
                            ) -> base.Body:
        return self.call('POST', self.path(name, 'subscriptions'),
                         sub_schemas.create_subscription,
                         body={'subscriber': subscriber, 'ttl': ttl,
                               'options': options or {}})

    def list_subscriptions(self, name: str, **params: Any) -> base.Body:
        return self.call('GET', self.path(name, 'subscriptions') +
                         base.query(params), sub_schemas.list_subscriptions)
