"""Scale-out over pools, end to end: two ``zaqar-server`` processes share a
management store (PostgreSQL) and three pools (two private Redis servers
and a PostgreSQL database). Queues made through both land on the pools in
proportion to weight; what one process writes the other reads; a pool
whose backend stops answers 503 for its own queues only, and serves again
when it returns. (Routing call by call: unit test_placement.py.)"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import psycopg2
import pytest

from zaqar_testing.databases import Database
from zaqar_testing.databases import MySQLDatabase
from zaqar_testing.databases import PostgresDatabase
from zaqar_testing.receivers import Receiver
from zaqar_testing.redis_servers import RedisBackend
from zaqar_testing.redis_servers import RedisCluster
from zaqar_testing.redis_servers import RedisServer
from zaqar_testing.waiting import eventually
from zaqar_testing.zaqar_servers import ZaqarServer
from zaqar_testing.zaqar_servers import stop_servers

from .helpers import ApiClient

#: Queues made through the two servers, as the issue asks.
QUEUES = 10_000
THREADS = 8
ADMIN = {'X-Roles': 'admin'}
#: Pool options that make a stopped Redis fail fast rather than after the
#: driver's default reconnection attempts.
FAST_FAIL = {'max_reconnect_attempts': 1, 'reconnect_sleep': 0.1}


class Deployment:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.databases: list[Database] = []
        self.redis: dict[str, RedisBackend] = {}
        self.servers: list[ZaqarServer] = []
        self.pools: dict[str, str] = {}

    def start(self) -> Deployment:
        management = self._database()
        home = self._redis('home')
        sections = {
            'DEFAULT': {'auth_strategy': '', 'admin_mode': True,
                        'pooling': True},
            'drivers': {'transport': 'wsgi', 'message_store': 'redis',
                        'management_store': 'sqlalchemy'},
            'drivers:transport:wsgi': {'workers': 2},
            'drivers:message_store:redis': {'uri': home.uri},
            'drivers:management_store:sqlalchemy': {
                'uri': management.uri, 'max_pool_size': 2},
            # Each process reads pool records anew at once.
            'pooling:catalog': {'cache_ttl': 0},
        }
        for n in range(2):
            workdir = self.root / f'server{n}'
            workdir.mkdir()
            server = ZaqarServer(workdir, sections)
            if n == 0:
                subprocess.run(
                    [sys.executable, '-m', 'zaqar_core.cmd.manage',
                     '--config-file', str(server.conf_path), 'db',
                     'upgrade'], check=True, capture_output=True,
                    timeout=120)
            self.servers.append(server)
            server.start()
        return self

    def _database(self) -> PostgresDatabase:
        database = PostgresDatabase()
        self.databases.append(database)
        return database

    def _redis(self, name: str) -> RedisServer:
        self.redis[name] = RedisServer(self.root / name).start()
        return self.redis[name]

    def client(self, n: int, project: str) -> ApiClient:
        return ApiClient(self.servers[n].url, project)

    def admin(self) -> ApiClient:
        return ApiClient(self.servers[0].url, 'admin', extra_headers=ADMIN)

    def add_pools(self) -> dict[str, str]:
        """Pool name -> URI: two Redis pools and a PostgreSQL one."""
        pools = {'redis-a': self._redis('a').uri,
                 'redis-b': self._redis('b').uri,
                 'pg': self._database().uri}
        for name, uri in pools.items():
            options = FAST_FAIL if uri.startswith('redis') else {}
            resp = self.admin().put(f'/v2/pools/{name}', json={
                'uri': uri, 'weight': 1, 'options': options})
            assert resp.status_code == 201, resp.text
        return pools

    def place_of(self, project: str, queue: str) -> str | None:
        with contextlib.closing(psycopg2.connect(
                self.databases[0].uri.replace('+psycopg2', ''))) as conn:
            with conn.cursor() as cursor:
                cursor.execute('SELECT pool FROM catalogue WHERE project = %s '
                               'AND queue = %s', (project, queue))
                row = cursor.fetchone()
        return None if row is None else row[0]

    def places(self, project: str) -> Counter:
        with contextlib.closing(psycopg2.connect(
                self.databases[0].uri.replace('+psycopg2', ''))) as conn:
            with conn.cursor() as cursor:
                cursor.execute('SELECT pool, count(*) FROM catalogue WHERE '
                               'project = %s GROUP BY pool', (project,))
                return Counter(dict(cursor.fetchall()))

    def add_every_kind(self) -> dict[str, str]:
        """One pool of each other kind of store, each serving a flavor of
        its own name (so no unflavored queue lands there): kind -> URI."""
        mysql = MySQLDatabase()
        self.databases.append(mysql)
        cluster = RedisCluster(self.root / 'cluster').start()
        self.redis['cluster'] = cluster
        kinds = {'sqlite': f'sqlite:///{self.root / "pool.sqlite"}',
                 'mysql': mysql.uri, 'cluster': cluster.uri}
        admin = self.admin()
        for kind, uri in kinds.items():
            resp = admin.put(f'/v2/pools/kind-{kind}', json={
                'uri': uri, 'weight': 1, 'flavor': f'kind-{kind}'})
            assert resp.status_code == 201, resp.text
        return kinds

    def stop(self) -> None:
        stop_servers(self.servers)
        for server in self.redis.values():
            server.stop()
        for database in self.databases:
            database.drop()


@pytest.fixture(scope='module')
def deployment(tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[Deployment]:
    deployment = Deployment(tmp_path_factory.mktemp('scale-out'))
    try:
        deployment.start()
        # No pool yet: a new queue has nowhere to go (upstream's 503).
        resp = deployment.client(0, uuid.uuid4().hex).put('/v2/queues/q')
        assert resp.status_code == 503, resp.text
        assert 'no pool without a flavor' in resp.json()['description']
        deployment.pools = deployment.add_pools()
        yield deployment
    finally:
        deployment.stop()


def test_queues_spread_over_pools_and_follow_them(
        deployment: Deployment) -> None:
    pools = deployment.pools
    project = uuid.uuid4().hex
    clients = [deployment.client(n % 2, project) for n in range(THREADS)]

    def create(n: int) -> int:
        return clients[n % THREADS].put(f'/v2/queues/q{n}').status_code

    with futures.ThreadPoolExecutor(THREADS) as executor:
        statuses = Counter(executor.map(create, range(QUEUES)))
    assert statuses == {201: QUEUES}
    placed = deployment.places(project)
    assert set(placed) == set(pools)
    # Equal weights: a third each, within 5% (the draw's sd is 0.7%).
    for count in placed.values():
        assert abs(count - QUEUES / 3) <= 0.05 * QUEUES / 3, placed
    print(f'\n{QUEUES} queues through 2 servers: {dict(placed)}')

    # One queue per pool: written through one process, read through the
    # other.
    first = {pool: next(f'q{n}' for n in range(QUEUES)
                        if deployment.place_of(project, f'q{n}') == pool)
             for pool in pools}
    writer, reader = deployment.client(0, project), \
        deployment.client(1, project)
    for pool, queue in first.items():
        resp = writer.post(f'/v2/queues/{queue}/messages',
                           json={'messages': [{'body': pool}]})
        assert resp.status_code == 201, resp.text
        resp = reader.get(f'/v2/queues/{queue}/messages',
                          params={'echo': 'true'})
        assert [m['body'] for m in resp.json()['messages']] == [pool]
    listed = reader.get('/v2/queues', params={'with_count': 'true'})
    assert listed.json()['count'] == QUEUES

    # A weight set to 0 through one process: the other places nothing
    # there from then on.
    resp = deployment.admin().patch('/v2/pools/redis-a',
                                    json={'weight': 0})
    assert resp.status_code == 200, resp.text
    later = deployment.client(1, project)
    for n in range(60):
        assert later.put(f'/v2/queues/later{n}').status_code == 201
        assert deployment.place_of(project, f'later{n}') != 'redis-a'

    # Pool redis-b stops: its queues answer 503, the others carry on.
    down = deployment.redis['b']
    down.stop()
    try:
        resp = writer.post(f'/v2/queues/{first["redis-b"]}/messages',
                           json={'messages': [{'body': 1}]}, timeout=30)
        assert resp.status_code == 503, resp.text
        for pool in ('redis-a', 'pg'):
            resp = writer.post(f'/v2/queues/{first[pool]}/messages',
                               json={'messages': [{'body': 2}]})
            assert resp.status_code == 201, resp.text
            resp = reader.get(f'/v2/queues/{first[pool]}/stats')
            assert resp.json()['messages']['total'] == 2
    finally:
        down.restart()

    # Back: it serves again (this Redis keeps nothing on disk, so only
    # what is posted from now on is there).
    def posted() -> bool:
        resp = writer.post(f'/v2/queues/{first["redis-b"]}/messages',
                           json={'messages': [{'body': 3}]})
        return resp.status_code == 201

    eventually(posted, 20, 'pool redis-b serving again')
    resp = reader.get(f'/v2/queues/{first["redis-b"]}/messages',
                      params={'echo': 'true'})
    assert [m['body'] for m in resp.json()['messages']] == [3]


def test_notifications_of_a_pooled_queue_are_delivered(
        deployment: Deployment) -> None:
    project = uuid.uuid4().hex
    writer = deployment.client(0, project)
    with Receiver() as hook:
        resp = writer.post('/v2/queues/watched/subscriptions',
                           json={'subscriber': hook.url, 'ttl': 600})
        assert resp.status_code == 201, resp.text
        assert deployment.place_of(project, 'watched') is not None
        resp = deployment.client(1, project).post(
            '/v2/queues/watched/messages',
            json={'messages': [{'body': {'n': 1}}]})
        assert resp.status_code == 201, resp.text
        (got,) = hook.wait_count(1)
        assert got.json()['body'] == {'n': 1}


def test_every_kind_of_store_serves_as_a_pool(
        deployment: Deployment) -> None:
    kinds = deployment.add_every_kind()
    project = 'admin'  # flavors are the project's own: the admin's here
    admin = deployment.admin()
    reader = ApiClient(deployment.servers[1].url, project,
                       extra_headers=ADMIN)
    for kind in kinds:
        flavor = f'kind-{kind}'
        resp = admin.put(f'/v2/flavors/{flavor}',
                         json={'pool_list': [flavor]})
        assert resp.status_code == 201, resp.text
        queue = f'on-{kind}'
        resp = admin.put(f'/v2/queues/{queue}', json={'_flavor': flavor})
        assert resp.status_code == 201, resp.text
        assert deployment.place_of(project, queue) == flavor
        resp = admin.post(f'/v2/queues/{queue}/messages',
                          json={'messages': [{'body': kind},
                                             {'body': 'second'}]})
        assert resp.status_code == 201, resp.text
        resp = reader.post(f'/v2/queues/{queue}/claims',
                           json={'ttl': 60, 'grace': 60},
                           params={'limit': 1})
        assert resp.status_code == 201, resp.text
        (claimed,) = resp.json()['messages']
        assert claimed['body'] == kind
        resp = reader.delete(claimed['href'])
        assert resp.status_code == 204, resp.text
        stats = admin.get(f'/v2/queues/{queue}/stats').json()['messages']
        assert (stats['total'], stats['claimed']) == (1, 0), (kind, stats)
    health = admin.get('/v2/health').json()['pools']
    for kind in kinds:
        assert health[f'kind-{kind}']['storage_reachable'] is True, health
