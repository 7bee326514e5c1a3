"""The import: upstream's pools, flavors, catalogue, queues, messages and
subscriptions, written into this project's stores through the storage
contracts (so into any backend, pools included).

Resuming. Every write is either naturally idempotent (a queue is created
unless it exists, a pool or flavor likewise) or made once: a batch of
messages is posted with a ``once`` key named after its place in
upstream's queue index (see :class:`~zaqar_core.importing.sources.Batch`),
recorded in the same atomic step as its messages. A run interrupted at
any point, run again, writes what is missing and nothing twice. Queues
and subscriptions are marked as imported too (after they are written),
so that one a client deleted after the import is not made again.

Semantics (also in doc/source/admin/upgrades.rst):

* messages keep their order, body, checksum, poster (client id), the
  rest of their TTL and of their delay; they get new ids (this
  project's ids are opaque numbers, upstream's UUIDs);
* live claims are not carried: claimed messages become free, as after
  the claim expired (at-least-once holds); claim counts start again;
* encrypted bodies are opened with upstream's key and sealed again in
  this project's envelope, with this deployment's key;
* subscriptions keep their id (the same UUID, written without dashes),
  subscriber, options, confirmation and the rest of their TTL.
"""

from __future__ import annotations

import hashlib
import math
import time
import uuid
from typing import Any
from typing import TextIO

from oslo_config import cfg
from oslo_log import log

from zaqar_core.api import encryption
from zaqar_core.importing import deployment as upstream
from zaqar_core.importing import sealed
from zaqar_core.importing import sources
from zaqar_core.importing.progress import Progress
from zaqar_core.importing.tally import Tally
from zaqar_core.storage import base
from zaqar_core.storage import errors
from zaqar_core.storage import pools as pooling
from zaqar_core.storage.stores import Stores

LOG = log.getLogger(__name__)

#: The poster of the empty posts that only record a key.
MARKER_CLIENT = '00000000-0000-4000-8000-000000000000'
QUEUE_MARK = 'upstream:queue'
#: A once key holds up to 128 characters.
_MAX_MARK = 128
#: Entries of upstream's queue index per batch. Batches are named by
#: their window, so every run must cut the same windows: not an option.
WINDOW = 500
#: Seconds a pool's store has to answer before it is registered.
PROBE_TIMEOUT = 10.0
#: Written messages expiring sooner than this are watched, so that the
#: final check allows for those gone meanwhile.
_WATCH_TTL = 3600


class ImportRefused(Exception):
    """The import cannot start or go on; the message says why."""


def batch_mark(key: str) -> str:
    """The once key of a batch (long source keys are hashed)."""
    mark = f'upstream:{key}'
    if len(mark) <= _MAX_MARK:
        return mark
    return 'upstream:' + hashlib.sha256(key.encode()).hexdigest()


def subscription_mark(subscription_id: str) -> str:
    return f'upstream:subscription:{subscription_id}'


def our_subscription_id(upstream_id: str) -> str | None:
    """Upstream's UUID as this project writes ids (32 hex digits); None
    when it is not a UUID (a new id is made then)."""
    try:
        return uuid.UUID(upstream_id).hex
    except (ValueError, AttributeError, TypeError):
        return None


class Importer:
    """One run of the import."""

    def __init__(self, conf: cfg.ConfigOpts, stores: Stores | None,
                 where: upstream.Deployment, *, out: TextIO,
                 dry_run: bool = False, batch_size: int = WINDOW,
                 progress: bool = True,
                 clock: Any = time.time, readers: Any = upstream) -> None:
        """``readers`` opens the sources (``open_management(where)``,
        ``open_messages(driver, uri)``): :mod:`.deployment`'s plugins
        unless a test gives its own."""
        if stores is None and not dry_run:
            raise ValueError('only a dry run goes without stores')
        self.conf = conf
        self.stores = stores
        self.where = where
        self.out = out
        self.dry_run = dry_run
        self.batch_size = batch_size
        self.show_progress = progress
        self.clock = clock
        self.tally = Tally()
        self._readers = readers
        self._key = sealed.UpstreamKey(where.encryption_key) \
            if where.encryption_key else None
        self._sources: dict[str | None, sources.MessageSource] = {}
        # Per queue: stats total before writing, and when the watched
        # written messages expire.
        self._before: dict[tuple[str, str], int] = {}
        self._deadlines: dict[tuple[str, str], list[float]] = {}

    # -- the run ---------------------------------------------------------

    def run(self) -> Tally:
        management = self._readers.open_management(self.where)
        try:
            self._sources[None] = self._readers.open_messages(
                self.where.message_driver, self.where.message_uri)
            pools = management.pools()
            self._import_pools(pools, management.flavors())
            places = self._import_catalogue(management, pools)
            queues = list(management.queues())
            self._count_orphans({(q.project, q.name) for q in queues},
                                places)
            counts = {(q.project, q.name): self._source(
                places.get((q.project, q.name))).count(q.project, q.name)
                for q in queues}
            progress = Progress(self.out, queues=len(queues),
                                messages=sum(counts.values()),
                                enabled=self.show_progress)
            for queue in queues:
                self._import_queue(queue, places.get((queue.project,
                                                      queue.name)),
                                   progress)
                progress.add(queues=1)
            progress.finish()
            for source in list(self._sources.values()):
                self._import_subscriptions(source)
            if not self.dry_run:
                self._check()
        finally:
            management.close()
            for source in self._sources.values():
                source.close()
        return self.tally

    def _source(self, pool: str | None) -> sources.MessageSource:
        """The reader of the upstream store holding a queue placed on
        ``pool`` (None: the configured message store)."""
        found = self._sources.get(pool)
        if found is None:
            raise ImportRefused(f'Upstream\'s catalogue names pool {pool}, '
                                f'which upstream does not have')
        return found

    # -- pools, flavors, catalogue ----------------------------------------

    def _import_pools(self, pools: list[sources.UpstreamPool],
                      flavors: list[sources.UpstreamFlavor]) -> None:
        for pool in pools:
            self._sources[pool.name] = self._readers.open_messages(
                upstream.driver_of_uri(pool.uri), pool.uri)
        if not pools and not flavors:
            return
        stores = self.stores
        if stores is not None and stores.placement is None:
            raise ImportRefused(
                f'Upstream has {len(pools)} pools and {len(flavors)} '
                f'flavors, and this server\'s configuration does not pool: '
                f'set [DEFAULT] pooling = True (as upstream\'s file does) '
                f'and run the import again')
        for pool in pools:
            if stores is None:
                self.tally.pools_written += 1
                continue
            if stores.pools.get(pool.name) is not None:
                self.tally.pools_existing += 1
                continue
            self._prepare_pool(pool)
            try:
                stores.pools.put(pooling.Pool(
                    name=pool.name, uri=pool.uri, weight=pool.weight,
                    flavor=pool.flavor, options=pool.options))
            except pooling.DuplicateUri as exc:
                raise ImportRefused(
                    f'Pool {pool.name}: {exc} Rename or remove that pool '
                    f'here, then run the import again') from exc
            self.tally.pools_written += 1
        for flavor in flavors:
            if stores is None:
                self.tally.flavors_written += 1
                continue
            if stores.flavors.get(flavor.project, flavor.name) is not None:
                self.tally.flavors_existing += 1
                continue
            members = [p.name for p in pools if p.flavor == flavor.name]
            try:
                stores.flavors.put(flavor.project, flavor.name, members)
            except pooling.FlavorTaken as exc:
                raise ImportRefused(f'Flavor {flavor.name}: {exc}') from exc
            self.tally.flavors_written += 1

    def _prepare_pool(self, pool: sources.UpstreamPool) -> None:
        """Check the pool's store answers here and bring its schema to
        this release's, as registering a pool through the API does."""
        try:
            state = self.stores.prepare_pool(pool.uri, pool.options,
                                             PROBE_TIMEOUT)
        except errors.StorageError as exc:
            raise ImportRefused(f'Pool {pool.name} cannot be opened: '
                                f'{exc}') from exc
        if state.problem:
            raise ImportRefused(f'Pool {pool.name}: the store '
                                f'{state.problem}')

    def _import_catalogue(self, management: sources.ManagementSource,
                          pools: list[sources.UpstreamPool]
                          ) -> dict[tuple[str, str], str]:
        """Upstream's places, written here before the queues are made
        (a queue's existing place wins over a new choice)."""
        places = {(project, queue): pool
                  for project, queue, pool in management.catalogue()}
        known = {p.name for p in pools}
        for (project, queue), pool in places.items():
            if pool not in known:
                raise ImportRefused(
                    f'Upstream\'s catalogue places queue {queue} of project '
                    f'{project!r} on pool {pool}, which upstream does not '
                    f'have')
            if self.stores is None:
                self.tally.placed += 1
                continue
            catalogue = self.stores.catalogue
            if catalogue.lookup(project, queue) is None:
                catalogue.place(project, queue, pool)
                self.tally.placed += 1
        return places

    def _count_orphans(self, queues: set[tuple[str, str]],
                       places: dict[tuple[str, str], str]) -> None:
        for pool, source in self._sources.items():
            for project, name in source.queues():
                if (project, name) in queues and \
                        places.get((project, name)) == pool:
                    continue
                self.tally.orphaned_messages += source.count(project, name)

    # -- queues and messages ----------------------------------------------

    def _once(self, project: str, queue: str, key: str) -> bool:
        """Record ``key`` in ``queue``; whether it is new."""
        assert self.stores is not None
        return self.stores.messages.post_counting_subscriptions(
            project, queue, [], MARKER_CLIENT, once=key) is not None

    def _import_queue(self, queue: sources.UpstreamQueue, pool: str | None,
                      progress: Progress) -> None:
        key = (queue.project, queue.name)
        tally = self.tally.queue(*key)
        stores = self.stores
        if stores is None:
            self.tally.queues_created += 1
        else:
            created = stores.queues.create(queue.project, queue.name,
                                           queue.metadata)
            if not self._once(queue.project, queue.name, QUEUE_MARK) \
                    and created:
                # Imported before, and deleted here since: not again.
                stores.queues.delete(queue.project, queue.name)
                LOG.info('Queue %s of project %r was imported before and '
                         'deleted since: left deleted', queue.name,
                         queue.project)
                self.tally.queues_existing += 1
                return
            if created:
                self.tally.queues_created += 1
            else:
                self.tally.queues_existing += 1
            self._before[key] = stores.messages.stats(
                queue.project, queue.name)['total']
        for batch in self._source(pool).batches(queue.project, queue.name,
                                                self.batch_size):
            self._import_batch(queue, batch, tally)
            progress.add(messages=batch.indexed)

    def _messages(self, queue: sources.UpstreamQueue,
                  batch: sources.Batch, now: float,
                  tally: Any) -> list[base.NewMessage]:
        found: list[base.NewMessage] = []
        for message in batch.messages:
            ttl = math.ceil(message.expires - now)
            if ttl <= 0:
                tally.expired += 1
                continue
            tally.read += 1
            if message.claimed:
                tally.claimed += 1
            body = message.body
            if isinstance(body, bytes):
                try:
                    if self._key is None:
                        raise sealed.CannotOpen('no key configured')
                    body = self._key.open(body)
                except sealed.CannotOpen as exc:
                    tally.unreadable += 1
                    LOG.error('Message %s of queue %s (project %r) was '
                              'encrypted by upstream and cannot be opened '
                              '(%s): not imported', message.id, queue.name,
                              queue.project, exc)
                    continue
            new: base.NewMessage = {
                'body': body, 'ttl': ttl,
                'delay': max(0, math.ceil(message.delay_expires - now)),
                'client_uuid': message.client_uuid}
            if message.checksum:
                new['checksum'] = message.checksum
            found.append(new)
        return found

    def _import_batch(self, queue: sources.UpstreamQueue,
                      batch: sources.Batch, tally: Any) -> None:
        now = self.clock()
        messages = self._messages(queue, batch, now, tally)
        if not messages:
            return
        if self.stores is None:
            tally.written += len(messages)
            return
        # Sealed as the API seals a post, by the queue's metadata.
        stored = encryption.seal(self.conf, queue.project, queue.metadata,
                                 messages)
        posted = self.stores.messages.post_counting_subscriptions(
            queue.project, queue.name, stored, MARKER_CLIENT,
            once=batch_mark(batch.key))
        if posted is None:
            tally.before += len(messages)
            return
        tally.written += len(messages)
        watched = self._deadlines.setdefault((queue.project, queue.name), [])
        start = time.monotonic()
        watched.extend(start + m['ttl'] for m in messages
                       if m['ttl'] < _WATCH_TTL)

    # -- subscriptions ----------------------------------------------------

    def _import_subscriptions(self, source: sources.MessageSource) -> None:
        now = self.clock()
        for found in source.subscriptions():
            ttl = math.ceil(found.expires - now)
            if ttl <= 0:
                self.tally.subscriptions_expired += 1
                continue
            if self.stores is None:
                self.tally.subscriptions_written += 1
                continue
            self._import_subscription(found, ttl)

    def _import_subscription(self, found: sources.UpstreamSubscription,
                             ttl: int) -> None:
        subscriptions = self.stores.subscriptions
        wanted = our_subscription_id(found.id)
        mark = subscription_mark(found.id)
        if wanted is not None and self._exists(found, wanted):
            # Made by a run that stopped before marking it: finish it.
            if self._once(found.project, found.source, mark) and \
                    found.confirmed:
                subscriptions.confirm(found.project, found.source, wanted,
                                      True)
            self.tally.subscriptions_existing += 1
            return
        try:
            made = subscriptions.create(
                found.project, found.source, found.subscriber, ttl,
                found.options, wanted)
        except errors.SubscriptionAlreadyExists:
            # This deployment subscribed it already, under another id.
            self._once(found.project, found.source, mark)
            self.tally.subscriptions_existing += 1
            return
        if found.confirmed:
            subscriptions.confirm(found.project, found.source, made, True)
        if not self._once(found.project, found.source, mark):
            # Imported before, and deleted here since: not again.
            subscriptions.delete(found.project, found.source, made)
            self.tally.subscriptions_existing += 1
            return
        self.tally.subscriptions_written += 1

    def _exists(self, found: sources.UpstreamSubscription,
                subscription_id: str) -> bool:
        try:
            self.stores.subscriptions.get(found.project, found.source,
                                          subscription_id)
        except errors.SubscriptionDoesNotExist:
            return False
        return True

    # -- the check ----------------------------------------------------------

    def _check(self) -> None:
        """What each queue's store gained against what was written."""
        now = time.monotonic()
        for key, before in self._before.items():
            tally = self.tally.queue(*key)
            total = self.stores.messages.stats(*key)['total']
            tally.gained = total - before
            tally.expired_since = sum(
                1 for d in self._deadlines.get(key, ()) if d <= now)
