"""Where each queue lives when the deployment pools its message stores.

With ``[DEFAULT] pooling``, a new queue is *placed* on one pool of its
flavor, chosen at random in proportion to the pools' weights, and the
catalogue (in the management store) records it; every call about the
queue then goes to that pool (:mod:`.routing`). A queue that no pool took
(made before pooling was on, or kept by ``[pooling:catalog]
enable_virtual_pool``) lives in the configured message store, the *home*
store.

A queue keeps its pool for good, also after it is deleted: a queue made
again under its name finds its subscriptions (which outlive it) there,
and no process can hold a wrong answer about it, which is what lets each
process cache lookups. Places are forgotten only when their pool is
retired (:meth:`Placement.release`, on a pool's deletion), and only for
queues that are gone. Places and pool records (URI, options) are cached
for ``[pooling:catalog] cache_ttl`` seconds, the bound on how long a
change to a pool takes to reach every process.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable

from zaqar_core.storage import base
from zaqar_core.storage import errors
from zaqar_core.storage import pools as pooling
from zaqar_core.storage.pool_drivers import PoolDrivers

#: Most catalogue entries one process keeps; the oldest go first.
CACHE_SIZE = 100_000
#: Pools read per page when every pool is listed.
PAGE = 100


def choose(candidates: list[pooling.Pool],
           draw: Callable[[int], int]) -> pooling.Pool | None:
    """One of ``candidates``, in proportion to their weights (weight 0:
    never); None when no weight is positive. ``draw(n)`` is a uniform
    integer in ``0..n-1``."""
    weighted = [pool for pool in candidates if pool.weight > 0]
    if not weighted:
        return None
    point = draw(sum(pool.weight for pool in weighted))
    for pool in weighted:
        if point < pool.weight:
            return pool
        point -= pool.weight
    raise AssertionError('a draw beyond the total weight')


class Placement:
    """Places queues on pools, and finds the store that holds a queue.

    Args:
        control: the management store (pools, flavors, catalogue).
        drivers: the open stores of the pools.
        home: the configured message store.
        virtual_pool: place a queue no pool takes in ``home`` instead of
            refusing it.
        cache_ttl: seconds a pool record is trusted.
    """

    def __init__(self, control: base.ControlDriverBase, drivers: PoolDrivers,
                 home: base.DataDriverBase, *, virtual_pool: bool,
                 cache_ttl: float,
                 clock: Callable[[], float] = time.monotonic,
                 draw: Callable[[int], int] | None = None) -> None:
        self.control = control
        self.drivers = drivers
        self.home = home
        self.virtual_pool = virtual_pool
        self.cache_ttl = cache_ttl
        self._clock = clock
        self._draw = draw or random.SystemRandom().randrange
        self._lock = threading.Lock()
        self._places: dict[tuple[str, str], tuple[float, str]] = {}
        self._records: dict[str, tuple[float, pooling.Pool]] = {}

    # Finding ------------------------------------------------------------

    def pool_of(self, project: str, queue: str) -> str | None:
        """The pool holding ``queue``, or None (the home store)."""
        key = (project, queue)
        now = self._clock()
        cached = self._places.get(key)
        if cached is not None and now - cached[0] < self.cache_ttl:
            return cached[1]
        found = self.control.catalogue_controller.lookup(project, queue)
        self._remember(key, found, now)
        return found

    def _remember(self, key: tuple[str, str], pool: str | None,
                  now: float) -> None:
        with self._lock:
            if pool is None or not self.cache_ttl:
                self._places.pop(key, None)
                return
            if len(self._places) >= CACHE_SIZE:
                # Dicts keep insertion order: drop the oldest entry.
                self._places.pop(next(iter(self._places)), None)
            self._places[key] = (now, pool)

    def store_of(self, project: str, queue: str) -> base.DataDriverBase:
        """The store holding ``queue``."""
        pool = self.pool_of(project, queue)
        return self.home if pool is None else self.store_named(pool)

    def store_named(self, pool: str) -> base.DataDriverBase:
        """The open store of the pool called ``pool``.

        Raises:
            Unavailable: there is no such pool (it was deleted since), or
                its store cannot be opened.
        """
        now = self._clock()
        cached = self._records.get(pool)
        if cached is not None and now - cached[0] < self.cache_ttl:
            record = cached[1]
        else:
            record = self.control.pool_controller.get(pool)
            if record is None:
                self._records.pop(pool, None)
                raise errors.Unavailable(f'Pool {pool} does not exist.')
            self._records[pool] = (now, record)
        try:
            return self.drivers.driver(record)
        except pooling.PoolUnusable as exc:
            raise errors.Unavailable(f'Pool {pool} cannot be opened: '
                                     f'{exc}') from exc

    def every_pool(self) -> list[pooling.Pool]:
        """Every registered pool, by name."""
        found: list[pooling.Pool] = []
        while True:
            page = self.control.pool_controller.list(
                found[-1].name if found else None, PAGE)
            found += page
            if len(page) < PAGE:
                return found

    # Placing ------------------------------------------------------------

    def place(self, project: str, queue: str,
              flavor: str | None) -> str | None:
        """Place a new queue on a pool of ``flavor`` unless it has a place
        (which wins); return its pool, or None for the home store.

        Raises:
            NoPool: no pool of ``flavor`` takes queues, and the virtual
                pool is off.
        """
        catalogue = self.control.catalogue_controller
        # Never from the cache: a place forgotten since (its pool retired,
        # see release) must not be reused.
        placed = catalogue.lookup(project, queue)
        if placed is not None:
            self._remember((project, queue), placed, self._clock())
            return placed
        pools = self.control.pool_controller
        for _ in range(3):
            chosen = choose(pools.with_flavor(flavor), self._draw)
            if chosen is None:
                if self.virtual_pool:
                    return None
                raise pooling.NoPool(queue, flavor)
            try:
                placed = catalogue.place(project, queue, chosen.name)
            except pooling.PoolNotFound:
                continue  # deleted meanwhile: choose again
            self._remember((project, queue), placed, self._clock())
            return placed
        raise pooling.NoPool(queue, flavor)

    def release(self, pool: str) -> int:
        """Forget the places on ``pool`` of queues that are gone: deleted,
        with no message or subscription left there. Returns how many
        places remain (the pool cannot be deleted while any does).

        A process may keep a forgotten place up to ``cache_ttl`` seconds:
        retire a pool once its queues are deleted, not while clients
        still make them again.

        Raises:
            StorageError: the pool's store cannot be read (what it holds
                is unknown, so nothing is forgotten).
        """
        record = self.control.pool_controller.get(pool)
        if record is None:
            return 0
        store = self.drivers.driver(record)
        catalogue = self.control.catalogue_controller
        kept, marker = 0, None
        while page := catalogue.placed(pool, marker, PAGE):
            marker = page[-1]
            for project, queue in page:
                if not self._vacant(store, project, queue):
                    kept += 1
                    continue
                catalogue.remove(project, queue)
                self._remember((project, queue), None, self._clock())
                if self._exists(project, queue):
                    # Made again meanwhile, maybe placed by its maker
                    # before the removal: it stays where it was.
                    catalogue.place(project, queue, pool)
                    kept += 1
        return kept

    def _exists(self, project: str, queue: str) -> bool:
        try:
            self.control.queue_controller.get_metadata(project, queue)
        except errors.QueueDoesNotExist:
            return False
        return True

    def _vacant(self, store: base.DataDriverBase, project: str,
                queue: str) -> bool:
        return (not self._exists(project, queue)
                and not store.message_controller.stats(
                    project, queue)['total']
                and not store.subscription_controller.list(
                    project, queue, limit=1))

    def check_flavor_change(self, project: str, queue: str,
                            flavor: str | None) -> None:
        """Refuse a new ``_flavor`` for ``queue`` unless its pool serves
        that flavor already (nothing has to move).

        Raises:
            FlavorChangeRefused: it would have to move.
        """
        pool = self.pool_of(project, queue)
        record = (None if pool is None
                  else self.control.pool_controller.get(pool))
        if record is None or record.flavor != flavor:
            raise pooling.FlavorChangeRefused(queue, pool, flavor)
