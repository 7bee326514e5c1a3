"""Signals over Redis pub/sub (see :class:`base.SignalControllerBase`).

A signal is a PUBLISH to ``z:signal:<db>:<channel>``; each listener
SUBSCRIBEs on a connection of its own. On Redis Cluster the cluster bus
carries a PUBLISH to the subscribers of every node. Pub/sub channels
ignore database numbers, so the name carries the store's: deployments
sharing a server through different databases stay apart.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable

from zaqar_core.storage import base
from zaqar_core.storage import listening
from zaqar_plugins.storage.redis import connection
from zaqar_plugins.storage.redis import scripts

PREFIX = 'z:signal:'


class _Session:
    """A client of its own with one pub/sub connection, subscribed."""

    def __init__(self, uri: str, names: dict[str, str]) -> None:
        # No retries inside redis-py: the listener thread reconnects
        # itself, and the shared client's retries (up to
        # max_reconnect_attempts * reconnect_sleep) would hold up close().
        self._client = connection.make_client(uri, max_reconnect_attempts=0)
        self._names = names
        try:
            spec = connection.parse_uri(uri)
            self._pubsub = self._client.pubsub()
            self._pubsub.subscribe(*names)
            self._confirm(spec.socket_timeout)
        except BaseException:
            self._client.close()
            raise

    def _confirm(self, timeout: float) -> None:
        """Read the subscriptions' confirmations: a signal published
        before the server handled SUBSCRIBE would be lost."""
        pending = set(self._names)
        while pending:
            message = self._pubsub.get_message(timeout=timeout)
            if message is None:
                raise TimeoutError(f'no confirmation of SUBSCRIBE within '
                                   f'{timeout} s')
            if message['type'] == 'subscribe':
                pending.discard(message['channel'])

    def wait(self, timeout: float) -> list[str]:
        found = []
        message = self._pubsub.get_message(timeout=timeout)
        while message is not None:
            if message['type'] == 'message':
                found.append(self._names[message['channel']])
            message = self._pubsub.get_message(timeout=0)
        return found

    def close(self) -> None:
        try:
            self._pubsub.close()
        finally:
            self._client.close()


class SignalController(base.SignalControllerBase):
    """Signals of the data store at ``uri``, published through
    ``client``."""

    latency = 0.0

    def __init__(self, client: connection.Client, uri: str) -> None:
        self._client = client
        self._uri = uri
        self._prefix = f'{PREFIX}{connection.parse_uri(uri).db}:'

    def notify(self, channel: str) -> None:
        name = self._prefix + base.check_channel(channel)
        with scripts.translated():
            self._client.publish(name, '')

    def listen(self, channels: Iterable[str],
               callback: Callable[[str], None]) -> base.Listening:
        return listening.start(channels, callback, self._session, 'redis')

    def _session(self, channels: frozenset[str]) -> _Session:
        return _Session(self._uri, {self._prefix + c: c for c in channels})
