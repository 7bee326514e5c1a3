"""Reader of upstream Zaqar's SQL management store (``sqlalchemy`` in
upstream's ``[drivers] management_store``): SQLite, MySQL or PostgreSQL.

Upstream's schema has alembic revisions 001 to 007. 001 made ``Queues``
(``id``, ``project``, ``name``, ``metadata``: JSON in a blob),
``PoolGroup`` (``name``), ``Pools`` (``name``, ``group``, ``uri``,
``weight``, ``options``: JSON text), ``Flavors`` (``name``, ``project``,
``pool_group``, ``capabilities``: JSON text) and ``Catalogue`` (``pool``,
``project``, ``queue``); 002 to 005 change nothing; 006 adds
``Pools.flavor``; 007 drops the pool groups. Most deployments sit at 005:
upstream's own 006 is MySQL syntax and fails on SQLite and PostgreSQL.
So the columns read are those the database has, reflected, not those of
one revision.

The store is only read: a SQLite file is opened read-only, and a path
that does not exist is refused rather than created.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sqlite3
from collections.abc import Iterator
from typing import Any
from urllib.request import pathname2url

import sqlalchemy as sa

from zaqar_core import uris
from zaqar_core.importing.sources import ManagementSource
from zaqar_core.importing.sources import SourceError
from zaqar_core.importing.sources import UpstreamFlavor
from zaqar_core.importing.sources import UpstreamPool
from zaqar_core.importing.sources import UpstreamQueue
from zaqar_plugins.storage.sqlalchemy.engine import usable_url

#: The alembic revisions upstream's schema has had.
REVISIONS = ('001', '002', '003', '004', '005', '006', '007')
VERSION_TABLE = 'alembic_version'
#: The tables of every revision, and the columns read from each.
COLUMNS = {
    'Queues': ('id', 'project', 'name', 'metadata'),
    'Pools': ('name', 'uri', 'weight', 'options'),
    'Flavors': ('name', 'project', 'capabilities'),
    'Catalogue': ('pool', 'project', 'queue'),
}
#: Columns read when the revision has them.
OPTIONAL_COLUMNS = {'Pools': ('flavor',)}
#: Queues whose metadata one query reads.
CHUNK = 500
CONNECT_TIMEOUT = 10


@dataclasses.dataclass(frozen=True)
class _Table:
    """One of upstream's tables: the columns read from it, by their names
    here (lower case), as the database spells them."""

    columns: dict[str, sa.ColumnClause]


class SqlManagement(ManagementSource):
    """Upstream's SQL management store: queues (with their metadata),
    pools, flavors and the catalogue. Constructed as ``Cls(uri)``, with
    upstream's ``[drivers:management_store:sqlalchemy] uri``; it connects
    and reads the schema at once (:class:`SourceError` if it cannot, or
    if the schema is not upstream's)."""

    default_uri = 'sqlite:///:memory:'

    @classmethod
    def serves(cls, uri: str) -> bool:
        scheme = uri.partition(':')[0].lower().partition('+')[0]
        return scheme in ('sqlite', 'mysql', 'postgresql', 'postgres')

    def __init__(self, uri: str) -> None:
        super().__init__(uri)
        self._shown = uris.redacted(uri)
        self._engine = _engine(uri, self._shown)
        try:
            self.revision, self._tables = self._reflect()
        except BaseException:
            self._engine.dispose()
            raise

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sa.exc.DBAPIError as exc:
            detail = str(exc.orig).strip().splitlines()[0] if \
                str(exc.orig).strip() else type(exc.orig).__name__
            raise SourceError(f'Cannot read the upstream database '
                              f'{self._shown}: {detail}') from None
        except sa.exc.SQLAlchemyError as exc:
            raise SourceError(f'Cannot read the upstream database '
                              f'{self._shown}: {exc}') from None

    def _reflect(self) -> tuple[str | None, dict[str, _Table]]:
        """The schema's revision (None if no version table) and upstream's
        tables with the columns read from them."""
        with self._errors(), self._engine.connect() as conn:
            inspector = sa.inspect(conn)
            names = inspector.get_table_names()
            revision = _revision(conn, names, self._shown)
            found = {wanted: _named(wanted, names) for wanted in COLUMNS}
            if not any(found.values()):
                raise SourceError(
                    f'{self._shown} holds none of upstream Zaqar\'s '
                    f'management tables ({", ".join(COLUMNS)}): is it '
                    f'upstream\'s management store, and did '
                    f'zaqar-sql-db-manage upgrade run?')
            missing = [wanted for wanted, name in found.items() if not name]
            if missing:
                raise SourceError(
                    f'{self._shown} is not in a layout of upstream Zaqar '
                    f'(revision {revision or "unknown"}): it lacks '
                    f'{", ".join(missing)}')
            tables = {}
            for wanted, name in found.items():
                assert name is not None
                held = {column['name'].lower(): column['name']
                        for column in inspector.get_columns(name)}
                lacking = [c for c in COLUMNS[wanted] if c not in held]
                if lacking:
                    raise SourceError(
                        f'{self._shown} is not in a layout of upstream '
                        f'Zaqar (revision {revision or "unknown"}): '
                        f'{name} lacks {", ".join(lacking)}')
                read = [*COLUMNS[wanted],
                        *(c for c in OPTIONAL_COLUMNS.get(wanted, ())
                          if c in held)]
                # Untyped columns: values come as the DBAPI gives them.
                clause = sa.table(name, *(sa.column(held[c]) for c in read))
                tables[wanted] = _Table({c: clause.c[held[c]] for c in read})
        return revision, tables

    def _select(self, table: str, *columns: str,
                where: sa.ColumnElement[bool] | None = None
                ) -> list[sa.Row]:
        """Rows of ``columns`` (labelled so whatever their case)."""
        found = self._tables[table].columns
        statement = sa.select(*(found[c].label(c) for c in columns))
        if where is not None:
            statement = statement.where(where)
        with self._errors(), self._engine.connect() as conn:
            return list(conn.execute(statement))

    def _has(self, table: str, column: str) -> bool:
        return column in self._tables[table].columns

    def queues(self) -> Iterator[UpstreamQueue]:
        # Sorted here rather than by the database, whose collation
        # (case-insensitive on MySQL) is not Python's order. Names first,
        # then the metadata of a chunk at a time: it may be large.
        listed = sorted((row.project or '', row.name, row.id) for row in
                        self._select('Queues', 'id', 'project', 'name')
                        if row.name)
        for start in range(0, len(listed), CHUNK):
            chunk = listed[start:start + CHUNK]
            ids = [queue_id for _, _, queue_id in chunk]
            metadata = dict(self._select(
                'Queues', 'id', 'metadata',
                where=self._tables['Queues'].columns['id'].in_(ids)))
            for project, name, queue_id in chunk:
                yield UpstreamQueue(project, name, _json(
                    metadata.get(queue_id),
                    f'metadata of queue {name!r} of project {project!r}'))

    def pools(self) -> list[UpstreamPool]:
        columns = ['name', 'uri', 'weight', 'options']
        with_flavor = self._has('Pools', 'flavor')
        if with_flavor:
            columns.append('flavor')
        return sorted((UpstreamPool(
            name=row.name, uri=row.uri, weight=int(row.weight),
            options=_json(row.options, f'options of pool {row.name!r}'),
            flavor=row.flavor if with_flavor else None)
            for row in self._select('Pools', *columns)),
            key=lambda pool: pool.name)

    def flavors(self) -> list[UpstreamFlavor]:
        return sorted((UpstreamFlavor(
            name=row.name, project=row.project or '')
            for row in self._select('Flavors', 'name', 'project')),
            key=lambda flavor: (flavor.name, flavor.project))

    def catalogue(self) -> Iterator[tuple[str, str, str]]:
        rows = self._select('Catalogue', 'project', 'queue', 'pool')
        # A row whose pool is NULL places the queue nowhere.
        yield from sorted((row.project or '', row.queue, row.pool)
                          for row in rows if row.pool is not None)

    def close(self) -> None:
        self._engine.dispose()


def _engine(uri: str, shown: str) -> sa.engine.Engine:
    """An engine that has not connected yet; SQLite read-only."""
    try:
        url = usable_url(uri)
    except sa.exc.ArgumentError:
        raise SourceError(f'{shown} is not a database URI') from None
    backend = url.get_backend_name()
    if backend == 'sqlite':
        return _sqlite_engine(url.database, shown)
    options: dict[str, Any] = {}
    if backend in ('postgresql', 'mysql'):
        options['connect_args'] = {'connect_timeout': CONNECT_TIMEOUT}
    try:
        return sa.create_engine(url, **options)
    except ImportError as exc:
        raise SourceError(f'{shown}: its database driver is not '
                          f'installed ({exc})') from None
    except sa.exc.ArgumentError as exc:
        raise SourceError(f'{shown}: {exc}') from None


def _sqlite_engine(path: str | None, shown: str) -> sa.engine.Engine:
    if not path or path == ':memory:':
        raise SourceError(f'{shown} names no SQLite file')
    if not os.path.isfile(path):
        raise SourceError(f'{shown}: no such SQLite file: {path}')
    # mode=ro: SQLite neither writes nor creates anything of its own.
    target = f'file:{pathname2url(os.path.abspath(path))}?mode=ro'
    return sa.create_engine(
        'sqlite://', creator=lambda: sqlite3.connect(target, uri=True))


def _named(wanted: str, names: list[str]) -> str | None:
    """The table named ``wanted``; case-insensitively, for MySQL servers
    that store names in lower case (``lower_case_table_names``)."""
    if wanted in names:
        return wanted
    folded = [name for name in names if name.lower() == wanted.lower()]
    return folded[0] if len(folded) == 1 else None


def _revision(conn: sa.Connection, names: list[str],
              shown: str) -> str | None:
    """The alembic revision, if the database records one; one upstream
    never had is refused (zaqar-core's own schema has revisions
    0001...)."""
    if VERSION_TABLE not in names:
        return None
    versions = [row[0] for row in conn.execute(sa.select(
        sa.column('version_num')).select_from(sa.table(VERSION_TABLE)))]
    unknown = [version for version in versions if version not in REVISIONS]
    if unknown or len(versions) > 1:
        raise SourceError(
            f'{shown} is at schema revision {", ".join(versions)}, not one '
            f'of upstream Zaqar\'s ({REVISIONS[0]} to {REVISIONS[-1]}): is '
            f'it upstream\'s management store, not zaqar-core\'s?')
    return versions[0] if versions else None


def _json(value: Any, what: str) -> dict[str, Any]:
    """A JSON object stored as text or bytes (upstream writes bytes even
    into its text columns); NULL or empty is empty."""
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, bytes):
        try:
            value = value.decode('utf-8')
        except UnicodeDecodeError as exc:
            raise SourceError(f'{what}: not UTF-8 ({exc})') from None
    if not value:
        return {}
    try:
        found = json.loads(value)
    except ValueError as exc:
        raise SourceError(f'{what}: not JSON ({exc})') from None
    if not isinstance(found, dict):
        raise SourceError(f'{what}: expected a JSON object, found '
                          f'{type(found).__name__}')
    return found
