"""Serves a WSGI app with uWSGI, run inside this process (``pyuwsgi``).

The calling process becomes the uWSGI master. It forks ``workers``
processes of ``threads`` threads each; uWSGI imports :data:`WORKER_MODULE`
in every worker, after the fork, and that module builds the app with the
factory handed to :func:`serve` (inherited through the fork). Storage
connections are thus opened in the process that uses them.

Why uWSGI: with 2 processes of 4 threads it served a bare Pecan app at
4,250 requests/s against 3,560 for gunicorn's gthread worker (360 against
510 us of CPU a request: its HTTP parser and loop are C), GET /v2/ping at
2,900 against 2,490, and message posts on SQLite about alike. gevent
was as fast, but with a p99 latency up to 1.2 s (one worker takes most
connections), and it stalls a whole worker on every SQL call (the drivers
do not yield). uWSGI is also what OpenStack deployments (devstack) run
Zaqar under.

What it does not do: keep connections alive (each response says
``Connection: close``), and answer malformed HTTP (a bad request line or
header line, a request head over ``BUFFER_SIZE``) at all: it closes the
connection where gunicorn sent a 400.
"""

import os
import sys
from collections.abc import Callable
from typing import Any
from typing import NoReturn

import pyuwsgi
from oslo_config import cfg

from zaqar_core.conf import drivers_transport_wsgi

GROUP = drivers_transport_wsgi.GROUP

#: Imported by uWSGI in each worker, never in the master (importing it
#: builds the app).
WORKER_MODULE = 'zaqar_plugins.transport.wsgi.worker'

#: Largest request head (request line and headers) in bytes.
BUFFER_SIZE = 65535

#: Seconds a stopping worker may take to finish its requests.
GRACEFUL_TIMEOUT = 10

AppFactory = Callable[[], Any]

# Set in the master by serve(); the workers inherit it through the fork.
_factory: AppFactory | None = None


def serve(conf: cfg.ConfigOpts, factory: AppFactory) -> NoReturn:
    """Serve ``factory()`` as configured in ``[drivers:transport:wsgi]``.

    Never returns: uWSGI exits the process when it stops (SIGTERM or
    SIGINT, gracefully), when it cannot bind, or when a worker cannot
    build the app. SIGHUP restarts it gracefully.
    """
    global _factory
    _factory = factory
    pyuwsgi.run(*uwsgi_args(conf))
    raise SystemExit(0)  # not reached: uWSGI exits the process itself


def build_app() -> Any:
    """The app for this worker (called by :data:`WORKER_MODULE`)."""
    if _factory is None:
        raise RuntimeError(
            f'{WORKER_MODULE} is loaded by zaqar-server only; point '
            f'uwsgi or gunicorn at zaqar_core.wsgi:application instead.')
    return _factory()


def uwsgi_args(conf: cfg.ConfigOpts) -> list[str]:
    """uWSGI's command line for the configured server."""
    opts = conf[GROUP]
    args = [
        '--strict',  # a misspelt option is an error, not ignored
        '--master',
        # SIGHUP restarts gracefully by running this program again (with
        # its config re-read), in this interpreter, not the base one.
        '--binary-path', sys.executable,
        '--http-socket', address(opts.bind, opts.port),
        '--processes', str(workers(conf)),
        '--threads', str(opts.threads),
        # The GC thread must run while the worker waits for requests.
        '--enable-threads',
        # One worker wakes up per connection, not all of them.
        '--thunder-lock',
        '--buffer-size', str(BUFFER_SIZE),
        # The http-socket answers one request per connection: saying so
        # keeps clients from sending the next one on a closed connection.
        '--add-header', 'Connection: close',
        # Each worker imports the app after the fork, and one that cannot
        # build it stops the server.
        '--lazy-apps', '--module', f'{WORKER_MODULE}:application',
        '--need-app', '--single-interpreter',
        # Python's own after-fork handling in each worker (reseeds random,
        # resets threading state).
        '--py-call-osafterfork',
        # SIGTERM or SIGINT stops gracefully, whether it reaches the
        # master only (which passes SIGINT on to the workers) or every
        # process (systemd, a kill of the process group): workers finish
        # their requests, and the master kills those that take longer than
        # GRACEFUL_TIMEOUT. (uWSGI's gracefully_kill_them_all can wait for
        # them forever.)
        '--die-on-term',
        '--hook-accepting', 'unix_signal:2 gracefully_kill',
        '--hook-accepting', 'unix_signal:15 gracefully_kill',
        # A worker still building its app has no handlers of its own yet:
        # uWSGI would lose a stop signal there. It just ends instead.
        '--hook-post-fork', 'unix_signal:1 end_me',
        '--hook-post-fork', 'unix_signal:2 end_me',
        '--hook-post-fork', 'unix_signal:15 end_me',
        '--worker-reload-mercy', str(GRACEFUL_TIMEOUT),
        '--reload-mercy', str(GRACEFUL_TIMEOUT),
        # A client that hangs up early is not an error worth a traceback.
        '--ignore-sigpipe', '--ignore-write-errors',
        '--disable-write-exception',
    ]
    if not conf.debug:
        args.append('--disable-logging')  # no access log
    return args


def workers(conf: cfg.ConfigOpts) -> int:
    """Worker processes: as configured, else one per CPU."""
    return conf[GROUP].workers or os.cpu_count() or 1


def address(host: str, port: int) -> str:
    return f'[{host}]:{port}' if ':' in host else f'{host}:{port}'
