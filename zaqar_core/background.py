"""The background work of every process that serves the API, whatever
its transport: garbage collection of expired data, delivery of the
notifications in the outbox, and hearing of arrivals for the requests
that wait for messages."""

from __future__ import annotations

import random
import threading

from oslo_log import log

from zaqar_core import repeated_failures
from zaqar_core.api.service import Api
from zaqar_core.notification import delivery

LOG = log.getLogger(__name__)


class Services:
    """The background threads of one serving process.

    Args:
        api: the process's API (its stores, notifiers and outbox).
    """

    def __init__(self, api: Api) -> None:
        self.api = api
        self._stop = threading.Event()
        self.delivery = delivery.Worker(api.conf, api.stores, api.notifiers,
                                        api.outbox.wakeup)

    def start(self) -> Services:
        """Start them (in the process that serves: threads do not survive
        a fork)."""
        if self.api.conf.storage.gc_interval:
            threading.Thread(target=self._collect, name='zaqar-gc',
                             daemon=True).start()
        self.delivery.start()
        if self.api.conf.transport.max_message_wait:
            self.api.arrivals.start()
        # At interpreter exit, threading joins the delivery threads
        # (concurrent.futures registers that join the same way): stop them
        # first, or a stop waits out their retry backoff. Such hooks run
        # last registered first, so this one runs before the join.
        threading._register_atexit(self.stop)
        return self

    def stop(self) -> None:
        """Stop them; deliveries left are made after a restart."""
        self._stop.set()
        self.delivery.stop()
        self.api.arrivals.stop()

    def _collect(self) -> None:
        interval = self.api.conf.storage.gc_interval
        failures = repeated_failures.RepeatedFailures(
            LOG, 'Garbage collection')
        # Jitter spreads the processes' collections apart.
        while not self._stop.wait(interval * random.uniform(0.5, 1.5)):
            try:
                self.api.stores.data.gc()
            except Exception as exc:
                failures.failed(exc)
            else:
                failures.succeeded()
