"""Engines and transactions.

Writers take the database lock up front on SQLite (``BEGIN IMMEDIATE``):
a deferred transaction that reads, then writes, fails at once with
"database is locked" when another writer committed in between, whatever the
busy timeout. PostgreSQL and MySQL use row locks (``SKIP LOCKED`` in
claims) instead.
"""

import contextlib
import sqlite3
import time
import weakref
from collections.abc import Iterator

import sqlalchemy as sa
from oslo_db import api as db_api
from oslo_db import exception as db_exc
from oslo_db.sqlalchemy import engines
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite

from zaqar_core.storage import errors
from zaqar_plugins.storage.sqlalchemy import writer_lock


class Deadlock(errors.Unavailable):
    """The database broke a deadlock by aborting this transaction."""


class SchemaMissing(errors.Unavailable):
    """A table is missing: the database was never migrated (a 503 and
    one log line, not a 500 and a traceback)."""

    def __init__(self, detail: str) -> None:
        super().__init__(f'The database has no Zaqar schema ({detail}): '
                         f'run zaqar-manage db upgrade')


#: What the DBAPIs say of a missing table: PostgreSQL's SQLSTATE,
#: MySQL's error number, SQLite's message.
_PG_UNDEFINED_TABLE = '42P01'
_MYSQL_NO_SUCH_TABLE = 1146


def _missing_table(exc: Exception) -> str | None:
    """The DBAPI's message when ``exc`` says a table is missing."""
    orig = getattr(exc, 'orig', None)
    if orig is None:
        orig = getattr(getattr(exc, 'inner_exception', None), 'orig', None)
    if orig is None:
        return None
    missing = (getattr(orig, 'pgcode', None) == _PG_UNDEFINED_TABLE
               or (bool(orig.args) and orig.args[0] == _MYSQL_NO_SUCH_TABLE)
               or (isinstance(orig, sqlite3.OperationalError)
                   and str(orig).startswith('no such table')))
    return str(orig).strip().splitlines()[0] if missing else None


# Claims and pops on MySQL/MariaDB lock the rows they scan, so concurrent
# consumers can deadlock; the victim's transaction is simply run again.
# Up to ~3 s in all: on a busy host one consumer lost six times in a row.
retry_on_deadlock = db_api.wrap_db_retry(
    max_retries=10, retry_interval=0.01, inc_retry_interval=True,
    max_retry_interval=0.5, jitter=True,
    exception_checker=lambda exc: isinstance(exc, Deadlock))


#: Database drivers to try, in order, for a URI that names none
#: (``postgresql://``): SQLAlchemy's defaults (psycopg 3, mysqlclient)
#: are not among this project's requirements.
_DRIVERS = {'postgresql': ('psycopg2', 'psycopg'), 'mysql': ('pymysql',)}


def usable_url(uri: str) -> sa.engine.URL:
    """``uri`` with a database driver that is installed, when it names
    none and SQLAlchemy's default for its database is not."""
    url = sa.engine.make_url(uri)
    backend = url.get_backend_name()
    if url.drivername != backend or backend not in _DRIVERS:
        return url
    for driver in (None, *_DRIVERS[backend]):
        candidate = url if driver is None else \
            url.set(drivername=f'{backend}+{driver}')
        try:
            candidate.get_dialect().import_dbapi()
        except ImportError:
            continue
        return candidate
    return url


def make_engine(uri: str, busy_timeout_ms: int = 10000,
                max_pool_size: int = 10,
                max_overflow: int = 20) -> sa.engine.Engine:
    """An engine for ``uri``; SQLite gets WAL, a busy timeout and a pool."""
    options = {}
    url = usable_url(uri)
    if url.get_backend_name() == 'sqlite':
        options['_engine_target'] = _pooled_sqlite(
            busy_timeout_ms, max_pool_size, max_overflow)
    # oslo.db connects once to test the URI: an unreachable database is a
    # storage outage (a one-line error), not a traceback.
    with translated():
        return engines.create_engine(
            url.render_as_string(hide_password=False),
            max_pool_size=max_pool_size, max_overflow=max_overflow,
            max_retries=3, retry_interval=1,
            # oslo.db yielding with a zero sleep at every check-in is for
            # eventlet; with threads it only costs 75 us per transaction.
            thread_checkin=False, **options)


def _pooled_sqlite(busy_timeout_ms: int, pool_size: int, max_overflow: int):
    """oslo.db's engine factory for SQLite: keeps connections open, and
    tunes each one before oslo.db's first test connection.

    oslo.db gives file databases a NullPool: a new connection for every
    transaction, and a WAL checkpoint each time the last one closes (two
    thirds of a message post's time). Pooled connections avoid both; a
    connection is used by one thread at a time, whichever thread.
    """
    def create(url: sa.engine.URL, **engine_args) -> tuple:
        if url.database not in (None, '', ':memory:'):
            engine_args.update(
                poolclass=sa.pool.QueuePool, pool_size=pool_size,
                max_overflow=max_overflow,
                # A local file needs no liveness probe.
                pool_pre_ping=False)
            engine_args['connect_args']['check_same_thread'] = False
        engine = sa.create_engine(url, **engine_args)
        _tune_sqlite(engine, busy_timeout_ms)
        return engine, engine
    return create


#: The writers' queue of each SQLite engine made here.
_WRITER_LOCKS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _tune_sqlite(engine: sa.engine.Engine, busy_timeout_ms: int) -> None:
    _WRITER_LOCKS[engine] = writer_lock.WriterLock(
        engine.url.database, busy_timeout_ms / 1000)

    @sa.event.listens_for(engine, 'connect')
    def _on_connect(dbapi_con, record):
        dbapi_con.execute(f'PRAGMA busy_timeout = {int(busy_timeout_ms)}')
        # WAL lets readers run beside the one writer; NORMAL sync is
        # durable across process crashes in WAL mode. The mode is kept in
        # the file: setting it again while others write fails at once
        # with "database is locked", busy timeout or not.
        _use_wal(dbapi_con, busy_timeout_ms)
        dbapi_con.execute('PRAGMA synchronous = NORMAL')


# Seconds between tries to switch a new file to WAL.
_WAL_RETRY = 0.05


def _use_wal(dbapi_con, busy_timeout_ms: int) -> None:
    """Switch the file to WAL unless it is already.

    A switch while another process writes fails at once with "database
    is locked" (SQLite applies no busy timeout to it): that happens when
    several workers open a new file together. Each retries until the file
    is in WAL (the writer switched it) or the busy timeout has passed.
    """
    for _ in range(max(1, int(busy_timeout_ms / 1000 / _WAL_RETRY))):
        mode = dbapi_con.execute('PRAGMA journal_mode').fetchone()[0]
        if mode.lower() == 'wal':
            return
        try:
            dbapi_con.execute('PRAGMA journal_mode = WAL')
            return
        except sqlite3.OperationalError as exc:
            if 'locked' not in str(exc):
                raise
            time.sleep(_WAL_RETRY)
    dbapi_con.execute('PRAGMA journal_mode = WAL')


def insert_ignoring_duplicates(table: sa.Table,
                               dialect: str) -> sa.Insert:
    """An INSERT that silently does nothing on a unique-key clash."""
    if dialect == 'postgresql':
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == 'sqlite':
        return sqlite.insert(table).on_conflict_do_nothing()
    if dialect == 'mysql':
        return table.insert().prefix_with('IGNORE')
    raise NotImplementedError(f'unsupported SQL dialect {dialect}')


@contextlib.contextmanager
def write(engine: sa.engine.Engine) -> Iterator[sa.engine.Connection]:
    """A transaction that will write; commits on success."""
    with translated(), engine.connect() as conn:
        if conn.dialect.name != 'sqlite':
            with conn.begin():
                yield conn
            return
        lock = _WRITER_LOCKS.get(engine)
        with lock.held() if lock is not None else contextlib.nullcontext(), \
                _sqlite_begin(conn, 'BEGIN IMMEDIATE'):
            yield conn


@contextlib.contextmanager
def read(engine: sa.engine.Engine) -> Iterator[sa.engine.Connection]:
    """A read-only transaction (one consistent snapshot)."""
    with translated(), engine.connect() as conn:
        if conn.dialect.name != 'sqlite':
            with conn.begin():
                yield conn
            return
        with _sqlite_begin(conn, 'BEGIN'):
            yield conn


@contextlib.contextmanager
def _sqlite_begin(conn: sa.engine.Connection,
                  begin: str) -> Iterator[None]:
    # oslo.db's "begin" listener emits a plain BEGIN, through the whole
    # statement machinery, unless this key is set (its commit/rollback
    # listeners clear it again); the driver-level statement costs a
    # fraction of that.
    conn.info['in_transaction'] = True
    with conn.begin():
        conn.exec_driver_sql(begin)
        yield


@contextlib.contextmanager
def translated() -> Iterator[None]:
    """Turn database outages into :class:`errors.Unavailable` (503)."""
    try:
        yield
    except db_exc.DBDeadlock as exc:
        raise Deadlock(str(exc)) from exc
    except db_exc.DBConnectionError as exc:
        raise errors.Unavailable(str(exc)) from exc
    except (db_exc.DBError, sa.exc.DBAPIError) as exc:
        missing = _missing_table(exc)
        if missing:
            raise SchemaMissing(missing) from exc
        if isinstance(exc, sa.exc.OperationalError):
            # SQLite "database is locked" after the busy timeout, lost
            # server.
            raise errors.Unavailable(str(exc.orig)) from exc
        if isinstance(getattr(exc, 'inner_exception', None),
                      sa.exc.OperationalError):
            raise errors.Unavailable(str(exc)) from exc
        raise
