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
:mod:`zaqar_core.tests.redis_servers`).

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

import configparser
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

import pytest
import requests

from zaqar_core.tests.databases import PostgresDatabase
from zaqar_core.tests.databases import unavailable
from zaqar_core.tests.redis_servers import REDIS_BACKENDS
from zaqar_core.tests.redis_servers import RedisBackend
from zaqar_core.tests.redis_servers import RedisCluster
from zaqar_core.tests.redis_servers import RedisServer

from .helpers import ApiClient
from .helpers import Server
from .helpers import free_port

if TYPE_CHECKING:
    from .own_servers import Process

EXTERNAL_URL = os.environ.get('ZAQAR_TEST_URL', '').rstrip('/')

BACKENDS = ['external'] if EXTERNAL_URL else [
    'sqlite', 'postgresql', *REDIS_BACKENDS]
STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0

# section -> option -> value, as written to the ini file.
Sections = dict[str, dict[str, Any]]


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


class ServerProcess:
    """One ``zaqar_core.cmd.server`` process and its files; it serves
    HTTP, or WebSocket when ``[drivers] transport = websocket``."""

    def __init__(self, workdir: Path, sections: Sections) -> None:
        self.workdir = workdir
        self.sections = sections
        self.conf_path = workdir / 'zaqar.conf'
        self.log_path = workdir / 'server.log'
        self.proc: subprocess.Popen | None = None
        self.terminated = False
        self.url = ''
        self.websocket = \
            sections.get('drivers', {}).get('transport') == 'websocket'
        self._configure(free_port())

    def _configure(self, port: int) -> None:
        if self.websocket:
            # Answers plain HTTP too (426), which tells that it is up.
            self.url = f'ws://127.0.0.1:{port}'
            self.probe_url = f'http://127.0.0.1:{port}/'
            group = 'drivers:transport:websocket'
        else:
            self.url = self.probe_url = f'http://127.0.0.1:{port}'
            group = 'drivers:transport:wsgi'
        write_config(self.conf_path, _merge(self.sections, {
            group: {'bind': '127.0.0.1', 'port': port},
        }))

    def start(self, attempts: int = 3) -> Server:
        for attempt in range(1, attempts + 1):
            self.terminated = False
            with open(self.log_path, 'ab') as log:
                # Own process group, so teardown reaches the workers too.
                self.proc = subprocess.Popen(
                    [sys.executable, '-m', 'zaqar_core.cmd.server',
                     '--config-file', str(self.conf_path)],
                    stdout=log, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL, cwd=self.workdir,
                    start_new_session=True)
            problem = self._wait_ready()
            if problem is None:
                return Server(self.url, self.conf_path, self.log_path,
                              self)
            self.stop()
            # Retry only when another test process took the port meanwhile.
            if 'in use' not in tail(self.log_path, 2000).lower() or \
                    attempt == attempts:
                break
            self._configure(free_port())
        pytest.fail(f'{problem}; config {self.conf_path}\n--- server '
                    f'output ---\n{tail(self.log_path)}', pytrace=False)

    def _wait_ready(self) -> str | None:
        """None once the server answers ``GET /``, else what went wrong."""
        assert self.proc is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return f'server exited with {self.proc.returncode}'
            try:
                requests.get(self.probe_url, timeout=1)
            except requests.RequestException:
                time.sleep(0.1)
                continue
            # Still alive a moment later: the answer was not from some
            # other process that holds the port while ours failed to bind.
            time.sleep(0.3)
            if self.proc.poll() is not None:
                return f'server exited with {self.proc.returncode}'
            return None
        return f'server not answering after {STARTUP_TIMEOUT:.0f} s'

    def kill(self) -> None:
        """Kill the server and its workers at once, as a crash would."""
        proc = self.proc
        if proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(STOP_TIMEOUT)

    def terminate(self) -> None:
        """Ask the server to shut down, without waiting for it."""
        proc = self.proc
        if proc is not None and proc.poll() is None and \
                not self.terminated:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            self.terminated = True

    def stop(self) -> None:
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            self.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(STOP_TIMEOUT)
        # Whatever is left of our process group (workers included).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(STOP_TIMEOUT)


def tail(path: Path, limit: int = 20000) -> str:
    try:
        return path.read_text(errors='replace')[-limit:]
    except OSError as exc:
        return f'(no output: {exc})'


def write_config(path: Path, sections: Sections) -> None:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keep option names as written
    for section, options in sections.items():
        if section != 'DEFAULT':
            parser.add_section(section)
        for key, value in options.items():
            parser.set(section, key, _ini_value(value))
    with open(path, 'w') as fh:
        parser.write(fh)


def _ini_value(value: Any) -> str:
    if isinstance(value, bool):
        return 'True' if value else 'False'
    if isinstance(value, (list, tuple)):
        return ','.join(str(v) for v in value)
    return '' if value is None else str(value)


def _merge(base: Sections, extra: Sections) -> Sections:
    merged = {name: dict(opts) for name, opts in base.items()}
    for name, opts in extra.items():
        merged.setdefault(name, {}).update(opts)
    return merged


class ServerPool:
    """Servers of one backend, started on demand, one per configuration."""

    def __init__(self, backend: str, root: Path) -> None:
        self.backend = backend
        self.root = root
        self.servers: dict[str, Server] = {}
        self.failures: dict[str, str] = {}
        self.processes: list[ServerProcess] = []
        self.database: PostgresDatabase | None = None
        self.migrated = False
        self.redis: RedisBackend | None = None

    def get(self, overrides: Sections | None = None) -> Server:
        key = json.dumps(overrides or {}, sort_keys=True, default=str)
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
        return self.servers[key]

    def _start(self, overrides: Sections) -> Server:
        workdir = self.root / f'server{len(self.processes)}'
        workdir.mkdir(parents=True)
        sections = _merge(self._base_sections(workdir), overrides)
        process = ServerProcess(workdir, sections)
        if self.backend == 'postgresql' and not self.migrated:
            self._migrate(process.conf_path, workdir)
        self.processes.append(process)
        return process.start()

    def _start_websocket(self, http_server: Server) -> Server:
        workdir = self.root / f'server{len(self.processes)}'
        workdir.mkdir(parents=True)
        sections = _merge(http_server.process.sections, {
            'drivers': {'transport': 'websocket'},
            'drivers:transport:websocket': {'workers': 2},
        })
        process = ServerProcess(workdir, sections)
        self.processes.append(process)
        return process.start()

    def _base_sections(self, workdir: Path) -> Sections:
        driver, uri = self._store(workdir)
        store: dict[str, Any] = {'uri': uri}
        if self.backend == 'postgresql':
            # Dozens of servers live at once against one PostgreSQL of 100
            # connections: each worker keeps one idle connection, and opens
            # more only while busy.
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
        if self.backend == 'postgresql':
            if self.database is None:
                self.database = PostgresDatabase()
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
        # All shut down at once: each takes a few seconds.
        self.terminate()
        for process in self.processes:
            process.stop()
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
                ) -> Callable[..., Server]:
    """``make_server(transport={'min_message_ttl': 1}, ...)``.

    Keyword names are ini sections; values are option dicts. Sections whose
    names are not identifiers go in with ``**{'oslo_policy': {...}}``.
    ``private_store=True`` gives the server a store no other server uses
    (a database or Redis of its own), for tests that watch the whole store,
    such as garbage collection.
    """
    if server_pool is None:
        pytest.skip('needs its own server configuration; ZAQAR_TEST_URL '
                    'points at a fixed server')

    def make(private_store: bool = False,
             **sections: dict[str, Any]) -> Server:
        pool = server_pool
        if private_store:
            name = f'{backend}-private-{len(server_pools)}'
            pool = server_pools[name] = ServerPool(
                backend, tmp_path_factory.mktemp(f'zaqar-{name}'))
        return pool.get(sections)

    return make


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
def processes() -> Iterator[list[Process]]:
    """Server processes a test starts itself (:mod:`.own_servers`); killed
    at its end."""
    started: list[Process] = []
    yield started
    for process in started:
        process.kill()


@pytest.fixture
def client(server: Server) -> ApiClient:
    """A client in a project of its own, so tests never see each other."""
    return server.client()
