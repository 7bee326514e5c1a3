"""The thread behind the drivers' :meth:`SignalControllerBase.listen`.

A driver supplies ``connect()``, which opens a :class:`Session`: one
connection of its own to the backend, already listening. The thread waits
on it and calls back; on any failure it closes the session and connects
again after a bounded, jittered backoff, logging the outage once.
"""

from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import Callable
from collections.abc import Iterable
from typing import Protocol

from oslo_log import log

from zaqar_core.storage import base

LOG = log.getLogger(__name__)

#: Seconds a session waits for signals at most: close() is seen that soon.
WAIT = 0.5
#: Pauses before reconnecting, in seconds: the first, and the longest.
FIRST_RETRY = 0.1
LONGEST_RETRY = 5.0
#: Seconds listen() waits for the first connection (more than the
#: drivers' 5 s connect timeouts).
READY_TIMEOUT = 10.0
#: Seconds close() waits for the thread (a session may be connecting).
JOIN_TIMEOUT = 10.0


class Session(Protocol):
    """One connection to the backend, listening to the channels."""

    def wait(self, timeout: float) -> Iterable[str]:
        """The channels signalled within ``timeout`` seconds (none when
        nothing came); raises when the connection failed."""

    def close(self) -> None:
        """Release the connection."""


class ListenerThread(base.Listening):
    """Calls ``callback`` with the signals of ``channels`` that sessions
    from ``connect`` report, on a daemon thread."""

    def __init__(self, channels: frozenset[str],
                 callback: Callable[[str], None],
                 connect: Callable[[], Session], backend: str) -> None:
        self.channels = channels
        self.backend = backend
        self._callback = callback
        self._connect = connect
        self._closed = threading.Event()
        self._ready = threading.Event()  # first connection made or failed
        self._thread = threading.Thread(
            target=self._run, name=f'zaqar-signals-{backend}', daemon=True)

    def start(self) -> ListenerThread:
        """Start the thread; returns once it listens (or failed to)."""
        self._thread.start()
        self._ready.wait(READY_TIMEOUT)
        return self

    def close(self) -> None:
        self._closed.set()
        if self._thread.ident is not None and \
                self._thread is not threading.current_thread():
            self._thread.join(JOIN_TIMEOUT)

    def _run(self) -> None:
        failures = 0
        while not self._closed.is_set():
            try:
                session = self._connect()
            except Exception as exc:  # whatever it is, the thread lives on
                failures = self._failed(exc, failures)
                continue
            self._ready.set()
            try:
                while not self._closed.is_set():
                    signalled = session.wait(WAIT)
                    if failures:
                        # Back only once a wait succeeded: a connection
                        # that fails at once is still the same outage.
                        LOG.info('Signal listener on %s reconnected',
                                 self.backend)
                        failures = 0
                    self._deliver(signalled)
            except Exception as exc:
                failures = self._failed(exc, failures)
            finally:
                with contextlib.suppress(Exception):
                    session.close()

    def _deliver(self, signalled: Iterable[str]) -> None:
        # A signal means "look again": one call per channel and batch.
        for channel in dict.fromkeys(signalled):
            if channel not in self.channels or self._closed.is_set():
                continue
            try:
                self._callback(channel)
            except Exception:
                LOG.exception('Signal callback failed on channel %s',
                              channel)

    def _failed(self, exc: Exception, failures: int) -> int:
        """Log the first failure of an outage, pause; the new count."""
        self._ready.set()
        if not failures:
            LOG.warning('Signal listener lost %s (%s); reconnecting until '
                        'it is back', self.backend, exc)
        else:
            LOG.debug('Signal listener still without %s: %s',
                      self.backend, exc)
        pause = min(LONGEST_RETRY, FIRST_RETRY * 2 ** min(failures, 10))
        self._closed.wait(pause * random.uniform(0.5, 1.0))
        return failures + 1


def start(channels: Iterable[str], callback: Callable[[str], None],
          connect: Callable[[frozenset[str]], Session],
          backend: str) -> ListenerThread:
    """A started :class:`ListenerThread` for ``channels`` (validated).

    Args:
        connect: opens a session listening to the channels it is given.
        backend: what the logs call the backend (``redis``...).

    Raises:
        ValueError, TypeError: as :func:`base.check_channels`.
    """
    names = base.check_channels(channels)
    return ListenerThread(names, callback, lambda: connect(names),
                          backend).start()
