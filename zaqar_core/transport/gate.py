"""How many requests of a process work at a time, when some may wait.

A transport that runs requests in threads runs ``threads`` of them at once.
A request that waits for messages (long polling) holds its thread while it
waits, doing nothing; such a transport gets ``max_waiting_requests`` more
threads for them, and lets each request through the :class:`Gate`, which
a waiting request steps out of. So at most ``threads`` requests compete
for the interpreter, however many wait, and a process full of waiting
requests still serves the others.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from oslo_config import cfg

from zaqar_core import cooperative


def threads(conf: cfg.ConfigOpts, working: int) -> int:
    """Threads for a transport whose requests run in ``working`` threads:
    those, and one more for each request that may wait for messages."""
    return working + waiting_threads(conf)


def waiting_threads(conf: cfg.ConfigOpts) -> int:
    """Threads for requests that may wait for messages: one for each, none
    when long polling is off."""
    limits = conf.transport
    return limits.max_waiting_requests if limits.max_message_wait else 0


_FREE = contextlib.nullcontext()


class _Slot:
    """A gate's semaphore around a request's work, which a cooperative
    task gives up while its store answers (:mod:`zaqar_core.cooperative`).
    A class, not a generator: this is on every request's path."""

    __slots__ = ('_semaphore',)

    def __init__(self, semaphore: threading.Semaphore) -> None:
        self._semaphore = semaphore

    def take(self) -> None:
        self._semaphore.acquire()
        cooperative.held(self._semaphore)

    def give_back(self, *exc_info: object) -> None:
        cooperative.released(self._semaphore)
        self._semaphore.release()

    __enter__ = take
    __exit__ = give_back


class Gate:
    """At most ``slots`` requests inside at once; ``None``: no limit (the
    transport's own threads are the limit)."""

    def __init__(self, slots: int | None = None) -> None:
        self._slot = (None if slots is None else
                      _Slot(threading.Semaphore(slots)))

    @property
    def limits(self) -> bool:
        return self._slot is not None

    def working(self) -> contextlib.AbstractContextManager:
        """Around a request's work."""
        return _FREE if self._slot is None else self._slot

    @contextlib.contextmanager
    def stepped_out(self) -> Iterator[None]:
        """Around a wait inside a request: its slot goes to another (and
        a cooperative task no longer counts it as its own meanwhile)."""
        if self._slot is None:
            yield
            return
        self._slot.give_back()
        try:
            yield
        finally:
            self._slot.take()
