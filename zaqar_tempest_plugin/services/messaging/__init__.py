"""Clients of the messaging v2 API, registered with tempest as
``messaging_v2`` (``self.os_primary.messaging_v2.QueuesClient()``).

``PoolingClient`` needs a server with ``[DEFAULT] admin_mode`` and
``pooling`` (and the admin role for pools).
"""

from zaqar_tempest_plugin.services.messaging.claims_client import ClaimsClient
from zaqar_tempest_plugin.services.messaging.messages_client import (
    MessagesClient,
)
from zaqar_tempest_plugin.services.messaging.pooling_client import (
    PoolingClient,
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
    'PoolingClient',
    'QueuesClient',
    'SignedUrlClient',
    'SubscriptionsClient',
    'SystemClient',
    'TopicsClient',
]
