"""The pair of drivers one deployment runs on, and how it opens more
(pools)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any
from typing import Protocol

from zaqar_core.storage import base
from zaqar_core.storage import pools as pooling
from zaqar_core.storage import routing
from zaqar_core.storage.placement import Placement
from zaqar_core.storage.pool_drivers import PoolDrivers


class PoolOpener(Protocol):
    """Opens message stores known only by their URI: pools."""

    def open(self, uri: str, options: dict[str, Any]
             ) -> base.DataDriverBase:
        """The store at ``uri``, with the pool's ``options``.

        Raises:
            PoolUnusable: no driver serves ``uri``, or an option is
                invalid.
            StorageError: the store cannot be opened.
        """

    def capabilities(self, uri: str) -> tuple[str, ...]:
        """What the driver serving ``uri`` offers (none if no driver
        does)."""


@dataclasses.dataclass
class Stores:
    """The control driver (queue catalogue) and the data driver (messages,
    claims, subscriptions, signals), with their controllers at hand."""

    control: base.ControlDriverBase
    data: base.DataDriverBase
    pool_opener: PoolOpener | None = None
    _pool_drivers: PoolDrivers | None = dataclasses.field(
        default=None, init=False, repr=False)
    #: Where queues are, once :meth:`place_queues` turned pooling on.
    placement: Placement | None = dataclasses.field(
        default=None, init=False, repr=False)
    _queues: base.QueueControllerBase | None = dataclasses.field(
        default=None, init=False, repr=False)

    def place_queues(self, *, virtual_pool: bool, cache_ttl: float,
                     gathered: Iterable[tuple[str, str]] = ()) -> None:
        """Spread queues over the pools (``[DEFAULT] pooling``): new
        queues are placed, and :attr:`data` routes every call about a
        queue to its store (see :mod:`.routing`); the configured message
        store stays the home of what is not placed."""
        home = self.data
        self.placement = Placement(self.control, self.pool_drivers, home,
                                   virtual_pool=virtual_pool,
                                   cache_ttl=cache_ttl)
        self.data = routing.RoutedData(home.conf, self.placement, gathered)
        self._queues = routing.PlacedQueues(self.control.queue_controller,
                                            self.placement)

    @property
    def home(self) -> base.DataDriverBase:
        """The configured message store itself, never routed."""
        return self.data if self.placement is None else self.placement.home

    @property
    def queues(self) -> base.QueueControllerBase:
        if self._queues is not None:
            return self._queues
        return self.control.queue_controller

    @property
    def pools(self) -> pooling.PoolControllerBase:
        return self.control.pool_controller

    @property
    def flavors(self) -> pooling.FlavorControllerBase:
        return self.control.flavor_controller

    @property
    def catalogue(self) -> pooling.CatalogueControllerBase:
        return self.control.catalogue_controller

    @property
    def messages(self) -> base.MessageControllerBase:
        return self.data.message_controller

    @property
    def claims(self) -> base.ClaimControllerBase:
        return self.data.claim_controller

    @property
    def subscriptions(self) -> base.SubscriptionControllerBase:
        return self.data.subscription_controller

    @property
    def signals(self) -> base.SignalControllerBase:
        return self.data.signal_controller

    def open_pool(self, uri: str, options: dict[str, Any]
                  ) -> base.DataDriverBase:
        """A pool's store, opened (see :class:`PoolOpener`)."""
        if self.pool_opener is None:
            raise pooling.PoolUnusable('This server opens no pools.')
        return self.pool_opener.open(uri, options)

    def prepare_pool(self, uri: str, options: dict[str, Any],
                     timeout: float) -> base.StoreState:
        """Open a pool's store before it is registered, check it answers
        within ``timeout`` seconds and bring an empty or older schema to
        this release's (no operator command knows a pool before); what
        is still wrong, if anything.

        Raises:
            PoolUnusable: no driver serves ``uri``, or an option is bad.
            StorageError: the store cannot be opened (drivers that
                connect as they open).
        """
        driver = self.open_pool(uri, options)
        try:
            state = driver.check(timeout)
            if state.needs_upgrade:
                driver.upgrade()
                state = driver.check(timeout)
        finally:
            driver.close()
        return state

    @property
    def pool_drivers(self) -> PoolDrivers:
        """The open stores of the pools (see :class:`PoolDrivers`)."""
        if self._pool_drivers is None:
            self._pool_drivers = PoolDrivers(self.open_pool)
        return self._pool_drivers

    def pool_capabilities(self, uri: str) -> tuple[str, ...]:
        if self.pool_opener is None:
            return ()
        return self.pool_opener.capabilities(uri)

    def close(self) -> None:
        if self._pool_drivers is not None:
            self._pool_drivers.close()
        self.data.close()
        self.control.close()
