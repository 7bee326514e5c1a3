"""The open stores of a process's pools.

A pool's store is opened once per process and kept while its record
stays the same: a pool whose URI or options change is opened anew (and
the old store closed), so no process keeps writing where a pool no longer
is (upstream cached drivers until restart). Opening may block (an SQL
store connects); it runs outside the lock, so one slow pool holds up no
other.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from zaqar_core.storage import base
from zaqar_core.storage import errors
from zaqar_core.storage import pools as pooling

#: Opens a pool's store from its URI and options.
Opener = Callable[[str, dict[str, Any]], base.DataDriverBase]
#: Seconds a pool whose store could not be opened is not tried again: an
#: open may take seconds (an SQL driver retries its first connection), and
#: every request to the pool's queues would wait that long.
RETRY_AFTER = 2.0


def _identity(pool: pooling.Pool) -> tuple[str, str]:
    return pool.uri, json.dumps(pool.options, sort_keys=True)


class PoolDrivers:
    """Pool name -> its open store, as its record says."""

    def __init__(self, opener: Opener,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._opener = opener
        self._clock = clock
        self._lock = threading.Lock()
        self._open: dict[str, tuple[tuple[str, str],
                                    base.DataDriverBase]] = {}
        # Pool name -> its lock for opening: one open at a time per pool.
        self._opening: dict[str, threading.Lock] = {}
        # Pool name -> (identity, when it failed, why).
        self._failed: dict[str, tuple[tuple[str, str], float,
                                      errors.StorageError]] = {}

    def driver(self, pool: pooling.Pool) -> base.DataDriverBase:
        """The store of ``pool`` (opened if needed).

        Raises:
            PoolUnusable, StorageError: it cannot be opened (or could not
                be, less than :data:`RETRY_AFTER` seconds ago).
        """
        identity = _identity(pool)
        with self._lock:
            found = self._open.get(pool.name)
            opening = self._opening.setdefault(pool.name, threading.Lock())
        if found is not None and found[0] == identity:
            return found[1]
        with opening:
            return self._open_once(pool, identity)

    def _open_once(self, pool: pooling.Pool, identity: tuple[str, str]
                   ) -> base.DataDriverBase:
        with self._lock:
            found = self._open.get(pool.name)
            failed = self._failed.get(pool.name)
        if found is not None and found[0] == identity:
            return found[1]  # opened by the thread this one waited for
        if failed is not None and failed[0] == identity and \
                self._clock() - failed[1] < RETRY_AFTER:
            raise errors.Unavailable(f'{failed[2]} (not tried again for '
                                     f'{RETRY_AFTER:g} s)')
        try:
            opened = self._opener(pool.uri, pool.options)
        except errors.StorageError as exc:
            with self._lock:
                self._failed[pool.name] = (identity, self._clock(), exc)
            raise
        with self._lock:
            # One open per pool at a time: what is there is an older record's.
            self._failed.pop(pool.name, None)
            stale = self._open.get(pool.name)
            self._open[pool.name] = (identity, opened)
        if stale is not None:
            stale[1].close()
        return opened

    def forget(self, names: set[str]) -> None:
        """Close the stores of pools that are no longer in ``names``."""
        with self._lock:
            gone = [self._open.pop(name)[1] for name in list(self._open)
                    if name not in names]
            for held in (self._failed, self._opening):
                for name in [n for n in held if n not in names]:
                    del held[name]
        for driver in gone:
            driver.close()

    def close(self) -> None:
        self.forget(set())
