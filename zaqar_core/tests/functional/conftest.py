"""Fixtures that run the real server as a separate process.

Each storage backend gets one default server for the whole session; every
test talks to it with a fresh project id, which keeps tests isolated
without restarting anything. Tests that need another configuration ask
``make_server(**sections)``; each distinct configuration starts once per
backend (and per pytest-xdist worker) and runs until the session ends.
PostgreSQL servers of one session share a throw-away database; SQLite
servers each get their own file. The ``redis`` and ``redis-cluster``
backends start one private Redis server or 3-master Redis Cluster per
pool, shared by both stores of all its servers (see
:mod:`zaqar_testing.redis_servers`).

Environment:

* ``ZAQAR_TEST_URL``: test an already running server (e.g. upstream zaqar)
  instead of starting ours. Only the ``external`` backend runs, tests that
  need ``make_server`` are skipped, and tests marked
  ``known_upstream_bug`` are expected to fail.
* ``CI=true``: a backend that cannot be reached fails instead of skipping.
* ``ZAQAR_TEST_PG_DSN``: admin DSN of the PostgreSQL server
  (default ``postgresql://postgres@127.0.0.1:5432/test``).
* ``ZAQAR_TEST_REDIS_SERVER``: the ``redis-server`` binary (default: the
  one on ``PATH``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from zaqar_testing.ci import unavailable
from zaqar_testing.databases import Database
from zaqar_testing.databases import MySQLDatabase
from zaqar_testing.databases import PostgresDatabase
from zaqar_testing.receivers import Receiver
from zaqar_testing.redis_servers import REDIS_BACKENDS
from zaqar_testing.redis_servers import RedisBackend
from zaqar_testing.redis_servers import RedisCluster
from zaqar_testing.redis_servers import RedisServer
from zaqar_testing.zaqar_servers import Sections
from zaqar_testing.zaqar_servers import ZaqarServer
from zaqar_testing.zaqar_servers import merge
from zaqar_testing.zaqar_servers import stop_servers

from .helpers import ApiClient
from .helpers import Server
from .pool_catalog import POOLING
from .pool_catalog import Catalog

EXTERNAL_URL = os.environ.get('ZAQAR_TEST_URL', '').rstrip('/')

BACKENDS = ['external'] if EXTERNAL_URL else [
    'sqlite', 'postgresql', 'mysql', *REDIS_BACKENDS]
#: Backends whose schema ``zaqar-manage db upgrade`` makes before the
#: first server starts (SQLite migrates itself at start).
MIGRATED = ('postgresql', 'mysql')


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        'markers',
        'known_upstream_bug(reason): upstream zaqar is known to get this '
        'wrong (facts 10.1 or found while validating); expected to fail '
        'under ZAQAR_TEST_URL')


def pytest_collection_modifyitems(config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    if not EXTERNAL_URL:
        return
    for item in items:
        marker = item.get_closest_marker('known_upstream_bug')
        if marker is not None:
            reason = marker.args[0] if marker.args else 'upstream bug'
            item.add_marker(pytest.mark.xfail(reason=reason, strict=False))


#: Servers of configurations other than the default kept running per
#: pool (and xdist worker): a test uses a few at once, and all of them
#: kept for the session (hundreds of processes over five backends) ran
#: the machine out of memory. The least recently used stops first; it
#: starts again if asked for.
MAX_LIVE = 8
DEFAULT_KEY = json.dumps({})
#: The servers that session fixtures hand out (``server``, ``ws_server``):
#: never stopped to make room, since those fixtures keep them.
KEPT = {DEFAULT_KEY, json.dumps(['websocket', {}])}


class ServerPool:
    """Servers of one backend, started on demand, one per configuration."""

    def __init__(self, backend: str, root: Path) -> None:
        self.backend = backend
        self.root = root
        self.servers: dict[str, Server] = {}
        self.failures: dict[str, str] = {}
        self.processes: list[ZaqarServer] = []
        self.database: Database | None = None
        self.migrated = False
        self.redis: RedisBackend | None = None

    def get(self, overrides: Sections | None = None) -> Server:
        key = json.dumps(overrides or {}, sort_keys=True, default=str)
        assert overrides or key == DEFAULT_KEY
        return self._get(key, lambda: self._start(overrides or {}))

    def get_websocket(self, overrides: Sections | None = None) -> Server:
        """A WebSocket server beside ``get(overrides)``'s HTTP server, on
        its stores: what one transport changes, the other sees."""
        http_server = self.get(overrides)
        key = json.dumps(['websocket', overrides or {}], sort_keys=True,
                         default=str)
        return self._get(key, lambda: self._start_websocket(http_server))

    def _get(self, key: str, start: Callable[[], Server]) -> Server:
        if key in self.failures:
            pytest.fail(self.failures[key], pytrace=False)
        if self.backend in self.failures:
            # The backend itself is missing: skip (or fail) like the
            # first test did, without trying to start it again.
            unavailable(self.failures[self.backend])
        if key not in self.servers:
            try:
                self.servers[key] = start()
            except pytest.skip.Exception as exc:
                self.failures[self.backend] = exc.msg
                raise
            except pytest.fail.Exception as exc:
                self.failures[key] = str(exc)
                raise
        # Most recently used last (dicts keep insertion order).
        self.servers[key] = self.servers.pop(key)
        others = [k for k in self.servers if k not in KEPT]
        for old in others[:-MAX_LIVE]:
            self.servers.pop(old).process.stop()
        return self.servers[key]

    def _start(self, overrides: Sections) -> Server:
        workdir = self.root / f'server{len(self.processes)}'
        workdir.mkdir(parents=True)
        sections = merge(self._base_sections(workdir), overrides)
        process = ZaqarServer(workdir, sections)
        if self.backend in MIGRATED and not self.migrated:
            self._migrate(process.conf_path, workdir)
        self.processes.append(process)
        return self._serve(process)

    def _start_websocket(self, http_server: Server) -> Server:
        workdir = self.root / f'server{len(self.processes)}'
        workdir.mkdir(parents=True)
        sections = merge(http_server.process.sections, {
            'drivers': {'transport': 'websocket'},
            'drivers:transport:websocket': {'workers': 2},
        })
        process = ZaqarServer(workdir, sections)
        self.processes.append(process)
        return self._serve(process)

    @staticmethod
    def _serve(process: ZaqarServer) -> Server:
        process.start()
        return Server(process.url, process.conf_path, process.log_path,
                      process)

    def _base_sections(self, workdir: Path) -> Sections:
        driver, uri = self._store(workdir)
        store: dict[str, Any] = {'uri': uri}
        if self.backend in MIGRATED:
            # Dozens of servers live at once against one database server
            # of 100 connections or so: each worker keeps one idle
            # connection, and opens more only while busy.
            store['max_pool_size'] = 1
        return {
            'DEFAULT': {'auth_strategy': ''},
            'drivers': {'transport': 'wsgi', 'message_store': driver,
                        'management_store': driver},
            'drivers:transport:wsgi': {'workers': 2},
            f'drivers:message_store:{driver}': store,
            f'drivers:management_store:{driver}': dict(store),
        }

    def _store(self, workdir: Path) -> tuple[str, str]:
        """The stores' driver name and the URI both stores use."""
        if self.backend == 'sqlite':
            # SQLite migrates itself when the server starts.
            return 'sqlalchemy', f'sqlite:///{workdir / "zaqar.sqlite"}'
        if self.backend in MIGRATED:
            if self.database is None:
                self.database = PostgresDatabase() \
                    if self.backend == 'postgresql' else MySQLDatabase()
            return 'sqlalchemy', self.database.uri
        if self.redis is None:
            directory = self.root / 'redis'
            self.redis = RedisServer(directory).start() \
                if self.backend == 'redis' else \
                RedisCluster(directory).start()
        return 'redis', self.redis.uri

    def _migrate(self, conf_path: Path, workdir: Path) -> None:
        result = subprocess.run(
            [sys.executable, '-m', 'zaqar_core.cmd.manage',
             '--config-file', str(conf_path), 'db', 'upgrade'],
            cwd=workdir, capture_output=True, text=True, timeout=120,
            check=False)
        if result.returncode != 0:
            pytest.fail(f'db upgrade failed ({result.returncode}):\n'
                        f'{result.stdout}\n{result.stderr}', pytrace=False)
        self.migrated = True

    def terminate(self) -> None:
        for process in self.processes:
            process.terminate()

    def close(self) -> None:
        stop_servers(self.processes)
        if self.database is not None:
            self.database.drop()
        if self.redis is not None:
            self.redis.stop()


@pytest.fixture(scope='session', params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope='session')
def server_pools(tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[dict[str, ServerPool]]:
    """Every backend's servers, kept until the session ends.

    Not tied to the ``backend`` parameter: under pytest-xdist a worker may
    switch backends several times, and servers should survive that.
    """
    pools: dict[str, ServerPool] = {}
    try:
        yield pools
    finally:
        for pool in pools.values():
            pool.terminate()
        for pool in pools.values():
            pool.close()


@pytest.fixture(scope='session')
def server_pool(backend: str, server_pools: dict[str, ServerPool],
                tmp_path_factory: pytest.TempPathFactory
                ) -> ServerPool | None:
    if backend == 'external':
        return None
    if backend not in server_pools:
        server_pools[backend] = ServerPool(
            backend, tmp_path_factory.mktemp(f'zaqar-{backend}'))
    return server_pools[backend]


@pytest.fixture(scope='session')
def server(backend: str, server_pool: ServerPool | None) -> Server:
    if server_pool is None:
        return Server(EXTERNAL_URL)
    return server_pool.get()


@pytest.fixture
def make_server(backend: str, server_pool: ServerPool | None,
                server_pools: dict[str, ServerPool],
                tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[Callable[..., Server]]:
    """``make_server(transport={'min_message_ttl': 1}, ...)``.

    Keyword names are ini sections; values are option dicts. Sections whose
    names are not identifiers go in with ``**{'oslo_policy': {...}}``.
    ``private_store=True`` gives the server a store no other server uses
    (a database or Redis of its own), for tests that watch the whole store,
    such as garbage collection; it is stopped when the test ends (dozens
    of them kept for the session filled the machine's memory).
    """
    if server_pool is None:
        pytest.skip('needs its own server configuration; ZAQAR_TEST_URL '
                    'points at a fixed server')

    private: list[ServerPool] = []

    def make(private_store: bool = False,
             **sections: dict[str, Any]) -> Server:
        pool = server_pool
        if private_store:
            pool = ServerPool(backend, tmp_path_factory.mktemp(
                f'zaqar-{backend}-private'))
            private.append(pool)
        return pool.get(sections)

    try:
        yield make
    finally:
        for pool in private:
            pool.close()


@pytest.fixture(scope='session')
def ws_server(backend: str, server_pool: ServerPool | None) -> Server:
    """The WebSocket server beside the backend's default HTTP server."""
    if server_pool is None:
        pytest.skip('no WebSocket server beside ZAQAR_TEST_URL')
    return server_pool.get_websocket()


@pytest.fixture
def make_ws_server(backend: str, server_pool: ServerPool | None
                   ) -> Callable[..., Server]:
    """``make_ws_server(**sections)``: the WebSocket server beside
    ``make_server(**sections)``'s HTTP server, on the same stores."""
    if server_pool is None:
        pytest.skip('needs its own server configuration; ZAQAR_TEST_URL '
                    'points at a fixed server')

    def make(**sections: dict[str, Any]) -> Server:
        return server_pool.get_websocket(sections)

    return make


@pytest.fixture
def client(server: Server) -> ApiClient:
    """A client in a project of its own, so tests never see each other."""
    return server.client()


@pytest.fixture
def hook() -> Iterator[Receiver]:
    """A webhook subscriber on loopback, recording what it receives."""
    with Receiver() as receiver:
        yield receiver


# -- pools and flavors (see pool_catalog.py) ---------------------------------


@pytest.fixture(scope='module')
def redis_target(tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[RedisServer]:
    """A Redis server of the module's own, for pools to point at."""
    redis = RedisServer(tmp_path_factory.mktemp('pool-redis')).start()
    yield redis
    redis.stop()


@pytest.fixture
def pooled(make_server: Callable[..., Server]) -> Server:
    """The backend's server with admin_mode and pooling."""
    return make_server(**POOLING)


@pytest.fixture
def catalog(pooled: Server, redis_target: RedisServer,
            tmp_path: Path) -> Iterator[Catalog]:
    """An admin's pools and flavors on ``pooled``, removed afterwards."""
    catalog = Catalog(pooled, redis_target, tmp_path)
    try:
        yield catalog
    finally:
        catalog.cleanup()
