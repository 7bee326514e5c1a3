"""The readers of upstream Zaqar's Redis stores, on data written by hand
in upstream's layout (see :mod:`zaqar_plugins.upstream.redis`) to a
private ``redis-server``."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgpack
import pytest
import redis

from zaqar_core.importing.sources import SourceError
from zaqar_core.importing.sources import UpstreamFlavor
from zaqar_core.importing.sources import UpstreamPool
from zaqar_core.importing.sources import UpstreamQueue
from zaqar_plugins.upstream.redis import connection
from zaqar_plugins.upstream.redis.management import RedisManagement
from zaqar_plugins.upstream.redis.messages import RedisMessages
from zaqar_testing.ports import refusing_address
from zaqar_testing.redis_servers import RedisFactory
from zaqar_testing.redis_servers import RedisSentinel
from zaqar_testing.redis_servers import RedisServer

CLIENT = '3381af92-2b9e-11e3-b191-71861300734c'
PROJECT = '3a5b0ab4d6f34b8d9f2a2b3c4d5e6f70'


def pack(value: Any) -> bytes:
    """As upstream packs (binary as msgpack's bin type)."""
    return msgpack.packb(value, use_bin_type=True)


class Upstream:
    """Writes what upstream's Redis drivers write."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    # -- management store

    def queue(self, project: str, name: str,
              metadata: dict[str, Any] | None = None) -> None:
        self.client.zadd(f'{project}.queues_set', {f'{project}.{name}': 1})
        self.client.hset(f'{project}.{name}', mapping={
            'c': 0, 'cl': 0, 'm': pack(metadata or {}),
            't': int(time.time())})

    def pool(self, name: str, uri: str, weight: int,
             options: dict[str, Any], flavor: str) -> None:
        self.client.zadd('pools', {f'{name}.pools': 1})
        self.client.zadd(f'{flavor}.pools', {f'{name}.pools': 1})
        self.client.hset(f'{name}.pools', mapping={
            'pl': name, 'u': uri, 'w': weight, 'o': pack(options),
            'f': flavor})

    def flavor(self, name: str, project: str,
               capabilities: dict[str, Any]) -> None:
        self.client.zadd('flavors', {f'{name}.flavors': 1})
        self.client.zadd(f'{project}.flavors', {f'{name}.flavors': 1})
        self.client.hset(f'{name}.flavors', mapping={
            'f': name, 'p': project, 'c': pack(capabilities)})

    def place(self, project: str, queue: str, pool: str) -> None:
        self.client.zadd(f'catalogue.{project}', {f'{project}.{queue}': 1})
        self.client.hset(f'catalogue.{project}.{queue}', mapping={
            'p': project, 'p_q': queue, 'p_p': pool})

    # -- message store

    def post(self, project: str, queue: str, body: Any, ttl: int = 600,
             age: int = 0, delay: int = 0, claim: str = '',
             claim_ttl: int = 0, checksum: str | None = None,
             without: tuple[str, ...] = ()) -> str:
        """A message posted ``age`` seconds ago, indexed at the next
        rank; ``claim`` (an id) claimed for ``claim_ttl`` seconds from
        now."""
        mid = str(uuid.uuid4())
        created = int(time.time()) - age
        fields: dict[str, Any] = {
            'id': mid, 't': ttl, 'cr': created, 'e': created + ttl,
            'u': CLIENT, 'c': claim,
            'c.e': int(time.time()) + claim_ttl if claim else created,
            'c.c': 1 if claim else 0, 'd': created + delay, 'b': pack(body)}
        if checksum:
            fields['cs'] = checksum
        for field in without:
            del fields[field]
        self.client.hset(mid, mapping=fields)
        # Redis drops the hash a second or so after "e" at the latest.
        self.client.expire(mid, max(ttl - age, 0) + 60)
        self.index(project, queue, [mid])
        return mid

    def index(self, project: str, queue: str, ids: list[str],
              rank: int | None = None) -> None:
        """Index ``ids`` as upstream's index script does, from ``rank``
        (default: the queue's counter, starting at 1)."""
        counter = f'{project}.{queue}.rank_counter'
        if rank is None:
            rank = int(self.client.get(counter) or 1)
        self.client.zadd(f'{project}.{queue}.messages',
                         {mid: rank + n for n, mid in enumerate(ids)})
        self.client.set(counter, rank + len(ids))
        self.client.zadd('msgset_index', {f'{project}.{queue}.messages': 1})

    def subscribe(self, project: str, queue: str, subscriber: str,
                  ttl: int = 3600, options: dict[str, Any] | None = None,
                  confirmed: int | None = 0, with_project: bool = True
                  ) -> str:
        sid = str(uuid.uuid4())
        fields: dict[str, Any] = {
            'id': sid, 's': queue, 'u': subscriber, 't': ttl,
            'e': int(time.time()) + ttl, 'o': pack(options or {})}
        if with_project:
            fields['p'] = project
        if confirmed is not None:
            fields['c'] = confirmed
        self.client.zadd(f'{project}.{queue}.subscriptions', {sid: 1})
        self.client.hset(sid, mapping=fields)
        self.client.expire(sid, ttl)
        return sid


@pytest.fixture(scope='module')
def redis_factory(tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[RedisFactory]:
    factory = RedisFactory(tmp_path_factory.mktemp('upstream-redis'))
    try:
        yield factory
    finally:
        factory.stop_all()


@pytest.fixture(scope='module')
def server(redis_factory: RedisFactory) -> RedisServer:
    started = redis_factory.create('redis')
    assert isinstance(started, RedisServer)
    return started


@pytest.fixture
def client(server: RedisServer) -> Iterator[redis.Redis]:
    server.flush()
    with contextlib.closing(server.client()) as found:
        yield found


@pytest.fixture
def up(client: redis.Redis) -> Upstream:
    return Upstream(client)


@pytest.fixture
def management(server: RedisServer,
               client: redis.Redis) -> Iterator[RedisManagement]:
    source = RedisManagement(server.uri)
    yield source
    source.close()


@pytest.fixture
def messages(server: RedisServer,
             client: redis.Redis) -> Iterator[RedisMessages]:
    source = RedisMessages(server.uri)
    yield source
    source.close()


# -- URIs --------------------------------------------------------------------

@pytest.mark.parametrize(('uri', 'expected'), [
    ('redis://localhost', 'redis://localhost'),
    # A "/N" path is no database upstream: only dbid is.
    ('redis://:pw@host:6380/4?socket_timeout=0.1',
     'redis://:pw@host:6380?socket_timeout=0.1'),
    ('redis://host/4?dbid=2', 'redis://host?dbid=2'),
    ('redis://user:pw@[::1]:7000/', 'redis://user:pw@[::1]:7000'),
    # A socket's path stays.
    ('redis:///var/run/redis.sock?dbid=2',
     'redis:///var/run/redis.sock?dbid=2'),
    ('redis://:pw@/var/run/redis.sock', 'redis://:pw@/var/run/redis.sock'),
    ('redis://s1:26380,s2/1?master=main',
     'redis://s1:26380,s2?master=main'),
])
def test_upstream_form(uri: str, expected: str) -> None:
    assert connection.upstream_form(uri) == expected


@pytest.mark.parametrize(('uri', 'complaint'), [
    ('redis+cluster://:sekret@h1,h2', 'redis://'),
    ('mongodb://:sekret@h1', 'redis://'),
    ('redis://:sekret@h1,h2', 'master'),
    ('redis://:sekret@h1?dbid=one', 'numbers'),
])
def test_bad_uris_are_refused(uri: str, complaint: str) -> None:
    with pytest.raises(SourceError, match=complaint) as caught:
        connection.connect(uri)
    assert 'sekret' not in str(caught.value)


@pytest.mark.parametrize('reader', [RedisManagement,
                                    RedisMessages])
def test_unreachable(reader: type) -> None:
    with refusing_address() as address, \
            pytest.raises(SourceError, match='Cannot reach') as caught:
        reader(f'redis://:sekret@{address}?socket_timeout=1')
    assert 'sekret' not in str(caught.value)
    assert '***' in str(caught.value)


def test_password_and_database(server: RedisServer, up: Upstream,
                               client: redis.Redis) -> None:
    """``dbid`` selects the database, a ``/N`` path does not (as
    upstream); a wrong password is a SourceError."""
    host_port = server.uri.removeprefix('redis://')
    with contextlib.closing(server.client(db=3)) as db3:
        Upstream(db3).queue(PROJECT, 'in3')
    up.queue(PROJECT, 'in0')
    client.config_set('requirepass', 'sekret')
    try:
        for uri, name in ((f'redis://:sekret@{host_port}?dbid=3', 'in3'),
                          (f'redis://:sekret@{host_port}/3', 'in0')):
            source = RedisManagement(uri)
            try:
                assert [q.name for q in source.queues()] == [name]
            finally:
                source.close()
        with pytest.raises(SourceError, match='credentials') as caught:
            RedisManagement(f'redis://:wrong@{host_port}')
        assert 'wrong' not in str(caught.value)
    finally:
        with contextlib.closing(server.client(password='sekret')) as admin:
            admin.config_set('requirepass', '')


def test_unix_socket(tmp_path: Path) -> None:
    # A socket's path is short (108 bytes): not in pytest's deep tmp_path.
    short = Path(tempfile.mkdtemp())
    socket = short / 'redis.sock'
    server = RedisServer(tmp_path / 'server', options=[
        '--unixsocket', str(socket), '--unixsocketperm', '700']).start()
    try:
        with contextlib.closing(server.client()) as client:
            Upstream(client).post(PROJECT, 'q', 'hello')
        source = RedisMessages(f'redis://{socket}')
        try:
            assert list(source.queues()) == [(PROJECT, 'q')]
        finally:
            source.close()
    finally:
        server.stop()
        shutil.rmtree(short)


def test_sentinel(redis_factory: RedisFactory) -> None:
    deployment = redis_factory.create('redis-sentinel')
    assert isinstance(deployment, RedisSentinel)
    with contextlib.closing(deployment.client()) as client:
        up = Upstream(client)
        up.queue(PROJECT, 'q', {'a': 1})
        up.post(PROJECT, 'q', 'hello')
    management = RedisManagement(deployment.uri)
    source = RedisMessages(deployment.uri)
    try:
        assert list(management.queues()) == [
            UpstreamQueue(PROJECT, 'q', {'a': 1})]
        [batch] = source.batches(PROJECT, 'q', 10)
        assert [m.body for m in batch.messages] == ['hello']
    finally:
        management.close()
        source.close()


# -- the management store ----------------------------------------------------

def test_queues(management: RedisManagement, up: Upstream,
                client: redis.Redis) -> None:
    up.queue(PROJECT, 'zeta', {'_max_messages_post_size': 1024})
    up.queue(PROJECT, 'a.b', {'nested': {'list': [1, 'two']}})
    up.queue('', 'global')
    up.queue('other', 'q')
    # Listed, its hash gone: upstream lists it, with no metadata.
    client.zadd('other.queues_set', {'other.bare': 1})
    assert list(management.queues()) == [
        UpstreamQueue('', 'global', {}),
        UpstreamQueue(PROJECT, 'a.b', {'nested': {'list': [1, 'two']}}),
        UpstreamQueue(PROJECT, 'zeta', {'_max_messages_post_size': 1024}),
        UpstreamQueue('other', 'bare', {}),
        UpstreamQueue('other', 'q', {}),
    ]


def test_pools_flavors_catalogue(management: RedisManagement,
                                 up: Upstream, client: redis.Redis) -> None:
    up.pool('pool2', 'redis://b:6379', 20, {'max_reconnect_attempts': 3},
            'gold')
    up.pool('pool1', 'redis://a:6379?dbid=1', 10, {}, 'gold')
    up.flavor('gold', PROJECT, {'durable': True})
    up.flavor('silver', 'other', {})
    up.place(PROJECT, 'a.b', 'pool1')
    up.place('other', 'q', 'pool2')
    # Not entries: a queue "x" of a project named "catalogue", and a
    # pool listed whose hash upstream failed to write.
    up.queue('catalogue', 'x')
    client.zadd('pools', {'ghost.pools': 1})
    assert management.pools() == [
        UpstreamPool('pool1', 'redis://a:6379?dbid=1', 10, {}, 'gold'),
        UpstreamPool('pool2', 'redis://b:6379', 20,
                     {'max_reconnect_attempts': 3}, 'gold')]
    assert management.flavors() == [
        UpstreamFlavor('gold', PROJECT),
        UpstreamFlavor('silver', 'other')]
    assert list(management.catalogue()) == [
        (PROJECT, 'a.b', 'pool1'), ('other', 'q', 'pool2')]


def test_empty_management_store(management: RedisManagement
                                ) -> None:
    assert list(management.queues()) == []
    assert management.pools() == []
    assert management.flavors() == []
    assert list(management.catalogue()) == []


# -- the message store -------------------------------------------------------

def test_messages_in_fifo_order(messages: RedisMessages,
                                up: Upstream, client: redis.Redis) -> None:
    live = up.post(PROJECT, 'q', {'n': 1}, checksum='MD5:abc')
    claimed = up.post(PROJECT, 'q', 'claimed', claim=str(uuid.uuid4()),
                      claim_ttl=30)
    stale = up.post(PROJECT, 'q', 'claim expired', claim=str(uuid.uuid4()),
                    claim_ttl=-5)
    delayed = up.post(PROJECT, 'q', [1, 2], delay=120)
    # Upstream's encrypted bodies: base64 text packed as bytes.
    secret = up.post(PROJECT, 'q', b'c2VjcmV0IGJvZHk=')
    expired = up.post(PROJECT, 'q', 'expired', ttl=60, age=61)
    vanished = up.post(PROJECT, 'q', 'vanished')
    client.delete(vanished)
    # A claim count written after the message expired: no message.
    partial = up.post(PROJECT, 'q', 'partial')
    client.delete(partial)
    client.hset(partial, 'c.c', 2)
    older = up.post(PROJECT, 'q', None, without=('d',))

    assert messages.count(PROJECT, 'q') == 9
    batches = list(messages.batches(PROJECT, 'q', 4))
    assert [(b.key, b.indexed) for b in batches] == [
        (f'{PROJECT}.q.messages#1-4', 4), (f'{PROJECT}.q.messages#5-8', 4),
        (f'{PROJECT}.q.messages#9-12', 1)]
    found = {m.id: m for b in batches for m in b.messages}
    assert [m.id for b in batches for m in b.messages] == [
        live, claimed, stale, delayed, secret, older]
    assert expired not in found

    first = found[live]
    assert first.body == {'n': 1}
    assert first.ttl == 600
    assert first.expires == first.created + 600
    assert abs(first.created - time.time()) < 5
    assert first.client_uuid == CLIENT
    assert first.checksum == 'MD5:abc'
    assert (first.claimed, first.claim_count, first.delay_expires) == \
        (False, 0, 0)
    assert (found[claimed].claimed, found[claimed].claim_count) == (True, 1)
    assert found[stale].claimed is False
    assert found[delayed].delay_expires == found[delayed].created + 120
    assert found[delayed].body == [1, 2]
    assert found[secret].body == b'c2VjcmV0IGJvZHk='
    assert (found[older].body, found[older].delay_expires,
            found[older].checksum) == (None, 0, None)


def test_batch_keys_are_stable(messages: RedisMessages,
                               up: Upstream, client: redis.Redis) -> None:
    ids = [up.post('', 'a.b', n) for n in range(7)]

    def read() -> list[tuple[str, int, list[Any]]]:
        return [(b.key, b.indexed, [m.body for m in b.messages])
                for b in messages.batches('', 'a.b', 3)]

    assert read() == [('.a.b.messages#1-3', 3, [0, 1, 2]),
                      ('.a.b.messages#4-6', 3, [3, 4, 5]),
                      ('.a.b.messages#7-9', 1, [6])]
    # Expired since: the hashes went, the ids stay in the set.
    client.delete(ids[0], ids[4])
    assert read() == [('.a.b.messages#1-3', 3, [1, 2]),
                      ('.a.b.messages#4-6', 3, [3, 5]),
                      ('.a.b.messages#7-9', 1, [6])]
    # Upstream's garbage collector removed the ids too.
    client.zrem('.a.b.messages', ids[0], ids[1], ids[2])
    assert read() == [('.a.b.messages#4-6', 3, [3, 5]),
                      ('.a.b.messages#7-9', 1, [6])]


def test_batches_skip_empty_windows(messages: RedisMessages,
                                    up: Upstream, client: redis.Redis,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    low = [up.post(PROJECT, 'q', n) for n in range(10)]
    high = [str(uuid.uuid4()) for _ in range(11)]
    for n, mid in enumerate(high):
        client.hset(mid, mapping={'id': mid, 't': 600, 'cr': 1, 'e': 2**40,
                                  'u': CLIENT, 'c': '', 'c.e': 1, 'c.c': 0,
                                  'd': 1, 'b': pack(100 + n)})
    up.index(PROJECT, 'q', high, rank=5_000_000)
    calls = []
    real = messages._store.client.zrangebyscore

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(messages._store.client, 'zrangebyscore', counted)
    batches = list(messages.batches(PROJECT, 'q', 100))
    assert [(b.key, b.indexed) for b in batches] == [
        (f'{PROJECT}.q.messages#1-100', 10),
        (f'{PROJECT}.q.messages#4999901-5000000', 1),
        (f'{PROJECT}.q.messages#5000001-5000100', 10)]
    assert [m.body for b in batches for m in b.messages] == \
        [*range(10), *range(100, 111)]
    assert [m.id for m in batches[0].messages] == low
    # One read of each window and one look for the next.
    assert len(calls) == 2 * len(batches)


def test_empty_queue(messages: RedisMessages) -> None:
    assert messages.count(PROJECT, 'none') == 0
    assert list(messages.batches(PROJECT, 'none', 10)) == []


def test_queues_of_the_message_store(messages: RedisMessages,
                                     up: Upstream,
                                     client: redis.Redis) -> None:
    up.post(PROJECT, 'a.b.c', 1)
    up.post('', 'global', 1)
    # Created, never posted to: in the index, no set.
    client.zadd('msgset_index', {'other.empty.messages': 1})
    # A set the index lacks.
    client.zadd('other.unindexed.messages', {str(uuid.uuid4()): 1})
    # Not message sets: a claim's list of messages, other types.
    client.rpush(f'messages.{uuid.uuid4()}', 'x')
    client.set('x.y.messages', 'not a set')
    client.zadd('plain.messages', {'x': 1})
    assert list(messages.queues()) == [
        ('', 'global'), (PROJECT, 'a.b.c'), ('other', 'empty'),
        ('other', 'unindexed')]
    assert messages.count(PROJECT, 'a.b.c') == 1


def test_subscriptions(messages: RedisMessages, up: Upstream,
                       client: redis.Redis) -> None:
    fresh = up.subscribe(PROJECT, 'a.b', 'http://example.com/hook',
                         options={'x': [1]})
    confirmed = up.subscribe(PROJECT, 'a.b', 'mailto:a@example.com',
                             confirmed=1)
    old = up.subscribe('', 'q', 'http://example.com/old', confirmed=None,
                       with_project=False)
    gone = up.subscribe(PROJECT, 'q', 'http://example.com/gone')
    client.delete(gone)  # expired: Redis dropped the hash, not the id
    late = up.subscribe(PROJECT, 'q', 'http://example.com/late')
    client.hset(late, 'e', int(time.time()) - 1)

    found = {s.id: s for s in messages.subscriptions()}
    assert set(found) == {fresh, confirmed, old}
    first = found[fresh]
    assert (first.project, first.source, first.subscriber, first.ttl,
            first.options, first.confirmed) == (
        PROJECT, 'a.b', 'http://example.com/hook', 3600, {'x': [1]}, False)
    assert abs(first.expires - time.time() - 3600) < 5
    assert found[confirmed].confirmed is True
    # No "c" (releases before confirmation): confirmed, as upstream
    # shows it; no "p": the project read off the key.
    assert (found[old].project, found[old].source,
            found[old].confirmed) == ('', 'q', True)


# -- not upstream's layout ---------------------------------------------------

def test_own_layout_is_refused_as_a_management_store(
        management: RedisManagement, messages: RedisMessages,
        client: redis.Redis) -> None:
    client.zadd('z:{p:proj}:queues', {'q': 0})
    with pytest.raises(SourceError, match='zaqar-core'):
        list(management.queues())
    # A pooled deployment's message store may hold none of upstream's
    # keys, beside this project's: nothing to read, no error.
    assert list(messages.queues()) == []


def test_wrong_types_are_refused(messages: RedisMessages,
                                 client: redis.Redis) -> None:
    client.set('msgset_index', 'a string')
    with pytest.raises(SourceError, match='layout'):
        list(messages.queues())


def test_undecodable_data_is_refused(messages: RedisMessages,
                                     up: Upstream,
                                     client: redis.Redis) -> None:
    mid = up.post(PROJECT, 'q', 'x')
    client.hset(mid, 'b', b'\xc1')  # never used by msgpack
    with pytest.raises(SourceError, match=f'body of message {mid}'):
        list(messages.batches(PROJECT, 'q', 10))
    client.hset(mid, mapping={'b': pack('x'), 'e': 'soon'})
    with pytest.raises(SourceError, match=mid):
        list(messages.batches(PROJECT, 'q', 10))
