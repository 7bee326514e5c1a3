"""Documents the outbox hands to notifiers, for the notifier tests."""

from __future__ import annotations

from typing import Any

#: A posted message as the outbox hands it to ``notify``.
MESSAGE = {'body': {'event': 'BackupStarted', 'size': 3},
           'ttl': 3600, 'queue_name': 'orders',
           'Message_Type': 'Notification'}


def confirmation(kind: str = 'SubscriptionConfirmation',
                 **extra: Any) -> dict[str, Any]:
    """A confirmation document as ``confirm`` receives it."""
    return {'Message_Type': kind,
            'Message': 'You have chosen to subscribe to the queue: orders',
            'URL-Signature': 'c2lnbmF0dXJl0a1b2c3d',
            'URL-Methods': 'PUT',
            'URL-Paths': '/v2/queues/orders/subscriptions/5a1c/confirm',
            'URL-Expires': '2030-01-01T00:00:00',
            'X-Project-ID': 'proj-7',
            'SubscribeBody': {'confirmed': True},
            'UnsubscribeBody': {'confirmed': False},
            'queue_name': 'orders', **extra}
