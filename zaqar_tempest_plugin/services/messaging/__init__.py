"""Clients of the messaging v2 API, registered with tempest as
``messaging_v2`` (``self.os_primary.messaging_v2.QueuesClient()``).

No pool or flavor clients: this server has no pooling, so it routes
neither ``/v2/pools`` nor ``/v2/flavors``.
"""

from zaqar_tempest_plugin.services.messaging.claims_client import ClaimsClient
from zaqar_tempest_plugin.services.messaging.messages_client import (
    MessagesClient,
)
from zaqar_tempest_plugin.services.messaging.queues_client import QueuesClient
from zaqar_tempest_plugin.services.messaging.signed_url_client import (
    SignedUrlClient,
)
from zaqar_tempest_plugin.services.messaging.subscriptions_client import (
    SubscriptionsClient,
)
from zaqar_tempest_plugin.services.messaging.system_client import SystemClient
from zaqar_tempest_plugin.services.messaging.topics_client import TopicsClient

__all__ = [
    'ClaimsClient',
    'MessagesClient',
    'QueuesClient',
    'SignedUrlClient',
    'SubscriptionsClient',
    'SystemClient',
    'TopicsClient',
]
