"""Pools, flavors and the queue catalogue on SQL.

A flavor's pools are the pool rows whose ``flavor`` column names it; the
``flavors`` table only records who owns each name.

Writers lock the pool rows they depend on: ``FOR UPDATE`` to change or
delete a pool (or retag it), ``FOR SHARE`` to map a queue to it. So a
pool delete and a placement onto that pool run one after the other, and
the later one sees what the earlier did; the catalogue's foreign key (ON
DELETE RESTRICT) backs this up on PostgreSQL and MySQL. SQLite runs one
writer at a time (:func:`~.engine.write`), so there the checks suffice.
A unique-key clash with a concurrent writer reruns the transaction
(``retry_on_deadlock``), and the rerun sees the winner.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from oslo_db import exception as db_exc

from zaqar_core.storage import pools as pooling
from zaqar_plugins.storage.sqlalchemy import engine as txn
from zaqar_plugins.storage.sqlalchemy import tables

_p = tables.pools
_f = tables.flavors
_c = tables.catalogue


def _uri_key(uri: str) -> str:
    return hashlib.sha256(uri.encode()).hexdigest()


def _to_pool(row: sa.Row) -> pooling.Pool:
    return pooling.Pool(name=row.name, uri=row.uri, weight=int(row.weight),
                      flavor=row.flavor, options=json.loads(row.options))


def _raced(what: str) -> txn.Deadlock:
    """The error that makes ``retry_on_deadlock`` run the transaction
    again, with a fresh snapshot."""
    return txn.Deadlock(f'{what} changed concurrently; retrying')


def _lock_pool(conn: sa.engine.Connection, name: str,
               shared: bool = False) -> bool:
    """Lock the row of pool ``name`` until the transaction ends; whether
    it exists."""
    return conn.execute(sa.select(_p.c.name).where(
        _p.c.name == name).with_for_update(read=shared)
    ).scalar_one_or_none() is not None


def _queues_of(conn: sa.engine.Connection, pool: str) -> int:
    return conn.execute(sa.select(sa.func.count()).select_from(_c).where(
        _c.c.pool == pool)).scalar_one()


class PoolController(pooling.PoolControllerBase):
    def __init__(self, engine: sa.engine.Engine) -> None:
        self._engine = engine

    def get(self, name: str) -> pooling.Pool | None:
        with txn.read(self._engine) as conn:
            row = conn.execute(sa.select(_p).where(
                _p.c.name == name)).one_or_none()
        return None if row is None else _to_pool(row)

    def list(self, marker: str | None = None,
             limit: int = 10) -> list[pooling.Pool]:
        query = sa.select(_p)
        if marker is not None:
            query = query.where(_p.c.name > marker)
        query = query.order_by(_p.c.name).limit(limit)
        with txn.read(self._engine) as conn:
            return [_to_pool(row) for row in conn.execute(query)]

    @txn.retry_on_deadlock
    def write(self, name: str, create: bool, fields: dict[str, Any]
              ) -> tuple[bool, pooling.Pool | None]:
        """Set ``fields`` of pool ``name``, creating it if ``create``.

        Returns:
            ``(created, the pool as it now is)``; ``(False, None)`` when
            it does not exist and ``create`` is false.
        """
        values = dict(fields)
        if 'uri' in values:
            values['uri_key'] = _uri_key(values['uri'])
        if 'flavor' in values:
            values['flavor'] = values['flavor'] or None
        if 'weight' in values:
            values['weight'] = int(values['weight'])
        if 'options' in values:
            values['options'] = json.dumps(values['options'])
        try:
            with txn.write(self._engine) as conn:
                current = conn.execute(sa.select(_p.c.uri).where(
                    _p.c.name == name).with_for_update()).one_or_none()
                if current is None and not create:
                    return False, None
                if 'uri' in values:
                    self._check_uri(conn, name, values,
                                    None if current is None
                                    else current.uri)
                if current is None:
                    conn.execute(_p.insert().values(name=name, **values))
                elif values:
                    conn.execute(_p.update().where(
                        _p.c.name == name).values(**values))
                row = conn.execute(sa.select(_p).where(
                    _p.c.name == name)).one()
        except db_exc.DBDuplicateEntry:
            # A concurrent put took the name or the URI: the rerun sees
            # which.
            raise _raced(f'pool {name}') from None
        return current is None, _to_pool(row)

    @staticmethod
    def _check_uri(conn: sa.engine.Connection, name: str,
                   values: dict[str, Any], old_uri: str | None) -> None:
        other = conn.execute(sa.select(_p.c.name).where(
            _p.c.uri_key == values['uri_key'], _p.c.name != name)
        ).scalar_one_or_none()
        if other is not None:
            raise pooling.DuplicateUri(values['uri'], other)
        if old_uri is not None and old_uri != values['uri']:
            queues = _queues_of(conn, name)
            if queues:
                raise pooling.PoolInUse(name, queues)

    @txn.retry_on_deadlock
    def delete(self, name: str) -> bool:
        try:
            with txn.write(self._engine) as conn:
                if not _lock_pool(conn, name):
                    return False
                queues = _queues_of(conn, name)
                if queues:
                    raise pooling.PoolInUse(name, queues)
                conn.execute(_p.delete().where(_p.c.name == name))
        except db_exc.DBReferenceError:
            # The lock keeps placements out; the key is the backstop.
            raise _raced(f'pool {name}') from None
        return True

    def with_flavor(self, flavor: str | None) -> list[pooling.Pool]:
        tagged = (_p.c.flavor.is_(None) if not flavor
                  else _p.c.flavor == flavor)
        with txn.read(self._engine) as conn:
            return [_to_pool(row) for row in conn.execute(
                sa.select(_p).where(tagged).order_by(_p.c.name))]


class FlavorController(pooling.FlavorControllerBase):
    def __init__(self, engine: sa.engine.Engine) -> None:
        self._engine = engine

    def get(self, project: str, name: str) -> pooling.Flavor | None:
        found = self._read(project, _f.c.name == name)
        return found[0] if found else None

    def list(self, project: str, marker: str | None = None,
             limit: int = 10) -> list[pooling.Flavor]:
        after = sa.true() if marker is None else _f.c.name > marker
        return self._read(project, after, limit)

    @txn.retry_on_deadlock
    def delete(self, project: str, name: str) -> bool:
        with txn.write(self._engine) as conn:
            owned = conn.execute(sa.select(_f.c.name).where(
                _f.c.name == name, _f.c.project == project
            ).with_for_update()).scalar_one_or_none()
            if owned is None:
                return False
            conn.execute(_p.update().where(_p.c.flavor == name).values(
                flavor=None))
            conn.execute(_f.delete().where(_f.c.name == name))
        return True

    def _read(self, project: str, which: sa.ColumnElement[bool],
              limit: int | None = None) -> list[pooling.Flavor]:
        query = sa.select(_f.c.name).where(
            _f.c.project == project, which).order_by(_f.c.name)
        if limit is not None:
            query = query.limit(limit)
        with txn.read(self._engine) as conn:
            names = conn.execute(query).scalars().all()
            members: dict[str, list[str]] = {name: [] for name in names}
            if names:
                for pool, flavor in conn.execute(
                        sa.select(_p.c.name, _p.c.flavor).where(
                            _p.c.flavor.in_(names))):
                    members[flavor].append(pool)
        return [pooling.Flavor(name, project, tuple(sorted(members[name])))
                for name in names]

    @txn.retry_on_deadlock
    def write(self, project: str, name: str, members: Sequence[str],
              create: bool) -> tuple[bool, pooling.Flavor | None]:
        """Make ``members`` the pools of flavor ``name``.

        Returns:
            ``(created, the flavor)``; ``(False, None)`` when it does not
            exist (or is another project's) and ``create`` is false.
        """
        wanted = sorted(set(members))
        try:
            with txn.write(self._engine) as conn:
                owner = conn.execute(sa.select(_f.c.project).where(
                    _f.c.name == name).with_for_update()
                ).scalar_one_or_none()
                if not create and owner != project:
                    return False, None
                if owner not in (None, project):
                    raise pooling.FlavorTaken(name)
                found = set(conn.execute(sa.select(_p.c.name).where(
                    _p.c.name.in_(wanted)).with_for_update()).scalars())
                missing = set(wanted) - found
                if missing:
                    raise pooling.PoolNotFound(missing)
                if owner is None:
                    conn.execute(_f.insert().values(name=name,
                                                    project=project))
                conn.execute(_p.update().where(
                    _p.c.flavor == name, _p.c.name.not_in(wanted)).values(
                    flavor=None))
                if wanted:
                    conn.execute(_p.update().where(
                        _p.c.name.in_(wanted)).values(flavor=name))
        except db_exc.DBDuplicateEntry:
            # Another project's put took the name meanwhile.
            raise _raced(f'flavor {name}') from None
        return owner is None, pooling.Flavor(name, project, tuple(wanted))


class CatalogueController(pooling.CatalogueControllerBase):
    def __init__(self, engine: sa.engine.Engine) -> None:
        self._engine = engine

    @staticmethod
    def _of(project: str, queue: str) -> sa.ColumnElement[bool]:
        return sa.and_(_c.c.project == project, _c.c.queue == queue)

    @txn.retry_on_deadlock
    def place(self, project: str, queue: str, pool: str) -> str:
        mapped = sa.select(_c.c.pool).where(self._of(project, queue))
        try:
            with txn.write(self._engine) as conn:
                existing = conn.execute(mapped).scalar_one_or_none()
                if existing is not None:
                    return existing
                if not _lock_pool(conn, pool, shared=True):
                    raise pooling.PoolNotFound(pool)
                inserted = conn.execute(txn.insert_ignoring_duplicates(
                    _c, conn.dialect.name).values(
                    project=project, queue=queue, pool=pool)).rowcount
                if inserted:
                    return pool
                # A concurrent place won; a locking read sees its row
                # even behind MySQL's REPEATABLE READ snapshot.
                winner = conn.execute(mapped.with_for_update(read=True)
                                      ).scalar_one_or_none()
                if winner is None:
                    raise _raced(f'queue {queue}')
                return winner
        except db_exc.DBReferenceError:
            raise _raced(f'pool {pool}') from None

    def lookup(self, project: str, queue: str) -> str | None:
        with txn.read(self._engine) as conn:
            return conn.execute(sa.select(_c.c.pool).where(
                self._of(project, queue))).scalar_one_or_none()

    @txn.retry_on_deadlock
    def move(self, project: str, queue: str, from_pool: str,
             to_pool: str) -> bool:
        try:
            with txn.write(self._engine) as conn:
                if not _lock_pool(conn, to_pool, shared=True):
                    raise pooling.PoolNotFound(to_pool)
                # Matched rows (FOUND_ROWS on MySQL): a move onto the same
                # pool succeeds.
                return conn.execute(_c.update().where(
                    self._of(project, queue),
                    _c.c.pool == from_pool).values(pool=to_pool)
                ).rowcount == 1
        except db_exc.DBReferenceError:
            raise _raced(f'pool {to_pool}') from None

    @txn.retry_on_deadlock
    def remove(self, project: str, queue: str) -> None:
        with txn.write(self._engine) as conn:
            conn.execute(_c.delete().where(self._of(project, queue)))

    def count(self, pool: str) -> int:
        with txn.read(self._engine) as conn:
            return _queues_of(conn, pool)

    def placed(self, pool: str, marker: tuple[str, str] | None = None,
               limit: int = 100) -> list[tuple[str, str]]:
        query = sa.select(_c.c.project, _c.c.queue).where(
            _c.c.pool == pool)
        if marker is not None:
            query = query.where(sa.tuple_(_c.c.project, _c.c.queue) >
                                sa.tuple_(*marker))
        query = query.order_by(_c.c.project, _c.c.queue).limit(limit)
        with txn.read(self._engine) as conn:
            return [(row.project, row.queue)
                    for row in conn.execute(query)]
