"""The Zaqar app (or the bare Pecan app) under a chosen HTTP server, with
``zaqar-server``'s options, for the server comparison of
``compare.py`` (targets such as ``redis@uwsgi``)::

    python tools/perf/servers.py --server uwsgi --app zaqar \\
        --config-file zaqar.conf

Servers, each with ``[drivers:transport:wsgi]`` ``workers`` processes of
``threads`` threads, the app built in each worker after the fork:

* ``granian``: what ``zaqar-server`` runs (:mod:`zaqar_plugins.transport.
  wsgi.server`);
* ``uwsgi``: uWSGI's ``http-socket``, one request per connection (what
  ``zaqar-server`` ran before granian);
* ``uwsgi-http11``: uWSGI's ``http11-socket``, with keep-alive;
* ``gunicorn``: gunicorn's ``gthread`` worker, with keep-alive (install
  gunicorn first: it is not a dependency of the project).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from zaqar_core import bootstrap
from zaqar_core.cmd import common
from zaqar_plugins.transport.wsgi import server

AppFactory = Callable[[], Any]

#: Set before the server forks; uWSGI's workers read it (see the end of
#: this file).
_FACTORY: AppFactory | None = None


def zaqar_factory(conf) -> AppFactory:
    bootstrap.resolve_embedded_defaults(conf)
    bootstrap.upgrade_embedded_stores(conf)
    return bootstrap.load_transport(conf, 'wsgi').app


def bare_factory(conf) -> AppFactory:
    sys.path.insert(0, str(Path(__file__).parent))
    import bare_pecan
    return bare_pecan.make_app


def serve_uwsgi(conf, factory: AppFactory, keep_alive: bool) -> None:
    import pyuwsgi
    opts = conf[server.GROUP]
    socket = '--http11-socket' if keep_alive else '--http-socket'
    args = ['--strict', '--master', socket,
            server.address(opts.bind, opts.port),
            '--processes', str(server.workers(conf)),
            '--threads', str(opts.threads), '--enable-threads',
            '--thunder-lock', '--buffer-size', '65535',
            '--lazy-apps', '--wsgi-file', __file__, '--need-app',
            '--single-interpreter', '--py-call-osafterfork',
            '--die-on-term', '--disable-logging', '--ignore-sigpipe',
            '--ignore-write-errors', '--disable-write-exception']
    if not keep_alive:
        args += ['--add-header', 'Connection: close']
    pyuwsgi.run(*args)


def serve_gunicorn(conf, factory: AppFactory) -> None:
    from gunicorn.app.base import BaseApplication
    opts = conf[server.GROUP]

    class App(BaseApplication):
        def load_config(self) -> None:
            for key, value in {
                    'bind': server.address(opts.bind, opts.port),
                    'workers': server.workers(conf),
                    'threads': opts.threads, 'worker_class': 'gthread',
                    'keepalive': opts.client_timeout,
                    'loglevel': 'warning'}.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return factory()  # in each worker: no --preload

    App().run()


def main(argv: list[str] | None = None) -> None:
    global _FACTORY
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--server', required=True,
                        choices=['granian', 'uwsgi', 'uwsgi-http11',
                                 'gunicorn'])
    parser.add_argument('--app', choices=['zaqar', 'bare'], default='zaqar')
    args, rest = parser.parse_known_args(argv)
    conf = common.parse_config(rest)
    _FACTORY = (zaqar_factory if args.app == 'zaqar' else bare_factory)(
        conf)
    if args.server == 'granian':
        server.serve(conf, _FACTORY)
    elif args.server.startswith('uwsgi'):
        serve_uwsgi(conf, _FACTORY, args.server == 'uwsgi-http11')
    else:
        serve_gunicorn(conf, _FACTORY)


if __name__ == '__main__':
    main()
else:
    # Loaded by uWSGI (--wsgi-file) in a worker forked from this script's
    # process, whose __main__ holds the factory.
    _main = sys.modules['__main__']
    if getattr(_main, '_FACTORY', None) is not None:
        application = _main._FACTORY()
