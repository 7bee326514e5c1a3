"""The import engine over real stores (SQLite, Redis), reading upstream
through in-memory sources (the readers of upstream's layouts are tested
on their own, and the whole path against upstream itself in
``tests/functional/test_import_upstream.py``)."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import pickle
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.ciphers import modes
from oslo_config import cfg

from zaqar_core import bootstrap
from zaqar_core.api import encryption
from zaqar_core.importing import deployment
from zaqar_core.importing import importer
from zaqar_core.importing import sources
from zaqar_core.importing import tally as tallying
from zaqar_core.storage.stores import Stores

PROJECT = 'p1'
OTHER = 'p2'
POSTER = '5d8e2f1a-3b4c-4d5e-8f6a-7b8c9d0e1f2a'
KEY = 'a secret of the operators'
WHERE = deployment.Deployment('redis', 'redis://upstream', 'sqlalchemy',
                              'sqlite:///upstream.db', KEY)


def upstream_seal(body: Any, key: str = KEY) -> bytes:
    """A body as upstream 23.x encrypts it (AES-256-CBC, see sealed.py)."""
    data = body.encode() if isinstance(body, str) else pickle.dumps(body)
    iv = os.urandom(16)
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(hashlib.sha256(key.encode()).digest()),
                       modes.CBC(iv)).encryptor()
    return base64.b64encode(iv + encryptor.update(
        padder.update(data) + padder.finalize()) + encryptor.finalize())


def message(n: int, body: Any = None, *, ttl: int = 3600, age: int = 60,
            delay: int = 0, claimed: bool = False,
            client: str = POSTER) -> sources.UpstreamMessage:
    now = time.time()
    created = now - age
    return sources.UpstreamMessage(
        id=str(uuid.uuid4()), body={'n': n} if body is None else body,
        ttl=ttl, created=created, expires=created + ttl,
        delay_expires=now + delay if delay else 0, client_uuid=client,
        claim_count=1 if claimed else 0, checksum=f'MD5:{n}',
        claimed=claimed)


class Upstream(sources.ManagementSource, sources.MessageSource):
    """A whole upstream deployment in memory: one store of each kind
    (message lists are batched by index position, as the Redis reader
    does by rank)."""

    def __init__(self) -> None:
        self.uri = 'memory://'
        self.queue_list: list[sources.UpstreamQueue] = []
        self.messages: dict[tuple[str, str], list[sources.UpstreamMessage
                                                  | None]] = {}
        self.subscription_list: list[sources.UpstreamSubscription] = []
        self.pool_list: list[sources.UpstreamPool] = []
        self.flavor_list: list[sources.UpstreamFlavor] = []
        self.places: list[tuple[str, str, str]] = []
        self.pool_messages: dict[str, Upstream] = {}

    # What the importer opens.
    def open_management(self, where: deployment.Deployment) -> Upstream:
        return self

    def open_messages(self, driver: str, uri: str) -> Upstream:
        for pool in self.pool_list:
            if pool.uri == uri:
                return self.pool_messages[pool.name]
        return self

    # ManagementSource
    def queues(self) -> Iterator[Any]:  # both kinds: told by the caller
        raise NotImplementedError

    def pools(self) -> list[sources.UpstreamPool]:
        return list(self.pool_list)

    def flavors(self) -> list[sources.UpstreamFlavor]:
        return list(self.flavor_list)

    def catalogue(self) -> Iterator[tuple[str, str, str]]:
        return iter(self.places)

    # MessageSource
    def count(self, project: str, queue: str) -> int:
        return len(self.messages.get((project, queue), []))

    def batches(self, project: str, queue: str,
                size: int) -> Iterator[sources.Batch]:
        found = self.messages.get((project, queue), [])
        for start in range(0, len(found), size):
            window = found[start:start + size]
            yield sources.Batch(f'{start + 1}-{start + size}',
                                [m for m in window if m is not None],
                                len(window))

    def subscriptions(self) -> Iterator[sources.UpstreamSubscription]:
        return iter(self.subscription_list)


class Management(Upstream):
    def queues(self) -> Iterator[sources.UpstreamQueue]:
        return iter(self.queue_list)


class Messages(Upstream):
    def __init__(self, owner: Upstream) -> None:
        super().__init__()
        self.messages = owner.messages
        self.subscription_list = owner.subscription_list

    def queues(self) -> Iterator[tuple[str, str]]:
        return iter(self.messages)


class Deployment(Management):
    """Management store and message store, each with its own queues()."""

    def __init__(self) -> None:
        super().__init__()
        self.store = Messages(self)

    def open_messages(self, driver: str, uri: str) -> Upstream:
        for pool in self.pool_list:
            if pool.uri == uri:
                return self.pool_messages[pool.name]
        return self.store

    def add_queue(self, name: str, metadata: dict | None = None,
                  project: str = PROJECT,
                  messages: list | None = None) -> None:
        self.queue_list.append(sources.UpstreamQueue(project, name,
                                                     metadata or {}))
        self.messages[(project, name)] = list(messages or [])


def subscription(source: str, subscriber: str, *, confirmed: bool = True,
                 ttl: int = 3600, project: str = PROJECT
                 ) -> sources.UpstreamSubscription:
    return sources.UpstreamSubscription(
        id=str(uuid.uuid4()), project=project, source=source,
        subscriber=subscriber, ttl=ttl, expires=time.time() + ttl - 100,
        options={'post_headers': {'X-Hook': '1'}}, confirmed=confirmed)


@pytest.fixture
def upstream() -> Deployment:
    found = Deployment()
    found.add_queue('orders', {'_max_claim_count': 3,
                               '_dead_letter_queue': 'dead',
                               '_default_message_ttl': 3600, 'team': 'a'},
                    messages=[message(0), message(1, 'text', delay=120),
                              None,  # expired and gone: a hole in the index
                              message(3, [1, 2], claimed=True),
                              message(4, ttl=60, age=61),  # expired
                              message(5, 7.5,
                                      client='11111111-2222-4333-8444-'
                                             '555555555555')])
    found.add_queue('big', messages=[message(n) for n in range(23)])
    found.add_queue('dead')
    found.add_queue('sealed', {'_enable_encrypt_messages': True},
                    messages=[message(0, upstream_seal({'secret': [1]})),
                              message(1, upstream_seal('plain words'))])
    found.add_queue('orders', {'other': 'project'}, project=OTHER,
                    messages=[message(0)])
    found.subscription_list.extend([
        subscription('orders', 'http://127.0.0.1:9/hook'),
        subscription('orders', 'mailto:ops@example.com', confirmed=False),
        subscription('gone-queue', 'http://127.0.0.1:9/other'),
        subscription('orders', 'http://127.0.0.1:9/old', ttl=60)])
    return found


@pytest.fixture(params=['sqlite', 'redis'])
def ours(request: pytest.FixtureRequest, sqlite_conf: cfg.ConfigOpts
         ) -> Iterator[tuple[cfg.ConfigOpts, Stores]]:
    """This project's configuration and stores, empty."""
    conf = sqlite_conf if request.param == 'sqlite' else \
        request.getfixturevalue('redis_conf')
    conf.set_override('message_encryption_key', KEY, group='transport')
    stores = bootstrap.load_stores(conf)
    yield conf, stores
    stores.close()


def run(conf: cfg.ConfigOpts, stores: Stores | None, upstream: Upstream,
        **kwargs: Any) -> tallying.Tally:
    kwargs.setdefault('batch_size', 4)
    return importer.Importer(conf, stores, WHERE, out=io.StringIO(),
                             progress=False, readers=upstream,
                             **kwargs).run()


def bodies(stores: Stores, queue: str, project: str = PROJECT) -> list:
    """Every body of a queue, opened as the API opens them."""
    found, _ = stores.messages.list(project, queue, limit=100, echo=True,
                                    include_claimed=True,
                                    include_delayed=True)
    reveal = encryption.opener(stores.home.conf, project)
    return [reveal(m['body']) for m in found]


def content(stores: Stores, tag: str = '') -> dict:
    """Everything a client could see, ids aside, of the queues and
    subscription sources whose names end with ``tag`` (as named without
    it)."""
    seen: dict[str, Any] = {}
    for project in (PROJECT, OTHER):
        for queue in stores.queues.list(project, limit=100, detailed=True):
            name = queue['name']
            if name.endswith(tag):
                seen[f'{project}/{name.removesuffix(tag)}'] = (
                    queue['metadata'], bodies(stores, name, project))
        for source in ('orders', 'gone-queue'):
            seen[f'{project}/{source}/subscriptions'] = sorted(
                (s['subscriber'], s['confirmed'])
                for s in stores.subscriptions.list(project, source + tag,
                                                   limit=100))
    return seen


def test_everything_arrives_as_upstream_showed_it(
        ours: tuple[cfg.ConfigOpts, Stores], upstream: Deployment) -> None:
    conf, stores = ours
    found = run(conf, stores, upstream)
    assert found.mismatches() == []
    assert stores.queues.get_metadata(PROJECT, 'orders')['team'] == 'a'
    assert stores.queues.get_metadata(PROJECT, 'orders')[
        '_dead_letter_queue'] == 'dead'
    # In order; the expired ones left out; the claimed one free.
    assert bodies(stores, 'orders') == [{'n': 0}, 'text', [1, 2], 7.5]
    free, _ = stores.messages.list(PROJECT, 'orders', limit=10, echo=True)
    assert [m['body'] for m in free] == [{'n': 0}, [1, 2], 7.5]
    listed, _ = stores.messages.list(PROJECT, 'orders', limit=10, echo=True,
                                     include_delayed=True)
    first = listed[0]
    # The rest of the TTL (3600 - 60 s of age), its checksum kept.
    assert 3530 <= first['ttl'] <= 3540
    assert first['checksum'] == 'MD5:0'
    # Each message keeps its poster: without echo, a client skips its own.
    mine, _ = stores.messages.list(PROJECT, 'orders', limit=10,
                                   client_uuid=POSTER)
    assert [m['body'] for m in mine] == [7.5]
    assert bodies(stores, 'big') == [{'n': n} for n in range(23)]
    assert bodies(stores, 'orders', OTHER) == [{'n': 0}]
    # Opened with upstream's key, sealed again with this deployment's.
    stored, _ = stores.messages.list(PROJECT, 'sealed', echo=True)
    assert all(m['body'].startswith('zqenc:1:') for m in stored)
    assert bodies(stores, 'sealed') == [{'secret': [1]}, 'plain words']
    subscriptions = {s['subscriber']: s for s in stores.subscriptions.list(
        PROJECT, 'orders', limit=10)}
    assert set(subscriptions) == {'http://127.0.0.1:9/hook',
                                  'mailto:ops@example.com'}
    hook = subscriptions['http://127.0.0.1:9/hook']
    assert hook['id'] == uuid.UUID(upstream.subscription_list[0].id).hex
    assert hook['confirmed'] is True
    assert hook['options'] == {'post_headers': {'X-Hook': '1'}}
    assert subscriptions['mailto:ops@example.com']['confirmed'] is False
    # Subscriptions outlive queues, upstream as here.
    assert len(stores.subscriptions.list(PROJECT, 'gone-queue')) == 1
    assert (found.total('written'), found.total('expired'),
            found.total('claimed')) == (30, 1, 1)
    assert found.subscriptions_expired == 1


def test_a_second_run_writes_nothing(
        ours: tuple[cfg.ConfigOpts, Stores], upstream: Deployment) -> None:
    conf, stores = ours
    run(conf, stores, upstream)
    first = content(stores)
    again = run(conf, stores, upstream)
    assert again.written() == 0
    assert again.total('before') == 30
    assert again.mismatches() == []
    assert content(stores) == first
    out = io.StringIO()
    assert tallying.report(again, out, dry_run=False, per_queue=False)
    assert 'written: 0' in out.getvalue()


class Interrupted(Exception):
    pass


class Failing:
    """A controller that fails after ``budget`` writes, as a killed
    importer would stop."""

    def __init__(self, inner: Any, budget: list[int],
                 writes: tuple[str, ...]) -> None:
        self._inner = inner
        self._budget = budget
        self._writes = writes

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._inner, name)
        if name not in self._writes:
            return found

        def call(*args: Any, **kwargs: Any) -> Any:
            if self._budget[0] <= 0:
                raise Interrupted(name)
            self._budget[0] -= 1
            return found(*args, **kwargs)
        return call


class Crashing(Stores):
    """``stores`` whose writes stop after ``budget`` of them."""

    def __init__(self, stores: Stores, budget: int) -> None:
        self.__dict__.update(stores.__dict__)
        self._budget = [budget]
        self._base = stores

    @property
    def queues(self) -> Any:
        return Failing(self._base.queues, self._budget, ('create',))

    @property
    def messages(self) -> Any:
        return Failing(self._base.messages, self._budget,
                       ('post_counting_subscriptions',))

    @property
    def subscriptions(self) -> Any:
        return Failing(self._base.subscriptions, self._budget,
                       ('create', 'confirm'))


def test_an_import_interrupted_anywhere_resumes_without_doubles(
        ours: tuple[cfg.ConfigOpts, Stores], upstream: Deployment,
        sqlite_conf: cfg.ConfigOpts) -> None:
    conf, stores = ours
    run(conf, stores, upstream)
    expected = content(stores)
    writes = 0
    while True:
        # Empty the stores (the contents of the first run are known).
        for project in (PROJECT, OTHER):
            for queue in stores.queues.list(project, limit=100):
                stores.messages.purge(project, queue['name'])
                stores.queues.delete(project, queue['name'])
            for source in ('orders', 'gone-queue'):
                stores.subscriptions.purge(project, source)
        tag = f'run{writes}'
        # A deployment of its own each time: once keys outlive purges.
        fresh = Deployment()
        for queue in upstream.queue_list:
            fresh.add_queue(queue.name + tag, queue.metadata, queue.project,
                            upstream.messages[(queue.project, queue.name)])
        fresh.subscription_list.extend(
            s.__class__(**{**s.__dict__, 'id': str(uuid.uuid4()),
                           'source': s.source + tag})
            for s in upstream.subscription_list)
        try:
            run(conf, Crashing(stores, writes), fresh)
            finished = True
        except Interrupted:
            finished = False
        again = run(conf, stores, fresh)
        assert again.mismatches() == []
        assert content(stores, tag) == expected, \
            f'interrupted after {writes}'
        if finished:
            break
        writes += 1
    assert writes > 10  # every kind of write was interrupted somewhere


def test_what_a_client_deleted_after_the_import_stays_deleted(
        ours: tuple[cfg.ConfigOpts, Stores], upstream: Deployment) -> None:
    conf, stores = ours
    run(conf, stores, upstream)
    stores.messages.purge(PROJECT, 'big')
    stores.queues.delete(PROJECT, 'big')
    hook = stores.subscriptions.list(PROJECT, 'orders', limit=10)[0]
    stores.subscriptions.delete(PROJECT, 'orders', hook['id'])
    consumed, _ = stores.messages.list(PROJECT, 'orders', limit=1,
                                       echo=True)
    stores.messages.delete(PROJECT, 'orders', consumed[0]['id'])
    again = run(conf, stores, upstream)
    assert again.written() == 0
    assert 'big' not in [q['name'] for q in stores.queues.list(PROJECT)]
    assert bodies(stores, 'big') == []
    assert hook['id'] not in [s['id'] for s in stores.subscriptions.list(
        PROJECT, 'orders', limit=10)]
    assert bodies(stores, 'orders') == ['text', [1, 2], 7.5]


def test_a_body_the_key_cannot_open_fails_the_import_loudly(
        ours: tuple[cfg.ConfigOpts, Stores], upstream: Deployment) -> None:
    conf, stores = ours
    upstream.add_queue('other-key', {'_enable_encrypt_messages': True},
                       messages=[message(0, upstream_seal('x', 'another')),
                                 message(1, upstream_seal('y'))])
    found = run(conf, stores, upstream)
    assert bodies(stores, 'other-key') == ['y']
    problems = found.mismatches()
    assert len(problems) == 1 and 'other-key' in problems[0]
    out = io.StringIO()
    assert not tallying.report(found, out, dry_run=False, per_queue=False)
    assert 'MISMATCH' in out.getvalue() and 'FAILED' in out.getvalue()


def test_a_dry_run_writes_nothing_and_counts(
        ours: tuple[cfg.ConfigOpts, Stores], upstream: Deployment) -> None:
    conf, stores = ours
    found = run(conf, None, upstream, dry_run=True)
    assert stores.queues.list(PROJECT) == []
    assert (found.queues_created, found.total('written'),
            found.subscriptions_written) == (5, 30, 3)
    out = io.StringIO()
    tallying.report(found, out, dry_run=True, per_queue=True)
    assert 'would import' in out.getvalue()
    assert 'nothing was written' in out.getvalue()


def test_pools_flavors_and_places_arrive_and_queues_stay_on_their_pool(
        sqlite_conf: cfg.ConfigOpts, tmp_path: Any) -> None:
    conf = sqlite_conf
    conf.set_override('pooling', True)
    conf.set_override('admin_mode', True)
    stores = bootstrap.load_stores(conf)
    try:
        found = Deployment()
        uris = {name: f'sqlite:///{tmp_path}/{name}.db'
                for name in ('fast', 'slow')}
        found.pool_list.extend([
            sources.UpstreamPool('fast', uris['fast'], 10, {}, 'gold'),
            sources.UpstreamPool('slow', uris['slow'], 5, {}, None)])
        found.flavor_list.append(sources.UpstreamFlavor('gold', PROJECT))
        for name in ('fast', 'slow'):
            found.pool_messages[name] = Messages(Upstream())
        found.queue_list.append(sources.UpstreamQueue(
            PROJECT, 'q-gold', {'_flavor': 'gold'}))
        found.queue_list.append(sources.UpstreamQueue(PROJECT, 'q-slow', {}))
        found.places.extend([(PROJECT, 'q-gold', 'fast'),
                             (PROJECT, 'q-slow', 'slow')])
        found.pool_messages['fast'].messages[(PROJECT, 'q-gold')] = [
            message(0, 'on fast')]
        found.pool_messages['slow'].messages[(PROJECT, 'q-slow')] = [
            message(0, 'on slow')]
        tally = run(conf, stores, found)
        assert tally.mismatches() == []
        assert (tally.pools_written, tally.flavors_written,
                tally.placed) == (2, 1, 2)
        assert stores.pools.get('fast').flavor == 'gold'
        assert stores.flavors.get(PROJECT, 'gold') is not None
        assert stores.catalogue.lookup(PROJECT, 'q-gold') == 'fast'
        fast = stores.pool_drivers.driver(stores.pools.get('fast'))
        listed, _ = fast.message_controller.list(PROJECT, 'q-gold',
                                                 echo=True)
        assert [m['body'] for m in listed] == ['on fast']
        assert bodies(stores, 'q-slow') == ['on slow']
        assert run(conf, stores, found).written() == 0
    finally:
        stores.close()


def test_pools_need_a_pooling_configuration(
        ours: tuple[cfg.ConfigOpts, Stores], upstream: Deployment) -> None:
    conf, stores = ours
    upstream.pool_list.append(sources.UpstreamPool(
        'p', 'redis://127.0.0.1:1', 1, {}, None))
    upstream.pool_messages['p'] = Messages(Upstream())
    with pytest.raises(importer.ImportRefused, match='pooling = True'):
        run(conf, stores, upstream)
    assert stores.queues.list(PROJECT) == []


def test_a_store_that_gained_other_than_was_written_is_a_mismatch() -> None:
    written = tallying.QueueTally(read=3, written=3, gained=2)
    assert written.mismatch() == 'wrote 3 but the store gained 2'
    # Unless the missing one expired meanwhile.
    written.expired_since = 1
    assert written.mismatch() is None
    assert tallying.QueueTally(read=3, written=3, gained=3).mismatch() is None
