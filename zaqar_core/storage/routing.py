"""The stores seen through the catalogue, when the deployment pools its
message stores: every call about a queue goes to the store that holds it
(see :mod:`.placement`), so the API and the notification workers use one
data driver as if there were one store.

* Queues are placed when they are made (:class:`PlacedQueues`).
* Messages, claims and subscriptions go to the queue's store. Listing
  queues, and their metadata, stay in the management store.
* Signals, and the queues no tenant names (the notification outbox and the
  push queues of server processes: never placed), stay in the configured
  message store, the *home* store, which every process shares.
* A post stores its fan-out job in the queue's pool, in the same atomic
  step as its messages; the answer names it as ``<queue>@<pool>`` (a name
  no queue can have), which this driver routes back to that pool. A job
  its poster left is moved to the home outbox by :meth:`RoutedData.gc`.
* A dead-letter queue with no place of its own is placed beside its
  source. One placed elsewhere gets the moved messages posted there,
  then deleted at the source: at least once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from oslo_config import cfg
from oslo_log import log

from zaqar_core.storage import base
from zaqar_core.storage import errors
from zaqar_core.storage.placement import Placement

LOG = log.getLogger(__name__)

#: Joins a queue name and the pool that holds it; no queue name has it.
PIN = '@'
#: Messages moved per page between stores.
PAGE = 100
#: Most pages one move takes; the rest waits for the next one.
MAX_PAGES = 100


def pinned(queue: str, pool: str) -> str:
    """A name for ``queue`` of ``pool`` that routes there directly."""
    return f'{queue}{PIN}{pool}'


def flavor_of(metadata: dict | None) -> str | None:
    """The flavor a queue's metadata asks for (None: none)."""
    flavor = (metadata or {}).get('_flavor')
    return flavor if isinstance(flavor, str) and flavor else None


def transfer(source: base.DataDriverBase, target: base.DataDriverBase,
             project: str, queue: str) -> int:
    """Move the free messages of ``queue`` from one store to another,
    oldest first: posted there, then deleted here, so a crash in between
    leaves them in both (at least once). Returns how many moved."""
    moved = 0
    for _ in range(MAX_PAGES):
        page, _marker = source.message_controller.list(
            project, queue, None, PAGE, echo=True)
        if not page:
            break
        batch: list[base.NewMessage] = []
        for index, message in enumerate(page):
            moving: base.NewMessage = {
                'body': message['body'],
                'ttl': max(1, message['ttl'] - message['age']), 'delay': 0}
            if 'checksum' in message:
                moving['checksum'] = message['checksum']
            batch.append(moving)
            # One post per run of one client's messages keeps their order
            # and their Client-ID (echo filters by it).
            last = index + 1 == len(page)
            if last or page[index + 1]['client_uuid'] != \
                    message['client_uuid']:
                target.message_controller.post(project, queue, batch,
                                               message['client_uuid'])
                batch = []
        source.message_controller.bulk_delete(
            project, queue, [message['id'] for message in page])
        moved += len(page)
    return moved


class PlacedQueues(base.QueueControllerBase):
    """The management store's queues; a new one is placed first."""

    def __init__(self, inner: base.QueueControllerBase,
                 placement: Placement) -> None:
        self.inner = inner
        self.placement = placement

    def list(self, project: str, marker: str | None = None,
             limit: int = 10, detailed: bool = False) -> list[dict]:
        return self.inner.list(project, marker, limit, detailed)

    def count(self, project: str) -> int:
        return self.inner.count(project)

    def get_metadata(self, project: str, name: str) -> dict:
        return self.inner.get_metadata(project, name)

    def get_metadata_text(self, project: str, name: str) -> str:
        return self.inner.get_metadata_text(project, name)

    def create(self, project: str, name: str,
               metadata: dict | None = None) -> bool:
        try:
            self.inner.get_metadata(project, name)
            return False
        except errors.QueueDoesNotExist:
            pass
        # Placed before it exists: a crash in between leaves a place,
        # which the next create keeps, never a queue with none.
        self.placement.place(project, name, flavor_of(metadata))
        return self.inner.create(project, name, metadata)

    def set_metadata(self, project: str, name: str, metadata: dict) -> None:
        current = self.inner.get_metadata(project, name)
        flavor = flavor_of(metadata)
        if flavor != flavor_of(current):
            self.placement.check_flavor_change(project, name, flavor)
        self.inner.set_metadata(project, name, metadata)

    def delete(self, project: str, name: str) -> None:
        # The place stays (see placement): the queue's subscriptions
        # outlive it there.
        self.inner.delete(project, name)


class _Routed:
    def __init__(self, router: RoutedData) -> None:
        self.router = router


def _unchecked(seen_metadata: str | None) -> None:
    if seen_metadata is not None:
        # The catalogue is not in the pool's store (RoutedData keeps the
        # default checks_metadata_of, so the API never asks).
        raise ValueError('A routed store cannot check queue metadata.')


class _Messages(_Routed, base.MessageControllerBase):

    def _at(self, project: str, queue: str
            ) -> tuple[base.MessageControllerBase, str]:
        store, name, _ = self.router.at(project, queue)
        return store.message_controller, name

    def post_counting_subscriptions(
            self, project: str, queue: str, messages: list[base.NewMessage],
            client_uuid: str, fan_out: base.FanOut | None = None,
            once: str | None = None,
            seen_metadata: str | None = None) -> base.Posted | None:
        _unchecked(seen_metadata)
        store, name, pool = self.router.at(project, queue)
        posted = store.message_controller.post_counting_subscriptions(
            project, name, messages, client_uuid, fan_out, once)
        if posted is None:
            return None
        if pool is not None and posted.fan_out is not None:
            job = dict(posted.fan_out)
            job['queue'] = pinned(job['queue'], pool)
            posted = posted._replace(fan_out=job)
        return posted

    def list(self, project: str, queue: str, marker: str | None = None,
             limit: int = 10, echo: bool = False,
             client_uuid: str | None = None, include_claimed: bool = False,
             include_delayed: bool = False
             ) -> tuple[list[base.Message], str | None]:
        controller, name = self._at(project, queue)
        return controller.list(project, name, marker, limit, echo,
                               client_uuid, include_claimed, include_delayed)

    def bulk_get(self, project: str, queue: str,
                 message_ids: list[str]) -> list[base.Message]:
        controller, name = self._at(project, queue)
        return controller.bulk_get(project, name, message_ids)

    def delete(self, project: str, queue: str, message_id: str,
               claim_id: str | None = None) -> None:
        controller, name = self._at(project, queue)
        controller.delete(project, name, message_id, claim_id)

    def bulk_delete(self, project: str, queue: str, message_ids: list[str],
                    claim_ids: list[str] | None = None) -> None:
        controller, name = self._at(project, queue)
        controller.bulk_delete(project, name, message_ids, claim_ids)

    def pop(self, project: str, queue: str, limit: int) -> list[base.Message]:
        controller, name = self._at(project, queue)
        return controller.pop(project, name, limit)

    def stats(self, project: str, queue: str) -> base.QueueStats:
        controller, name = self._at(project, queue)
        return controller.stats(project, name)

    def purge(self, project: str, queue: str) -> None:
        controller, name = self._at(project, queue)
        controller.purge(project, name)


class _Claims(_Routed, base.ClaimControllerBase):

    def _at(self, project: str, queue: str
            ) -> tuple[base.ClaimControllerBase, str]:
        store, name, _ = self.router.at(project, queue)
        return store.claim_controller, name

    def create(self, project: str, queue: str, ttl: int, grace: int,
               limit: int, dead_letter: base.DeadLetter | None = None,
               seen_metadata: str | None = None
               ) -> tuple[str | None, list[base.Message], int]:
        _unchecked(seen_metadata)
        store, name, pool = self.router.at(project, queue)
        elsewhere = None
        if dead_letter is not None:
            elsewhere = self.router.dead_letter_store(
                project, dead_letter['queue'], store, pool)
        found = store.claim_controller.create(project, name, ttl, grace,
                                              limit, dead_letter)
        if elsewhere is not None and found[2]:
            # The source store moved them under the dead-letter queue's
            # name, where nothing reads them: on to where it lives.
            transfer(store, elsewhere, project, dead_letter['queue'])
        return found

    def get(self, project: str, queue: str, claim_id: str
            ) -> tuple[base.ClaimInfo, list[base.Message]]:
        controller, name = self._at(project, queue)
        return controller.get(project, name, claim_id)

    def update(self, project: str, queue: str, claim_id: str, ttl: int,
               grace: int) -> None:
        controller, name = self._at(project, queue)
        controller.update(project, name, claim_id, ttl, grace)

    def delete(self, project: str, queue: str, claim_id: str) -> None:
        controller, name = self._at(project, queue)
        controller.delete(project, name, claim_id)


class _Subscriptions(_Routed, base.SubscriptionControllerBase):

    def _at(self, project: str, source: str
            ) -> tuple[base.SubscriptionControllerBase, str]:
        store, name, _ = self.router.at(project, source)
        return store.subscription_controller, name

    def list(self, project: str, source: str, marker: str | None = None,
             limit: int = 10) -> list[base.Subscription]:
        controller, name = self._at(project, source)
        return controller.list(project, name, marker, limit)

    def get(self, project: str, source: str,
            subscription_id: str) -> base.Subscription:
        controller, name = self._at(project, source)
        return controller.get(project, name, subscription_id)

    def create(self, project: str, source: str, subscriber: str, ttl: int,
               options: dict[str, Any],
               subscription_id: str | None = None) -> str:
        controller, name = self._at(project, source)
        return controller.create(project, name, subscriber, ttl, options,
                                 subscription_id)

    def update(self, project: str, source: str, subscription_id: str, *,
               subscriber: str | None = None, ttl: int | None = None,
               options: dict[str, Any] | None = None) -> None:
        controller, name = self._at(project, source)
        controller.update(project, name, subscription_id,
                          subscriber=subscriber, ttl=ttl, options=options)

    def confirm(self, project: str, source: str, subscription_id: str,
                confirmed: bool) -> None:
        controller, name = self._at(project, source)
        controller.confirm(project, name, subscription_id, confirmed)

    def delete(self, project: str, source: str,
               subscription_id: str) -> None:
        controller, name = self._at(project, source)
        controller.delete(project, name, subscription_id)

    def purge(self, project: str, source: str) -> None:
        controller, name = self._at(project, source)
        controller.purge(project, name)


class RoutedData(base.DataDriverBase):
    """A data driver over the home store and the pools.

    Args:
        conf: the configuration.
        placement: where queues are.
        gathered: ``(project, queue)`` of the queues that live in the
            home store and that a pool's store may hold too: what a post
            left there (its fan-out job) is moved home by :meth:`gc`.
            Their projects, which no tenant names, live at home whole,
            without a catalogue lookup.
    """

    def __init__(self, conf: cfg.ConfigOpts, placement: Placement,
                 gathered: Iterable[tuple[str, str]] = ()) -> None:
        self.home = placement.home
        super().__init__(conf, self.home.options)
        self.placement = placement
        self.gathered = tuple(gathered)
        self._home_projects = frozenset(p for p, _ in self.gathered)
        self.capabilities = self.home.capabilities
        self.auto_upgrade = self.home.auto_upgrade
        self._messages = _Messages(self)
        self._claims = _Claims(self)
        self._subscriptions = _Subscriptions(self)

    def at(self, project: str, queue: str
           ) -> tuple[base.DataDriverBase, str, str | None]:
        """``(store, name there, pool or None for home)`` of a queue."""
        name, pin, pool = queue.partition(PIN)
        if pin:
            return self.placement.store_named(pool), name, pool
        if project in self._home_projects:
            return self.home, queue, None
        found = self.placement.pool_of(project, queue)
        if found is None:
            return self.home, queue, None
        return self.placement.store_named(found), queue, found

    def dead_letter_store(self, project: str, queue: str,
                          source: base.DataDriverBase, source_pool: str | None
                          ) -> base.DataDriverBase | None:
        """Where the dead-letter queue ``queue`` lives, when that is not
        ``source`` (the store of a queue on ``source_pool``); None when it
        is. One with no place yet, and not made before pooling, is placed
        on ``source_pool``."""
        pool = self.placement.pool_of(project, queue)
        if pool is None and source_pool is not None:
            try:
                self.placement.control.queue_controller.get_metadata(
                    project, queue)
            except errors.QueueDoesNotExist:
                pool = self.placement.control.catalogue_controller.place(
                    project, queue, source_pool)
        if pool == source_pool:
            return None
        target = (self.home if pool is None
                  else self.placement.store_named(pool))
        return None if target is source else target

    @property
    def message_controller(self) -> base.MessageControllerBase:
        return self._messages

    @property
    def claim_controller(self) -> base.ClaimControllerBase:
        return self._claims

    @property
    def subscription_controller(self) -> base.SubscriptionControllerBase:
        return self._subscriptions

    @property
    def signal_controller(self) -> base.SignalControllerBase:
        return self.home.signal_controller

    def gc(self) -> int:
        removed = self.home.gc()
        for pool in self.placement.every_pool():
            removed += self._collect(pool.name)
        return removed

    def _collect(self, pool: str) -> int:
        try:
            store = self.placement.store_named(pool)
            removed = store.gc()
            for project, queue in self.gathered:
                moved = transfer(store, self.home, project, queue)
                if moved:
                    LOG.info('Moved %d job(s) of %s from pool %s to the '
                             'message store.', moved, queue, pool)
            return removed
        except errors.StorageError as exc:
            # One pool down must not stop the others' collection.
            LOG.warning('Collecting garbage in pool %s failed: %s', pool, exc)
            return 0

    # The driver's own state is the home store's --------------------------

    def is_alive(self) -> bool:
        return self.home.is_alive()

    def check(self, timeout: float) -> base.StoreState:
        return self.home.check(timeout)

    def close(self) -> None:
        # The pools' stores are the PoolDrivers', closed with the stores.
        self.home.close()

    def upgrade(self, revision: str = 'head') -> None:
        self.home.upgrade(revision)

    def stamp(self, revision: str = 'head') -> None:
        self.home.stamp(revision)

    def schema_version(self) -> str | None:
        return self.home.schema_version()

    def schema_head(self) -> str | None:
        return self.home.schema_head()
