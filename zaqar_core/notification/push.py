"""Push: subscriptions whose subscriber is a connection of a server
process (a WebSocket), delivered through the outbox.

A connection subscribes with ``subscription_create`` and no subscriber.
The subscription is stored as any other, so REST lists and deletes it;
its subscriber is the connection's URI, ``ws://<node>/<connection>``,
where the node is the serving process; it is confirmed (the connection is
its own subscriber), and it lives ``[notification] push_lease`` seconds,
renewed by its process while the connection is open, up to the TTL the
client asked for.

Delivery: the outbox (:mod:`.outbox`) writes the notifications of such a
subscriber into its node's queue (:func:`queue_of`) instead of the shared
one, and wakes the node through the data store's signals; the node's
hub (:mod:`.hub`) claims them with a delivery worker and hands each to
its connection. So a message posted through any process, over either
transport, reaches the socket; at least once while the connection stays
open (the post and its fan-out job are one storage operation).

Cleanup: a closed connection's subscriptions are deleted at once; those of
a crashed process stop being renewed and lapse within ``push_lease``
seconds; its queue's jobs expire after :data:`JOB_TTL`.
"""

from __future__ import annotations

import urllib.parse

SCHEME = 'ws'
#: Seconds a push waits in its node's queue: a connection that did not
#: get it by then is gone.
JOB_TTL = 600

def subscriber_of(node: str, connection_id: str) -> str:
    return f'{SCHEME}://{node}/{connection_id}'


def parse(subscriber: str) -> tuple[str, str] | None:
    """``(node, connection id)`` of a connection subscriber; None for any
    other subscriber."""
    if not subscriber.startswith(SCHEME + '://'):
        return None
    parts = urllib.parse.urlsplit(subscriber)
    node, connection = parts.netloc, parts.path.lstrip('/')
    if not (_is_hex_id(node) and _is_hex_id(connection)):
        return None
    return node, connection


def _is_hex_id(text: str) -> bool:
    return len(text) == 32 and all(c in '0123456789abcdef' for c in text)


def queue_of(node: str) -> str:
    """The outbox queue holding the pushes for ``node``'s connections."""
    return f'push.{node}'


def channel_of(node: str) -> str:
    """The signal channel that wakes ``node``."""
    return f'push.{node}'
