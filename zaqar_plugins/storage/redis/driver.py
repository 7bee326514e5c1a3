"""Entry classes of the Redis plugin (``redis`` in both namespaces)."""

from __future__ import annotations

from oslo_config import cfg
from oslo_log import log

from zaqar_core.conf import redis_stores
from zaqar_core.storage import base
from zaqar_core.storage import errors
from zaqar_plugins.storage.redis import claims
from zaqar_plugins.storage.redis import connection
from zaqar_plugins.storage.redis import keys
from zaqar_plugins.storage.redis import messages
from zaqar_plugins.storage.redis import queues
from zaqar_plugins.storage.redis import records
from zaqar_plugins.storage.redis import scripts

LOG = log.getLogger(__name__)

# Expired messages (and claims) removed per script call: keeps each call
# short, since Redis runs one script at a time.
GC_BATCH = 1000


class _RedisDriver(base.DriverBase):
    GROUP: str

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        super().__init__(conf)
        opts = conf[self.GROUP]
        self.client = connection.client_for(
            opts.uri, opts.max_reconnect_attempts, opts.reconnect_sleep)

    def is_alive(self) -> bool:
        try:
            with scripts.translated():
                return bool(self.client.ping())
        except errors.Unavailable:
            return False

    def close(self) -> None:
        self.client.close()


class ControlDriver(_RedisDriver, base.ControlDriverBase):
    GROUP = redis_stores.MANAGEMENT_GROUP

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        super().__init__(conf)
        self._queues = queues.QueueController(self.client)

    @property
    def queue_controller(self) -> queues.QueueController:
        return self._queues


class DataDriver(_RedisDriver, base.DataDriverBase):
    GROUP = redis_stores.MESSAGE_GROUP

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        super().__init__(conf)
        self._messages = messages.MessageController(self.client)
        self._claims = claims.ClaimController(self.client)
        self._scripts = scripts.Scripts(self.client)

    @property
    def message_controller(self) -> messages.MessageController:
        return self._messages

    @property
    def claim_controller(self) -> claims.ClaimController:
        return self._claims

    def _queues_with_data(self) -> set[str]:
        # SCAN walks the key space (on every master of a cluster) off the
        # request path; it sees a few keys per queue, not per message.
        found = set()
        with scripts.translated():
            for pattern in keys.GC_PATTERNS:
                for key in self.client.scan_iter(match=pattern, count=1000):
                    prefix = keys.queue_prefix_of(key)
                    if prefix is not None:
                        found.add(prefix)
        return found

    def gc(self) -> int:
        removed = 0
        for prefix in self._queues_with_data():
            while True:
                count = self._scripts.run(
                    'gc', keys.queue_keys(prefix),
                    [repr(records.now()), GC_BATCH])
                removed += count
                if count < GC_BATCH:
                    break
        if removed:
            LOG.debug('Garbage collection removed %d messages and claims',
                      removed)
        return removed
