"""Whose turn it is to write to a SQLite file.

SQLite lets one writer in at a time, and a writer that finds the lock taken
waits in its busy handler: it sleeps 1, 2, 5 ... up to 100 ms between tries
and is never woken when the lock is freed. Under load that is most of a
post's time: the threads of one process, passing the GIL between them,
kept taking the lock again before a sleeper woke, and so did the other
worker process (post-1 on two workers: 99th percentile 540 ms, 711 posts/s).

So writers queue before they ask SQLite: the threads of a process on a
lock of the process, the processes on an ``flock`` of a file beside the
database, which the kernel hands to a waiter the moment it is released.
Both waits are bounded by the busy timeout, after which the write fails as
it did before ("database is locked": a 503). Readers never queue (WAL).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Iterator

from oslo_log import log

from zaqar_core.storage import errors

LOG = log.getLogger(__name__)

#: Appended to the database's path for the file the processes lock.
SUFFIX = '.write-lock'


def lock_path(database: str) -> str:
    """The file whose ``flock`` the writers of ``database`` queue on."""
    return os.path.realpath(database) + SUFFIX


class WriterLock:
    """Queues the writers of one SQLite database.

    Args:
        database: the database file; None (or ``:memory:``) for a database
            of this process only, where the threads' lock is enough.
        timeout_s: the longest a writer waits for its turn.
    """

    def __init__(self, database: str | None, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._path = lock_path(database) \
            if database not in (None, '', ':memory:') else None
        # Reentrant: a write nested in a write of the same thread fails on
        # SQLite's busy timeout as it did, rather than hanging here.
        self._threads = threading.RLock()
        self._depth = 0
        self._file: _FileTurn | None = None

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """This process's and this thread's turn to write.

        Raises:
            errors.Unavailable: the turn did not come within the timeout.
        """
        deadline = time.monotonic() + self.timeout_s
        if not self._threads.acquire(timeout=self.timeout_s):
            raise _timed_out()
        try:
            # Only the thread holding ``_threads`` reads or writes these.
            turn = self._file_turn() if self._depth == 0 else None
            if turn is not None:
                turn.acquire(deadline)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if turn is not None:
                    turn.release()
        finally:
            self._threads.release()

    def _file_turn(self) -> _FileTurn | None:
        if self._path is None:
            return None
        # A forked child shares the parent's open file, and with it the
        # parent's lock: each process opens the file for itself.
        if self._file is None or self._file.pid != os.getpid():
            try:
                self._file = _FileTurn(self._path)
            except OSError as exc:
                LOG.warning('Writers of this SQLite database wait in its '
                            'busy handler: %s cannot be opened (%s)',
                            self._path, exc.strerror)
                self._path = None
                return None
        return self._file


class _FileTurn:
    """The ``flock`` of one process, taken without waiting when it is
    free, and otherwise by a thread of its own that blocks in the kernel
    for it, so that the writer's own wait can end at its deadline (a thread
    blocked in ``flock`` cannot be interrupted). At most one writer of the
    process waits at a time: :class:`WriterLock` lets one through.

    ``flock`` belongs to the open file, not to a thread: while the waiting
    thread is in ``flock``, nothing else here may try it, or both would
    hold the one lock and the waiter's release would free the writer's.
    """

    def __init__(self, path: str) -> None:
        self.pid = os.getpid()
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
                           0o600)
        self._state = threading.Condition()
        self._wanted = False    # a writer waits for the lock
        self._granted = False   # the waiter took it for that writer
        self._in_flock = False  # the waiter is blocked in flock
        self._waiter: threading.Thread | None = None

    def acquire(self, deadline: float) -> None:
        with self._state:
            if not self._in_flock:
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return
                except BlockingIOError:
                    pass
            self._wanted = True
            self._start_waiter()
            self._state.notify_all()
            while not self._granted:
                left = deadline - time.monotonic()
                if left <= 0:
                    # The waiter keeps waiting; when the lock comes it
                    # lets it go again unless another writer wants it.
                    self._wanted = False
                    raise _timed_out()
                self._state.wait(left)
            self._granted = False

    def release(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _start_waiter(self) -> None:
        if self._waiter is None:
            self._waiter = threading.Thread(
                target=self._wait_for_lock, name='zaqar-sqlite-writer',
                daemon=True)
            self._waiter.start()

    def _wait_for_lock(self) -> None:
        while True:
            with self._state:
                while not self._wanted:
                    self._state.wait()
                self._in_flock = True
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            with self._state:
                self._in_flock = False
                if self._wanted:
                    self._wanted = False
                    self._granted = True
                    self._state.notify_all()
                else:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)


def _timed_out() -> errors.Unavailable:
    return errors.Unavailable('database is locked: another writer held it '
                              'for the whole busy timeout')
