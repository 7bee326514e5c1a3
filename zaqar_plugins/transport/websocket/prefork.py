"""Pre-forked serving: a master binds the listening sockets and keeps
``workers`` processes serving on them, as ``zaqar-server`` serves HTTP.

Each worker has a listening socket of its own, all bound to one address
with ``SO_REUSEPORT``, so that the kernel spreads connections evenly over
the workers: with one shared socket, whichever worker wakes first accepts
a whole burst, and long-lived WebSocket connections stay where they
landed (13 of 16 on one worker of two, measured).

Signals to the master:

* SIGTERM or SIGINT: graceful stop. Workers stop accepting, close their
  connections (1001) and finish the requests in progress; a worker that
  takes longer than :data:`GRACEFUL_TIMEOUT` is killed.
* SIGHUP: graceful restart. Workers stop as above, then the master runs
  its own command line again (configuration re-read) on the same
  listening socket, so no connection attempt is refused meanwhile.

A worker that dies otherwise is replaced. Workers are killed when the
master dies, whatever killed it, so that a restart can bind the port.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from typing import NoReturn

from oslo_log import log

from zaqar_plugins.transport import listening
from zaqar_plugins.transport import processes

LOG = log.getLogger(__name__)

#: Seconds a stopping worker may take to finish its requests: they take
#: milliseconds, and a stop must not wait long.
GRACEFUL_TIMEOUT = 2.0
#: Seconds before a worker that died is replaced (a worker that cannot
#: start would otherwise be forked in a loop).
RESPAWN_DELAY = 1.0
#: Environment variable that hands the listening sockets to the master a
#: restart runs (their file descriptors, comma-separated).
LISTEN_FD_ENV = 'ZAQAR_WEBSOCKET_LISTEN_FDS'

_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCHLD}

WorkerMain = Callable[[socket.socket], int]



def listening_sockets(host: str, port: int,
                      count: int) -> list[socket.socket]:
    """``count`` sockets to serve on, one per worker: those a restarting
    master handed over (closing extra ones, adding missing ones), else
    new ones bound to ``host:port``.

    Raises:
        OSError: the address cannot be bound (the port is in use, say).
    """
    inherited = os.environ.pop(LISTEN_FD_ENV, '')
    sockets = [socket.socket(fileno=int(fd))
               for fd in inherited.split(',') if fd]
    if not sockets:
        listening.check_free(host, port)
    while len(sockets) > count:
        sockets.pop().close()
    while len(sockets) < count:
        sockets.append(_bind(host, port))
    return sockets


def _bind(host: str, port: int) -> socket.socket:
    return socket.create_server((host, port), family=listening.family(host),
                                backlog=1024, reuse_port=True)


def serve(sockets: list[socket.socket],
          worker_main: WorkerMain) -> NoReturn:
    """Run ``worker_main(sockets[i])`` in one forked process per socket
    until stopped; never returns (exits, or runs the program again on
    SIGHUP)."""
    signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    master = _Master(sockets, worker_main)
    code = master.run()
    if master.restart:
        _exec_again(sockets)
    sys.exit(code)


class _Master:
    def __init__(self, sockets: list[socket.socket],
                 worker_main: WorkerMain) -> None:
        self.sockets = sockets
        self.worker_main = worker_main
        self.children: dict[int, int] = {}  # pid -> its socket's index
        self.restart = False

    def run(self) -> int:
        for slot in range(len(self.sockets)):
            self._spawn(slot)
        while True:
            caught = signal.sigtimedwait(_SIGNALS, 1.0)
            if caught is None:
                self._respawn_missing()
                continue
            if caught.si_signo == signal.SIGCHLD:
                self._reap(replace=True)
            elif caught.si_signo == signal.SIGHUP:
                LOG.info('SIGHUP: restarting gracefully')
                self.restart = True
                return self._stop()
            else:
                LOG.info('Stopping gracefully')
                return self._stop()

    def _spawn(self, slot: int) -> None:
        master = os.getpid()
        pid = os.fork()
        if pid == 0:
            os._exit(self._child(master, slot))
        self.children[pid] = slot

    def _child(self, master: int, slot: int) -> int:
        code = 1
        try:
            processes.die_with_parent(master)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)
            for signo in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP,
                          signal.SIGCHLD):
                signal.signal(signo, signal.SIG_DFL)
            # Only its own socket: the kernel must not queue connections
            # for this worker on the others' sockets.
            for index, sock in enumerate(self.sockets):
                if index != slot:
                    sock.close()
            code = self.worker_main(self.sockets[slot])
        except BaseException:
            LOG.exception('Worker %d failed', os.getpid())
        finally:
            # Buffered log lines must not be lost to os._exit.
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
        return code

    def _reap(self, replace: bool) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.children.pop(pid, None)
            if replace:
                LOG.error('Worker %d ended (%s); starting another', pid,
                          _describe(status))

    def _respawn_missing(self) -> None:
        # Replaced after a pause: a worker that cannot start must not be
        # forked in a loop. Meanwhile its socket's connections wait.
        taken = set(self.children.values())
        for slot in range(len(self.sockets)):
            if slot not in taken:
                time.sleep(RESPAWN_DELAY)
                self._spawn(slot)

    def _stop(self) -> int:
        for pid in list(self.children):
            _kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + GRACEFUL_TIMEOUT
        while self.children and time.monotonic() < deadline:
            signal.sigtimedwait({signal.SIGCHLD},
                                max(0.0, deadline - time.monotonic()))
            self._reap(replace=False)
        for pid in list(self.children):
            LOG.warning('Worker %d did not stop in %.0f s; killed', pid,
                        GRACEFUL_TIMEOUT)
            _kill(pid, signal.SIGKILL)
        while self.children:
            with contextlib.suppress(ChildProcessError):
                pid, _ = os.waitpid(-1, 0)
                self.children.pop(pid, None)
                continue
            break
        return 0


def _exec_again(sockets: list[socket.socket]) -> NoReturn:
    """Run this program again, handing it the listening sockets."""
    for sock in sockets:
        sock.set_inheritable(True)
    os.environ[LISTEN_FD_ENV] = ','.join(str(s.fileno()) for s in sockets)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)
    # Our own interpreter and command line, as the operator started them.
    os.execv(sys.executable,  # noqa: S606
             [sys.executable, *sys.orig_argv[1:]])


def _kill(pid: int, signo: int) -> None:
    try:
        os.kill(pid, signo)
    except OSError as exc:
        if exc.errno != errno.ESRCH:
            raise


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f'killed by signal {os.WTERMSIG(status)}'
    return f'exit status {os.waitstatus_to_exitcode(status)}'
