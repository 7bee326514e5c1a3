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
from collections.abc import Callable
from typing import Any

from zaqar_core.storage import base
from zaqar_core.storage import pools as pooling

#: Opens a pool's store from its URI and options.
Opener = Callable[[str, dict[str, Any]], base.DataDriverBase]


def _identity(pool: pooling.Pool) -> tuple[str, str]:
    return pool.uri, json.dumps(pool.options, sort_keys=True)


class PoolDrivers:
    """Pool name -> its open store, as its record says."""

    def __init__(self, opener: Opener) -> None:
        self._opener = opener
        self._lock = threading.Lock()
        self._open: dict[str, tuple[tuple[str, str],
                                    base.DataDriverBase]] = {}

    def driver(self, pool: pooling.Pool) -> base.DataDriverBase:
        """The store of ``pool`` (opened if needed).

        Raises:
            PoolUnusable, StorageError: it cannot be opened.
        """
        identity = _identity(pool)
        with self._lock:
            found = self._open.get(pool.name)
        if found is not None and found[0] == identity:
            return found[1]
        opened = self._opener(pool.uri, pool.options)
        with self._lock:
            found = self._open.get(pool.name)
            if found is not None and found[0] == identity:
                # Another thread opened it meanwhile: keep one.
                stale = opened
                opened = found[1]
            else:
                stale = found[1] if found is not None else None
                self._open[pool.name] = (identity, opened)
        if stale is not None:
            stale.close()
        return opened

    def forget(self, names: set[str]) -> None:
        """Close the stores of pools that are no longer in ``names``."""
        with self._lock:
            gone = [self._open.pop(name)[1] for name in list(self._open)
                    if name not in names]
        for driver in gone:
            driver.close()

    def close(self) -> None:
        self.forget(set())
