"""Wake-ups for requests that wait for messages (long polling).

A listing or claim that asks to ``wait`` and finds nothing parks on a
:class:`Waiter` until messages may have arrived in its queue, then looks
again. What wakes it is :meth:`Arrivals.announce`, called where messages
become free: a post, a released claim, a dead-letter move. Across the
server processes that share the data store, the announcement travels as a
storage signal (the mechanism the WebSocket push uses), on one of
:data:`BUCKETS` channels chosen by a hash of the queue: a process listens
to a fixed set of channels whatever queues its clients wait on, and a
signal for another queue of the same bucket costs a look, nothing more.

Posts pay for a signal only while some process has waiters: a process
with waiters says so on :data:`WAITING` at least every
:data:`ANNOUNCE_EVERY` seconds, and a process that heard it signals its
posts for :data:`WAITING_HOLD` seconds after. Signals are best effort,
and messages also become free by the clock (a claim expiring, a delay
ending), so a waiter looks again every :data:`BACKSTOP` seconds without
one.
"""

from __future__ import annotations

import contextlib
import threading
import time
import zlib
from collections.abc import Iterator

from oslo_log import log

from zaqar_core.api import errors
from zaqar_core.storage import base
from zaqar_core.storage import errors as storage_errors
from zaqar_core.storage.stores import Stores

LOG = log.getLogger(__name__)

#: Channels announcements spread over.
BUCKETS = 64
#: The channel on which processes with waiters say so.
WAITING = 'arrivals.waiting'
#: Seconds between two such sayings of a process while it has waiters.
ANNOUNCE_EVERY = 1.0
#: Seconds after the last saying during which posts are signalled (three
#: sayings: one lost or late does not stop the signals).
WAITING_HOLD = 3 * ANNOUNCE_EVERY
#: Seconds a waiter goes without looking again when nothing wakes it.
BACKSTOP = 5.0


def bucket(project: str | None, queue: str) -> int:
    """The bucket of a queue: the same in every process."""
    return zlib.crc32(f'{project}/{queue}'.encode()) % BUCKETS


def channel(number: int) -> str:
    return f'arrivals.{number}'


CHANNELS = tuple(channel(number) for number in range(BUCKETS))


class Waiter:
    """One waiting request's place: set when its bucket is announced."""

    def __init__(self, arrivals: Arrivals, number: int) -> None:
        self._arrivals = arrivals
        self.bucket = number
        self._event = threading.Event()

    def wake(self) -> None:
        self._event.set()

    def sleep(self, seconds: float) -> None:
        """Block until woken or ``seconds`` (at most :data:`BACKSTOP`)
        have passed: either way, the caller looks again.

        While it sleeps, its process keeps saying that it has waiters.
        """
        deadline = time.monotonic() + min(seconds, BACKSTOP)
        while True:
            self._arrivals.say_waiting()
            left = deadline - time.monotonic()
            if left <= 0:
                return
            if self._event.wait(min(left, ANNOUNCE_EVERY)):
                self._event.clear()
                return


class Arrivals:
    """A process's waiters, and the signals that wake them.

    Args:
        stores: whose signals carry announcements between processes.
        max_waiting: waiters the process holds at once, at most.
    """

    def __init__(self, stores: Stores, max_waiting: int) -> None:
        self.stores = stores
        self._slots = threading.BoundedSemaphore(max_waiting) \
            if max_waiting else None
        self._lock = threading.Lock()
        self._waiters: dict[int, set[Waiter]] = {}
        self._listening: base.Listening | None = None
        # time.monotonic() values: until when some process has waiters,
        # and when this one last said it has.
        self._someone_waits_until = 0.0
        self._said_at = float('-inf')
        #: Set when the process stops: nothing waits any more.
        self.stopping = False

    def start(self) -> Arrivals:
        """Listen to the other processes' announcements (a serving
        process does; without it, only this process's posts wake its
        waiters)."""
        if self._listening is None:
            self._listening = self.stores.signals.listen(
                (WAITING, *CHANNELS), self._signalled)
        return self

    def release_all(self) -> None:
        """The process is stopping: every waiting request answers now
        with what it finds, and none waits from now on (a graceful stop
        waits for the requests in progress, only so long)."""
        self.stopping = True
        with self._lock:
            waiters = [w for held in self._waiters.values() for w in held]
        for waiter in waiters:
            waiter.wake()

    def stop(self) -> None:
        listening, self._listening = self._listening, None
        if listening is not None:
            listening.close()

    @contextlib.contextmanager
    def waiter(self, project: str | None, queue: str) -> Iterator[Waiter]:
        """A place to wait for arrivals in ``queue``, held until exit.

        Take it before looking at the queue: what arrives after the look
        then wakes it.

        Raises:
            TooManyRequests: the process holds as many waiters as it may.
        """
        if self._slots is None or not self._slots.acquire(blocking=False):
            raise errors.TooManyRequests(
                'Too many requests are waiting for messages; try again '
                'later.')
        waiter = Waiter(self, bucket(project, queue))
        try:
            with self._lock:
                self._waiters.setdefault(waiter.bucket, set()).add(waiter)
            self.say_waiting()
            yield waiter
        finally:
            with self._lock:
                held = self._waiters.get(waiter.bucket)
                held.discard(waiter)
                if not held:
                    del self._waiters[waiter.bucket]
            self._slots.release()

    @property
    def waiting(self) -> int:
        """Requests of this process that wait now."""
        with self._lock:
            return sum(map(len, self._waiters.values()))

    def someone_waits(self) -> bool:
        """Whether some process said lately that it has waiters (always
        False until :meth:`start`)."""
        return self._listening is not None and \
            time.monotonic() < self._someone_waits_until

    def announce(self, project: str | None, queue: str) -> None:
        """Messages may have become free in ``queue``: wake its waiters,
        in every process that has some."""
        number = bucket(project, queue)
        self._wake(number)
        if not self.someone_waits():
            return
        try:
            self.stores.signals.notify(channel(number))
        except storage_errors.StorageError as exc:
            # The waiters elsewhere look again on their own (BACKSTOP);
            # the post itself succeeded.
            LOG.debug('Arrival in %s/%s not signalled: %s', project, queue,
                      exc)

    def say_waiting(self) -> None:
        """Tell the other processes that this one has waiters, unless it
        did so lately."""
        now = time.monotonic()
        if self._listening is None or now - self._said_at < ANNOUNCE_EVERY:
            return
        self._said_at = now
        # This process hears itself too, but may post before it does.
        self._someone_waits_until = max(self._someone_waits_until,
                                        now + WAITING_HOLD)
        try:
            self.stores.signals.notify(WAITING)
        except storage_errors.StorageError as exc:
            LOG.debug('Waiting not announced: %s', exc)

    def _signalled(self, name: str) -> None:
        if name == WAITING:
            self._someone_waits_until = time.monotonic() + WAITING_HOLD
        else:
            self._wake(int(name.rpartition('.')[2]))

    def _wake(self, number: int) -> None:
        with self._lock:
            waiters = list(self._waiters.get(number, ()))
        for waiter in waiters:
            waiter.wake()
