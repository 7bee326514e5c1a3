"""The key of the message id permutation (:mod:`zaqar_core.storage.ids`),
one per database, in ``settings``.

Readers use the cached key. A post reads the stored key in the statement
that counts the queue's subscriptions, so the ids it hands out are always
the stored key's, even right after the table was emptied under it.
"""

from __future__ import annotations

import sqlalchemy as sa

from zaqar_core.storage import errors
from zaqar_core.storage import ids
from zaqar_plugins.storage.sqlalchemy import engine as txn
from zaqar_plugins.storage.sqlalchemy import tables

NAME = 'message_id_key'

_st = tables.settings

#: The stored key as a scalar subquery (NULL before the first post).
STORED_KEY = sa.select(_st.c.value).where(
    _st.c.name == NAME).scalar_subquery()


def plant(engine: sa.engine.Engine, key: str) -> None:
    """Store ``key`` unless a key is stored already (another process may
    be doing the same: the first one wins)."""
    with txn.write(engine) as conn:
        conn.execute(txn.insert_ignoring_duplicates(
            _st, conn.dialect.name).values(name=NAME, value=key))


def cache_for(engine: sa.engine.Engine) -> ids.KeyCache:
    """A key cache that reads (and if need be creates) the stored key."""
    def load(scope: str) -> str:
        for _ in range(2):
            with txn.read(engine) as conn:
                found = conn.execute(sa.select(STORED_KEY)).scalar()
            if found is not None:
                return found
            plant(engine, cache.cached_key(scope) or ids.new_key())
        raise errors.Unavailable('The message id key could not be stored')

    cache = ids.KeyCache(load)
    return cache
