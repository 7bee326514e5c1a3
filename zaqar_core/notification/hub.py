"""The hub of a serving process: its connections that can subscribe, the
delivery of their pushes, and the renewal of their subscriptions (see
:mod:`.push` for the design)."""

from __future__ import annotations

import collections.abc
import dataclasses
import math
import threading
import time
import uuid
from typing import Any

from oslo_config import cfg
from oslo_log import log

from zaqar_core.notification import delivery
from zaqar_core.notification import push
from zaqar_core.notification.base import NotifierBase
from zaqar_core.notification.base import Target
from zaqar_core.repeated_failures import RepeatedFailures
from zaqar_core.storage import errors as storage_errors
from zaqar_core.storage.stores import Stores

LOG = log.getLogger(__name__)

#: Called with each notification for a connection, from a delivery thread:
#: it must not block (queue the frame for sending).
Sink = collections.abc.Callable[[dict[str, Any]], None]


@dataclasses.dataclass
class _Subscription:
    project: str
    source: str
    until: float  # monotonic time the client's TTL ends


class Connection:
    """A connection of this process that can subscribe.

    Args:
        hub: this process's hub.
        sink: takes each notification for the connection.
    """

    def __init__(self, hub: Hub, sink: Sink) -> None:
        self.hub = hub
        self.sink = sink
        self.id = uuid.uuid4().hex
        self.subscriber = push.subscriber_of(hub.node, self.id)
        self._subscriptions: dict[str, _Subscription] = {}

    def subscribe(self, stores: Stores, project: str, source: str,
                  ttl: int, options: dict[str, Any]) -> str:
        """Subscribe this connection to ``source`` for ``ttl`` seconds.

        Raises:
            SubscriptionAlreadyExists: it is subscribed already.
        """
        lease = self.hub.lease
        subscription_id = stores.subscriptions.create(
            project, source, self.subscriber, min(ttl, lease), options)
        # Confirmed: the connection asked for it itself.
        stores.subscriptions.confirm(project, source, subscription_id, True)
        with self.hub.lock:
            self._subscriptions[subscription_id] = _Subscription(
                project, source, time.monotonic() + ttl)
        return subscription_id

    def holds(self, subscription_id: str) -> bool:
        return subscription_id in self._subscriptions

    def subscriptions(self) -> dict[str, _Subscription]:
        with self.hub.lock:
            return dict(self._subscriptions)

    def forget(self, subscription_id: str) -> None:
        with self.hub.lock:
            self._subscriptions.pop(subscription_id, None)


class Hub:
    """The connections of one serving process and the delivery of their
    pushes.

    Args:
        conf: the registered configuration.
        stores: this process's stores.
    """

    def __init__(self, conf: cfg.ConfigOpts, stores: Stores) -> None:
        self.conf = conf
        self.stores = stores
        self.node = uuid.uuid4().hex
        self.lease = conf.notification.push_lease
        self.lock = threading.Lock()
        self._connections: dict[str, Connection] = {}
        self._wakeup = threading.Event()
        self._stop = threading.Event()
        self._worker = delivery.Worker(
            conf, stores, {push.SCHEME: _HubNotifier(conf, self)},
            self._wakeup, queue=push.queue_of(self.node))
        self._listening: Any = None

    def attach(self, sink: Sink) -> Connection:
        connection = Connection(self, sink)
        with self.lock:
            self._connections[connection.id] = connection
        return connection

    def detach(self, connection: Connection) -> None:
        """Forget ``connection`` and delete its subscriptions (storage
        calls: run it off the event loop)."""
        with self.lock:
            self._connections.pop(connection.id, None)
        for subscription_id, held in connection.subscriptions().items():
            try:
                self.stores.subscriptions.delete(held.project, held.source,
                                                 subscription_id)
            except storage_errors.StorageError as exc:
                LOG.warning('Subscription %s of a closed connection not '
                            'deleted (it lapses within %d s): %s',
                            subscription_id, self.lease, exc)

    def connection(self, connection_id: str) -> Connection | None:
        with self.lock:
            return self._connections.get(connection_id)

    def start(self) -> Hub:
        self._listening = self.stores.signals.listen(
            [push.channel_of(self.node)], lambda channel: self._wakeup.set())
        self._worker.start()
        threading.Thread(target=self._renew, name='zaqar-push-renew',
                         daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._worker.stop()
        if self._listening is not None:
            self._listening.close()

    def _renew(self) -> None:
        """Keep the subscriptions of open connections alive."""
        # A store outage fails every renewal: say so once, with a count.
        failures = RepeatedFailures(LOG, 'Push subscription renewal')
        while not self._stop.wait(self.lease / 3):
            with self.lock:
                connections = list(self._connections.values())
            failed = False
            for connection in connections:
                for subscription_id, held in \
                        connection.subscriptions().items():
                    failed |= not self._renew_one(
                        connection, subscription_id, held, failures)
            if not failed:
                failures.succeeded()

    def _renew_one(self, connection: Connection, subscription_id: str,
                   held: _Subscription, failures: RepeatedFailures) -> bool:
        """Renew one subscription; False if storage failed."""
        left = held.until - time.monotonic()
        if left <= 0:
            # The TTL the client asked for is over: let it lapse.
            connection.forget(subscription_id)
            return True
        try:
            self.stores.subscriptions.update(
                held.project, held.source, subscription_id,
                ttl=min(self.lease, math.ceil(left)))
        except storage_errors.SubscriptionDoesNotExist:
            connection.forget(subscription_id)  # deleted, over REST say
        except storage_errors.StorageError as exc:
            failures.failed(exc)
            return False
        return True


class _HubNotifier(NotifierBase):
    """Hands pushes to the hub's connections."""

    def __init__(self, conf: cfg.ConfigOpts, hub: Hub) -> None:
        super().__init__(conf)
        self.hub = hub

    def notify(self, target: Target, message: dict[str, Any]) -> None:
        found = push.parse(target['subscriber'])
        if found is None or found[0] != self.hub.node:
            return
        connection = self.hub.connection(found[1])
        # Only to the connection that made the subscription: no other
        # subscription can push to a socket.
        if connection is not None and connection.holds(target['id']):
            connection.sink(message)

    def confirm(self, target: Target, document: dict[str, Any]) -> None:
        # Connections subscribe confirmed; nothing to confirm.
        return None
