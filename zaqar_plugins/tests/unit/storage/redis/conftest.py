"""Fixtures for the Redis driver: every test runs once per backend.

``redis`` is a private ``redis-server``, ``redis-cluster`` a private
3-master Redis Cluster (:mod:`zaqar_testing.redis_servers`). Each
backend starts once per test process (per pytest-xdist worker) and is
flushed before each test that asks for ``stores``.

The storage contract (``test_contract.py``) also runs on
``redis-sentinel``, a master and its replica behind three sentinels: it
overrides ``backend`` with ``STORAGE_BACKENDS``. The other tests
here reach into servers (pub/sub clients, databases) in ways a Sentinel
deployment does not share, and its failover has tests of its own
(``test_sentinel.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from zaqar_core.storage.stores import Stores
from zaqar_core.tests.contract.storage import FrozenClock
from zaqar_plugins.storage.redis import records
from zaqar_testing.redis_servers import REDIS_BACKENDS
from zaqar_testing.redis_servers import RedisBackend
from zaqar_testing.redis_servers import RedisFactory
from zaqar_testing.redis_servers import RedisSentinel

from .servers import make_stores


@pytest.fixture(scope='session')
def redis_factory(tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[RedisFactory]:
    factory = RedisFactory(tmp_path_factory.mktemp('redis'))
    try:
        yield factory
    finally:
        factory.stop_all()


@pytest.fixture(scope='session', params=REDIS_BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope='session')
def store_cache(redis_factory: RedisFactory
                ) -> Iterator[dict[str, tuple[RedisBackend, Stores]]]:
    """One server (or cluster) and its stores per backend, kept for the
    whole session.

    Not tied to the ``backend`` parameter: under pytest-xdist a worker may
    switch backends several times, and the servers should survive that.
    """
    cache: dict[str, tuple[RedisBackend, Stores]] = {}
    try:
        yield cache
    finally:
        for _, stores in cache.values():
            stores.close()


def _emptied(backend: str, redis_factory: RedisFactory,
             store_cache: dict[str, tuple[RedisBackend, Stores]]
             ) -> RedisBackend:
    if backend not in store_cache:
        started = redis_factory.create(backend)
        store_cache[backend] = (started, make_stores(started.uri))
    found, _ = store_cache[backend]
    found.flush()
    return found


@pytest.fixture
def redis_backend(backend: str, redis_factory: RedisFactory,
                  store_cache: dict[str, tuple[RedisBackend, Stores]]
                  ) -> RedisBackend:
    """The backend's server or cluster, emptied."""
    return _emptied(backend, redis_factory, store_cache)


@pytest.fixture
def sentinel_backend(redis_factory: RedisFactory,
                     store_cache: dict[str, tuple[RedisBackend, Stores]]
                     ) -> RedisSentinel:
    """The session's Sentinel deployment (the contract's), emptied.

    Never failed over: a test that fails over starts one of its own.
    """
    found = _emptied('redis-sentinel', redis_factory, store_cache)
    assert isinstance(found, RedisSentinel)
    return found


@pytest.fixture
def stores(backend: str, redis_backend: RedisBackend,
           store_cache: dict[str, tuple[RedisBackend, Stores]]) -> Stores:
    """The contract's ``stores``: on the backend's server, emptied."""
    return store_cache[backend][1]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FrozenClock:
    """The contract's ``clock``: the driver reads the time from
    ``records.now`` only."""
    frozen = FrozenClock()
    monkeypatch.setattr(records, 'now', frozen)
    return frozen


@pytest.fixture
def script_calls(stores: Stores, monkeypatch: pytest.MonkeyPatch
                 ) -> list[str]:
    """Names of the Lua scripts the data store runs, in order."""
    calls: list[str] = []
    run = stores.data._scripts.run

    def counted(name: str, *args: Any) -> Any:
        calls.append(name)
        return run(name, *args)

    monkeypatch.setattr(stores.data._scripts, 'run', counted)
    return calls
