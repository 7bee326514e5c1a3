"""Serves a WSGI app with granian, run inside this process.

The calling process becomes the master. It binds the listening socket and
forks ``workers`` processes that serve it while granian's Rust runtime does
the network I/O. Each worker runs the WSGI app through the bridge of
:mod:`.rsgi`: ordinary requests on its event loop's thread (or on
``threads`` threads), requests that may wait for messages on threads of
their own. Each worker builds its app with the factory handed to
:func:`serve` (inherited through the fork), so storage connections are
opened in the process that uses them.

Why granian (measured, see doc/source/admin/performance.rst): it keeps
connections alive without pinning a thread to an idle one (uWSGI's
``http11-socket`` does: with 8 idle clients a new request waited
seconds), it answers malformed HTTP (400, 414, 431) where uWSGI's
``http-socket`` closes the connection, and it served more requests per
second than either uWSGI socket or gunicorn's gthread worker.

Signals to the master:

* SIGTERM or SIGINT: graceful stop. Workers stop accepting and finish the
  requests in progress; one that takes longer than
  :data:`GRACEFUL_TIMEOUT` is killed.
* SIGHUP: graceful reload. New workers start with the configuration files
  read again, then the old ones stop as above; the listening socket stays
  open throughout. (Options of the master itself, such as ``bind``,
  ``port`` and ``workers``, need a restart.)

A worker that dies otherwise is replaced; workers die with the master,
whatever killed it, so that a restart finds the port free.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import threading
from collections.abc import Callable
from typing import Any
from typing import NoReturn

from granian import constants as granian_constants
from granian import http as granian_http
from granian.log import LogLevels
from granian.server import Server
from oslo_config import cfg
from oslo_log import log

from zaqar_core.api.v2 import registry
from zaqar_core.transport import gate
from zaqar_core.transport import startup
from zaqar_plugins.transport import listening
from zaqar_plugins.transport import processes
from zaqar_plugins.transport.wsgi import options as drivers_transport_wsgi
from zaqar_plugins.transport.wsgi import rsgi

LOG = log.getLogger(__name__)

GROUP = drivers_transport_wsgi.GROUP

#: Largest request head (request line and headers) in bytes: a longer
#: URL is answered 414, more header bytes 431.
BUFFER_SIZE = 65536

#: Seconds a stopping worker may take to finish its requests before it is
#: killed. An idle worker stops in a fraction of a second; one whose
#: keep-alive clients keep sending (a SIGHUP reload under load) took over
#: 2 s on a loaded machine, and killing it drops the request in flight.
GRACEFUL_TIMEOUT = 5

#: Seconds between starting a new worker and stopping the old one on
#: SIGHUP: long enough for the new one to build its app.
RELOAD_OVERLAP = 3.0

#: Threads for requests that may wait, beyond ``max_waiting_requests``:
#: a request over that limit is refused (429) on one of them, not queued
#: behind the waiting ones.
WAITING_SPARE = 4

AppFactory = Callable[[], Any]

def serve(conf: cfg.ConfigOpts, factory: AppFactory) -> NoReturn:
    """Serve ``factory()`` as configured in ``[drivers:transport:wsgi]``.

    Never returns: exits the process when the server stops (SIGTERM or
    SIGINT) or cannot bind (status 1).
    """
    opts = conf[GROUP]
    server = Server(
        'zaqar', address=opts.bind, port=opts.port,
        interface=granian_constants.Interfaces.RSGI, loop=event_loop(),
        workers=workers(conf),
        http=granian_constants.HTTPModes.http1, websockets=False,
        http1_settings=granian_http.HTTP1Settings(
            header_read_timeout=opts.client_timeout * 1000,
            keep_alive=True, max_buffer_size=BUFFER_SIZE),
        workers_kill_timeout=GRACEFUL_TIMEOUT,
        respawn_failed_workers=True, respawn_interval=RELOAD_OVERLAP,
        # granian's own lines go through oslo.log, its handlers and
        # format; only warnings unless debugging.
        log_level=LogLevels.debug if conf.debug else LogLevels.warning,
        log_dictconfig={
            'loggers': {
                '_granian': {'handlers': [], 'propagate': True},
                'granian.access': {'handlers': [], 'propagate': True}}},
        # Requests are logged by the app (access_log.py), with their
        # request id, under any WSGI server: granian's line would repeat it.
        log_access=False)
    loader = _WorkerApp(conf, factory)
    where = address(opts.bind, opts.port)
    # Said once the address is bound, before the workers start.
    server.on_startup(lambda: startup.announce(
        conf, f'http://{where}', workers(conf), opts.threads))
    server.on_reload(lambda: LOG.info(
        'Reloading: new workers read the configuration files again'))
    try:
        listening.check_free(opts.bind, opts.port)
        server.serve(target_loader=loader, wrap_loader=False)
    except OSError as exc:
        _cannot_serve(where, exc.strerror or str(exc))
    except RuntimeError as exc:  # granian's bind errors, and a backtrace
        _cannot_serve(where, str(exc).strip().splitlines()[0])
    raise SystemExit(0)


def _cannot_serve(where: str, problem: str) -> NoReturn:
    LOG.error('Cannot serve on %s: %s', where, problem)
    raise SystemExit(1)


class _WorkerApp:
    """Builds the app in a worker, after the fork (granian calls it there:
    ``target_loader``)."""

    def __init__(self, conf: cfg.ConfigOpts, factory: AppFactory) -> None:
        self.conf = conf
        self.factory = factory
        self.master = os.getpid()

    def __call__(self) -> Any:
        processes.die_with_parent(self.master)
        # A worker started by SIGHUP sees the files as they are now; one
        # that cannot read them keeps the configuration it inherited.
        if not self.conf.reload_config_files():
            LOG.error('The configuration files could not be read again; '
                      'this worker keeps the previous configuration.')
        waiting = gate.waiting_threads(self.conf)
        if waiting:
            waiting += WAITING_SPARE
        bridge = rsgi.Bridge(
            self.factory(), self.conf[GROUP].threads, waiting,
            lambda: registry.largest_body(self.conf.transport),
            self.conf[GROUP].client_timeout, started=_watch_stop_signals)
        processes.settle_heap()
        return bridge


#: What this worker calls when told to stop (see :func:`when_told_to_stop`).
_STOPPING: list[Callable[[], None]] = []


def when_told_to_stop(callback: Callable[[], None]) -> None:
    """Call ``callback`` on a thread of its own as soon as this worker gets
    SIGTERM or SIGINT (a stop, or the end of a SIGHUP reload). Call it in
    the worker, while it builds the app.

    granian's handler of those signals starts the worker's graceful stop,
    which waits for the requests in progress for GRACEFUL_TIMEOUT: requests
    that wait for messages must answer first, or they are cut off.
    """
    _STOPPING.append(callback)


def _watch_stop_signals() -> None:
    """Run the callbacks of :func:`when_told_to_stop` on SIGTERM or SIGINT.

    Called on the worker's event loop thread once granian has set its own
    handling of them: the loop reads signals off the interpreter's wakeup
    fd, which the signal writes whatever Python handler runs, so this
    handler takes nothing from granian's. It only writes to a pipe: it runs
    between two bytecodes of whatever the thread was doing, which may hold
    a lock the callbacks take.
    """
    if not _STOPPING:
        return
    read, write = os.pipe()
    os.set_blocking(write, False)

    def handler(signum: int, frame: Any) -> None:
        with contextlib.suppress(BlockingIOError):
            os.write(write, b'.')

    def watch() -> None:
        if os.read(read, 1):
            for callback in _STOPPING:
                callback()
    threading.Thread(target=watch, name='zaqar-stop-signal',
                     daemon=True).start()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, handler)


def event_loop() -> granian_constants.Loops:
    """uvloop where it is installed (a requirement, except on Windows):
    the hand-offs between granian's threads and the worker's loop cost less
    than on asyncio's own loop. A constant RSGI app on one worker answered
    43,000 bodiless DELETEs a second under wrk against 32,000, and 25,000
    small POSTs against 16,000-20,000. Named, not granian's 'auto', which
    would take another loop that happens to be installed."""
    if importlib.util.find_spec('uvloop') is None:
        return granian_constants.Loops.asyncio
    return granian_constants.Loops.uvloop


def workers(conf: cfg.ConfigOpts) -> int:
    """Worker processes: as configured, else one per CPU."""
    return conf[GROUP].workers or os.cpu_count() or 1


def address(host: str, port: int) -> str:
    return f'[{host}]:{port}' if ':' in host else f'{host}:{port}'
