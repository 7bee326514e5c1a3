"""The alembic migrations build exactly the schema that ``tables.py``
describes, on every backend."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import autogenerate
from alembic import migration as alembic_migration

from zaqar_core.storage.stores import Stores
from zaqar_plugins.storage.sqlalchemy import tables


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
