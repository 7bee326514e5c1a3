"""Revision 0005 (pooling) on a database an older release filled, on every
backend; the schema's constraints hold without the controllers."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from oslo_db import exception as db_exc

from zaqar_core.storage import pools as pooling
from zaqar_plugins.storage.sqlalchemy import pools
from zaqar_plugins.storage.sqlalchemy import tables

from .databases import make_stores


def test_upgrading_a_filled_0004_schema_adds_pooling(backend: str,
                                                     databases) -> None:
    database = databases.create(backend)
    stores = make_stores(database.uri)
    try:
        stores.data.upgrade('0004')
        with stores.data.engine.begin() as conn:
            conn.execute(tables.queues.insert().values(
                project='p', name='q', metadata='{"a": 1}'))
            assert not sa.inspect(conn).has_table('pools')
        stores.data.upgrade()
        assert stores.data.schema_version() == stores.data.schema_head()
        assert stores.queues.get_metadata('p', 'q') == {'a': 1}
        engine = stores.control.engine
        pool_controller = pools.PoolController(engine)
        catalogue = pools.CatalogueController(engine)
        big = pooling.Pool('p' * 64, 'redis://' + 'h' * 247, 2**32 - 1,
                           'f' * 64, {'ü': [1]})
        assert pool_controller.put(big)
        assert pool_controller.get(big.name) == big
        assert catalogue.place('x' * 256 + '\x1ftopics', 'q' * 64,
                               big.name) == big.name
    finally:
        stores.close()
        database.drop()


def test_the_schema_refuses_what_the_controllers_never_write(
        backend: str, stores) -> None:
    engine = stores.control.engine
    pools.PoolController(engine).put(pooling.Pool('alpha', 'redis://a', 1))
    pools.CatalogueController(engine).place('p', 'q', 'alpha')
    if backend != 'sqlite':
        # SQLite enforces no foreign keys here: its writers run one at a
        # time and the controllers check (the contract tests prove it).
        with pytest.raises(db_exc.DBReferenceError), engine.begin() as conn:
            conn.execute(tables.pools.delete())
        with pytest.raises(db_exc.DBReferenceError), engine.begin() as conn:
            conn.execute(tables.catalogue.insert().values(
                project='p', queue='r', pool='missing'))
    with pytest.raises(db_exc.DBDuplicateEntry), engine.begin() as conn:
        conn.execute(tables.pools.insert().values(
            name='bravo', uri='redis://a', uri_key=pools._uri_key('redis://a'),
            weight=1, options='{}'))
