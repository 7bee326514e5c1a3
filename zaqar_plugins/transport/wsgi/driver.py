"""The ``wsgi`` transport: the Pecan app, served by uWSGI (see
:mod:`.server`) in pre-forked processes, each with its own storage
connections, threads, garbage collector and notification delivery
worker."""

import random
import threading
from typing import Any

from oslo_log import log

from zaqar_core.api.service import Api
from zaqar_core.notification import delivery
from zaqar_core.transport import base
from zaqar_plugins.transport.wsgi import app as wsgi_app
from zaqar_plugins.transport.wsgi import server

LOG = log.getLogger(__name__)


class Driver(base.DriverBase):
    """The ``wsgi`` transport."""

    def app(self) -> Any:
        """The WSGI app over a new API, with its GC and delivery threads.

        Call it in the process that serves (after any fork): it opens
        storage connections and starts threads.
        """
        api = self.api_factory()
        self._start_gc(api)
        delivery.Worker(self.conf, api.stores, api.notifiers,
                        api.outbox.wakeup).start()
        return wsgi_app.setup_app(self.conf, api)

    def _start_gc(self, api: Api) -> None:
        interval = self.conf.storage.gc_interval
        if not interval:
            return

        def collect() -> None:
            # Jitter spreads the workers' collections apart.
            while not stop.wait(interval * random.uniform(0.5, 1.5)):
                try:
                    api.stores.data.gc()
                except Exception:
                    LOG.exception('Garbage collection failed')

        stop = threading.Event()
        threading.Thread(target=collect, name='zaqar-gc',
                         daemon=True).start()

    def listen(self) -> None:
        opts = self.conf[server.GROUP]
        LOG.info('Serving the Zaqar v2 API on http://%s with %d workers of '
                 '%d threads', server.address(opts.bind, opts.port),
                 server.workers(self.conf), opts.threads)
        server.serve(self.conf, self.app)
