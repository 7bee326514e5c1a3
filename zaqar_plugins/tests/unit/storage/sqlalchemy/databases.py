"""Stores on throw-away databases, for the SQL driver's tests."""

from __future__ import annotations

from zaqar_core.storage.stores import Stores
from zaqar_core.tests.contract.storage.processes import conf_for
from zaqar_plugins.storage.sqlalchemy import driver
from zaqar_plugins.storage.sqlalchemy import options as sqlalchemy_stores
from zaqar_plugins.storage.sqlalchemy import tables
from zaqar_testing.databases import Database


def make_stores(uri: str) -> Stores:
    """Both SQL stores on ``uri``."""
    conf = conf_for(uri, (sqlalchemy_stores.MESSAGE_GROUP,
                          sqlalchemy_stores.MANAGEMENT_GROUP))
    return Stores(
        control=driver.ControlDriver(
            conf, conf[sqlalchemy_stores.MANAGEMENT_GROUP]),
        data=driver.DataDriver(conf, conf[sqlalchemy_stores.MESSAGE_GROUP]))


def migrated_stores(database: Database) -> Stores:
    """Stores on ``database``, its schema made by the driver's upgrade()."""
    stores = make_stores(database.uri)
    stores.data.upgrade()
    return stores


def empty(stores: Stores) -> None:
    """Delete every row the stores hold."""
    with stores.data.engine.begin() as conn:
        for table in reversed(tables.metadata.sorted_tables):
            conn.execute(table.delete())


def insert_free_messages(stores: Stores, project: str, queue: str,
                         count: int, at: float) -> None:
    """Add ``count`` free messages in one statement (``post`` inserts row
    by row on MySQL, too slow to fill big queues)."""
    row = {'project': project, 'queue': queue, 'body': '{}', 'ttl': 3600,
           'created': at, 'expires': at + 3600, 'visible_at': at,
           'client_uuid': 'filler', 'claim_id': None, 'claim_expires': 0,
           'claim_count': 0, 'checksum': None}
    with stores.data.engine.begin() as conn:
        conn.execute(tables.messages.insert(), [row] * count)
