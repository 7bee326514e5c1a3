"""Fixtures for the SQL driver: every test runs once per backend.

Each backend gets one database per test process (per pytest-xdist
worker), migrated with the driver's own ``upgrade()`` and emptied before
each test that asks for ``stores``. See :mod:`.databases` for the
environment variables.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from zaqar_core.storage.stores import Stores
from zaqar_core.tests.contract.storage import FrozenClock
from zaqar_plugins.storage.sqlalchemy import rows
from zaqar_testing.databases import BACKENDS
from zaqar_testing.databases import DatabaseFactory

from .databases import empty
from .databases import migrated_stores


@pytest.fixture(scope='session')
def databases(tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(tmp_path_factory.mktemp('sql'))
    try:
        yield factory
    finally:
        factory.drop_all()


@pytest.fixture(scope='session', params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope='session')
def store_cache(databases: DatabaseFactory) -> Iterator[dict[str, Stores]]:
    """One migrated database per backend, kept for the whole session.

    Not tied to the ``backend`` parameter: under pytest-xdist a worker may
    switch backends several times, and the databases should survive that.
    """
    cache: dict[str, Stores] = {}
    try:
        yield cache
    finally:
        for stores in cache.values():
            stores.close()


@pytest.fixture
def stores(backend: str, databases: DatabaseFactory,
           store_cache: dict[str, Stores]) -> Stores:
    """The contract's ``stores``: the backend's database, emptied."""
    if backend not in store_cache:
        store_cache[backend] = migrated_stores(databases.create(backend))
    found = store_cache[backend]
    empty(found)
    return found


@pytest.fixture
def fresh_stores(backend: str, databases: DatabaseFactory
                 ) -> Iterator[Stores]:
    """Stores on a database of their own, dropped after the test (for
    tests that fill big tables or read planner statistics)."""
    database = databases.create(backend)
    stores = migrated_stores(database)
    try:
        yield stores
    finally:
        stores.close()
        database.drop()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FrozenClock:
    """The contract's ``clock``: every time the driver reads comes from
    ``rows.now`` (``test_driver`` checks that no other source exists)."""
    frozen = FrozenClock()
    monkeypatch.setattr(rows, 'now', frozen)
    return frozen
