"""The claim selection query (``messages.SELECT_FREE``) finds a queue's
head through the queue index, whatever else the table holds."""

from __future__ import annotations

import time

import pytest

from zaqar_core.storage.stores import Stores
from zaqar_plugins.storage.sqlalchemy import messages

from .databases import insert_free_messages

INDEX = 'ix_messages_queue_id'

# Layout name -> (messages in five other queues, posted first; messages in
# the queue claimed from, posted after them).
LAYOUTS = {
    'shared-table': (20000, 20000),
    # Most of the table is one queue, behind an older backlog of others.
    'dominant-queue': (2000, 8000),
}


def explain(stores: Stores) -> str:
    """The plan of the claim query for ``p/target``."""
    engine = stores.data.engine
    query = messages.SELECT_FREE.params(project='p', queue='target',
                                        at=time.time(), limit=10)
    sql = str(query.compile(dialect=engine.dialect,
                            compile_kwargs={'literal_binds': True}))
    with engine.begin() as conn:
        name = conn.dialect.name
        if name == 'postgresql':
            conn.exec_driver_sql('ANALYZE messages')
            lines = conn.exec_driver_sql('EXPLAIN ' + sql).scalars()
        elif name == 'sqlite':
            lines = [row.detail for row in
                     conn.exec_driver_sql('EXPLAIN QUERY PLAN ' + sql)]
        else:
            conn.exec_driver_sql('ANALYZE TABLE messages')
            lines = [f'key={row.key} extra={row.Extra}' for row in
                     conn.exec_driver_sql('EXPLAIN ' + sql)]
        return '\n'.join(lines)


@pytest.mark.parametrize('layout', LAYOUTS)
def test_claim_query_reads_the_queue_index(
        fresh_stores: Stores, layout: str) -> None:
    others, target = LAYOUTS[layout]
    at = time.time()
    for n in range(5):
        insert_free_messages(fresh_stores, 'p', f'other{n}', others // 5, at)
    insert_free_messages(fresh_stores, 'p', 'target', target, at)
    insert_free_messages(fresh_stores, 'p2', 'target', 1000, at)
    plan = explain(fresh_stores)
    assert INDEX in plan, plan
    # No pass over the whole table, and no sort: the index gives id order.
    for unwanted in ('Seq Scan', 'SCAN messages', 'Sort', 'TEMP B-TREE',
                     'filesort', 'messages_pkey', 'key=PRIMARY'):
        assert unwanted not in plan, plan
