"""Serves the Pecan app with gunicorn: pre-forked processes, each with its
own storage connections and threads."""

import os
import random
import threading

from gunicorn.app import base as gunicorn_base
from oslo_log import log

from zaqar_core.transport import base
from zaqar_plugins.transport.wsgi import app as wsgi_app
from zaqar_plugins.transport.wsgi import worker

LOG = log.getLogger(__name__)
GROUP = 'drivers:transport:wsgi'


class _Server(gunicorn_base.BaseApplication):
    def __init__(self, options: dict, load) -> None:
        self._options = options
        self._load = load
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            # Settings newer than the installed gunicorn are skipped.
            if key in self.cfg.settings:
                self.cfg.set(key, value)

    def load(self):
        return self._load()


def _bind(host: str, port: int) -> str:
    return f'[{host}]:{port}' if ':' in host else f'{host}:{port}'


class Driver(base.DriverBase):
    """The ``wsgi`` transport."""

    def app(self):
        """Build the API and the WSGI app (in each worker, after fork)."""
        api = self.api_factory()
        self._start_gc(api)
        return wsgi_app.setup_app(self.conf, api)

    def _start_gc(self, api) -> None:
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
        opts = self.conf[GROUP]
        workers = opts.workers or os.cpu_count() or 1
        options = {
            'bind': [_bind(opts.bind, opts.port)],
            'workers': workers,
            'worker_class': f'{worker.__name__}.ThreadWorker',
            'threads': opts.threads,
            'proc_name': 'zaqar-server',
            'accesslog': None,
            'errorlog': '-',
            'loglevel': 'debug' if self.conf.debug else 'info',
            # Storage engines must not cross a fork: build the app in
            # each worker.
            'preload_app': False,
            'graceful_timeout': 10,
            # One control socket per user would clash between servers.
            'control_socket_disable': True,
        }
        LOG.info('Serving the Zaqar v2 API on http://%s with %d workers',
                 _bind(opts.bind, opts.port), workers)
        _Server(options, self.app).run()

