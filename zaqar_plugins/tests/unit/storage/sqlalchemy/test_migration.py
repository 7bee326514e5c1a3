"""The alembic migrations build exactly the schema that ``tables.py``
describes, on every backend."""

from __future__ import annotations

import time

import sqlalchemy as sa
from alembic import autogenerate
from alembic import migration as alembic_migration

from zaqar_core.storage.stores import Stores
from zaqar_plugins.storage.sqlalchemy import tables

from .databases import make_stores


def differences(stores: Stores, metadata: sa.MetaData) -> list:
    with stores.data.engine.connect() as conn:
        context = alembic_migration.MigrationContext.configure(
            conn, opts={'compare_type': True,
                        'compare_server_default': True})
        return autogenerate.compare_metadata(context, metadata)


def test_migrations_match_the_models(stores: Stores) -> None:
    assert differences(stores, tables.metadata) == []


def test_the_comparison_sees_a_missing_index(stores: Stores) -> None:
    # Guards the test above against comparing nothing at all.
    models = sa.MetaData()
    for table in tables.metadata.tables.values():
        table.to_metadata(models)
    sa.Index('ix_extra', models.tables['claims'].c.queue)
    assert [d[0] for d in differences(stores, models)] == ['add_index']


def test_upgrade_at_head_changes_nothing(stores: Stores) -> None:
    stores.data.upgrade()
    assert stores.data.schema_version() == stores.data.schema_head()
    assert differences(stores, tables.metadata) == []


def test_upgrading_a_filled_0001_schema_keeps_data_and_ids(
        backend: str, databases) -> None:
    """0002 widens the project columns (SQLite copies its tables for it):
    rows survive, and a deleted message's id is never handed out again."""
    database = databases.create(backend)
    stores = make_stores(database.uri)
    try:
        stores.data.upgrade('0001')
        # Rows as release 0001 wrote them (its code is gone).
        at = time.time()
        m = tables.messages
        with stores.data.engine.begin() as conn:
            conn.execute(tables.queues.insert().values(
                project='p', name='q', metadata='{"a": 1}'))
            ids = [conn.execute(m.insert().values(
                project='p', queue='q', body=str(n), ttl=600, created=at,
                expires=at + 600, visible_at=at, client_uuid='client',
                claim_expires=0, claim_count=0)).inserted_primary_key[0]
                for n in range(3)]
            conn.execute(m.delete().where(m.c.id == ids[-1]))
        stores.data.upgrade()
        assert stores.data.schema_version() == stores.data.schema_head()
        assert stores.queues.get_metadata('p', 'q') == {'a': 1}
        found, _ = stores.messages.list('p', 'q', echo=True)
        assert [m['body'] for m in found] == [0, 1]
        (new_id,) = stores.messages.post(
            'p', 'q', [{'body': 3, 'ttl': 600, 'delay': 0}], 'client')
        # Ids are opaque now; the number behind them still grows.
        assert stores.data.message_controller._keys.encoder().decode(
            new_id) > ids[-1]
        long_project = 'p' * 256 + '\x1ftopics'
        assert stores.queues.create(long_project, 'q')
    finally:
        stores.close()
        database.drop()
