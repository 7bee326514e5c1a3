"""Entry classes of the Redis plugin (``redis`` in both namespaces)."""

from __future__ import annotations

from typing import Any

import redis
import redis.cluster
from oslo_config import cfg
from oslo_log import log

from zaqar_core.storage import base
from zaqar_core.storage import errors
from zaqar_plugins.storage.redis import claims
from zaqar_plugins.storage.redis import connection
from zaqar_plugins.storage.redis import keys
from zaqar_plugins.storage.redis import messages
from zaqar_plugins.storage.redis import pools
from zaqar_plugins.storage.redis import queues
from zaqar_plugins.storage.redis import records
from zaqar_plugins.storage.redis import scripts
from zaqar_plugins.storage.redis import signals
from zaqar_plugins.storage.redis import subscriptions

LOG = log.getLogger(__name__)

#: Keys of upstream Zaqar's Redis message store (the indexes of its
#: message and subscription sets), which may share a server with ours.
UPSTREAM_KEYS = ('msgset_index', 'subset_index')
UPSTREAM_NOTICE = (
    'also holds upstream Zaqar\'s message store (its msgset_index or '
    'subset_index keys), which this server does not read. Import it with '
    '"zaqar-manage import-upstream --from-config-file <upstream\'s '
    'zaqar.conf>" if that is not done; once it is, and no rollback needs '
    'it, upstream\'s keys can go.')

# Expired messages (and claims, and subscriptions) removed per script
# call: keeps each call short, since Redis runs one script at a time.
GC_BATCH = 1000


class _RedisDriver(base.DriverBase):
    # As upstream's Redis driver: in memory, durable as Redis is configured.
    capabilities = ('FIFO', 'CLAIMS', 'AOD', 'HIGH_THROUGHPUT')

    #: Keys whose presence means upstream's store shares the server.
    upstream_keys: tuple[str, ...] = ()

    def __init__(self, conf: cfg.ConfigOpts, options: Any) -> None:
        super().__init__(conf, options)
        #: The server this driver's client talks to, for good.
        self.uri = options.uri
        self.client = connection.client_for(
            self.uri, options.max_reconnect_attempts,
            options.reconnect_sleep)
        # Checks get a client of their own: the shared one retries a
        # refused connection for up to max_reconnect_attempts *
        # reconnect_sleep seconds (10 s by default), and waits out the
        # URI's socket timeout.
        self._check_clients: dict[float, connection.Client] = {}

    @classmethod
    def serves(cls, uri: str) -> bool:
        return connection.serves(uri)

    def is_alive(self) -> bool:
        try:
            with scripts.translated():
                return bool(self.client.ping())
        except errors.Unavailable:
            return False

    def check(self, timeout: float) -> base.StoreState:
        try:
            with scripts.translated():
                client = self._check_clients.get(timeout)
                if client is None:
                    # A cluster client connects here, to discover nodes.
                    made = connection.make_client(
                        self.options.uri, max_reconnect_attempts=0,
                        socket_timeout=timeout)
                    # Requests check concurrently: one client is kept.
                    client = self._check_clients.setdefault(timeout, made)
                    if client is not made:
                        made.close()
                upstream = self._ping(client)
        except errors.Unavailable as exc:
            return base.StoreState(f'does not answer: {exc}')
        if upstream:
            return base.StoreState(notice=UPSTREAM_NOTICE)
        return base.StoreState()

    def _ping(self, client: connection.Client) -> int:
        """PING, and count the keys of :attr:`upstream_keys` present, in
        one round trip (``/v2/ping`` checks the stores at every call).
        Upstream runs on no Redis Cluster: there, only PING."""
        if not self.upstream_keys or \
                isinstance(client, redis.cluster.RedisCluster):
            client.ping()
            return 0
        _, found = client.pipeline(transaction=False).ping().exists(
            *self.upstream_keys).execute()
        return found

    def close(self) -> None:
        self.client.close()
        for client in self._check_clients.values():
            client.close()
        self._check_clients.clear()


class ControlDriver(_RedisDriver, base.ControlDriverBase):

    def __init__(self, conf: cfg.ConfigOpts, options: Any) -> None:
        super().__init__(conf, options)
        self._queues = queues.QueueController(self.client)
        self._pools = pools.PoolController(self.client)
        self._flavors = pools.FlavorController(self.client)
        self._catalogue = pools.CatalogueController(self.client)

    @property
    def queue_controller(self) -> queues.QueueController:
        return self._queues

    @property
    def pool_controller(self) -> pools.PoolController:
        return self._pools

    @property
    def flavor_controller(self) -> pools.FlavorController:
        return self._flavors

    @property
    def catalogue_controller(self) -> pools.CatalogueController:
        return self._catalogue


class DataDriver(_RedisDriver, base.DataDriverBase):

    upstream_keys = UPSTREAM_KEYS

    def __init__(self, conf: cfg.ConfigOpts, options: Any) -> None:
        super().__init__(conf, options)
        # One key cache for both: they show the same ids.
        id_keys = messages.key_cache(self.client)
        self._messages = messages.MessageController(self.client, id_keys)
        self._claims = claims.ClaimController(self.client, id_keys)
        self._subscriptions = subscriptions.SubscriptionController(
            self.client)
        self._scripts = scripts.Scripts(self.client)
        self._signals = signals.SignalController(self.client, options.uri)

    def checks_metadata_of(self, control: base.ControlDriverBase) -> bool:
        # The post script reads the project's metadata hash: same hash
        # tag, so same node on a cluster too.
        return isinstance(control, ControlDriver) and \
            control.uri == self.uri

    @property
    def message_controller(self) -> messages.MessageController:
        return self._messages

    @property
    def claim_controller(self) -> claims.ClaimController:
        return self._claims

    @property
    def subscription_controller(self) -> subscriptions.SubscriptionController:
        return self._subscriptions

    @property
    def signal_controller(self) -> signals.SignalController:
        return self._signals

    def _prefixes_with_data(self) -> tuple[set[str], set[str]]:
        """Prefixes of the queues holding messages or claims, and of the
        sources holding subscriptions."""
        # SCAN walks the key space (on every master of a cluster) off the
        # request path; it sees a few keys per queue, not per message.
        queues, sources = set(), set()
        with scripts.translated():
            for pattern in keys.GC_PATTERNS:
                for key in self.client.scan_iter(match=pattern, count=1000):
                    prefix = keys.queue_prefix_of(key)
                    if prefix is not None:
                        queues.add(prefix)
                    prefix = keys.source_prefix_of(key)
                    if prefix is not None:
                        sources.add(prefix)
        return queues, sources

    def _collect(self, script: str, script_keys: list[str]) -> int:
        """Run a GC script over one queue or source until it finds less
        than a batch; how many it removed."""
        removed = 0
        while True:
            count = self._scripts.run(script, script_keys,
                                      [repr(records.now()), GC_BATCH])
            removed += count
            if count < GC_BATCH:
                return removed

    def gc(self) -> int:
        queues, sources = self._prefixes_with_data()
        for prefix in queues:
            project, queue = keys.names_of_queue_prefix(prefix)
            if queue == messages.FAN_OUT_QUEUE:
                # Not counted: nothing is removed, only moved.
                self._messages.move_stranded_fan_outs(project)
        removed = sum(self._collect('gc', keys.queue_keys(prefix))
                      for prefix in queues)
        removed += sum(
            self._collect('subscription_gc', keys.subscription_keys(prefix))
            for prefix in sources)
        if removed:
            LOG.debug('Garbage collection removed %d messages, claims and '
                      'subscriptions', removed)
        return removed
