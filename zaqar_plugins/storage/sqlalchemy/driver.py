"""Entry classes of the SQL plugin (``sqlalchemy`` in both namespaces)."""

import functools
import math
import os
import threading
from typing import Any

import sqlalchemy as sa
from oslo_config import cfg
from oslo_log import log

from zaqar_core.storage import base
from zaqar_core.storage import errors
from zaqar_plugins.storage.sqlalchemy import claims
from zaqar_plugins.storage.sqlalchemy import engine as txn
from zaqar_plugins.storage.sqlalchemy import message_ids
from zaqar_plugins.storage.sqlalchemy import messages
from zaqar_plugins.storage.sqlalchemy import migration
from zaqar_plugins.storage.sqlalchemy import options as sql_options
from zaqar_plugins.storage.sqlalchemy import pools
from zaqar_plugins.storage.sqlalchemy import queues
from zaqar_plugins.storage.sqlalchemy import rows
from zaqar_plugins.storage.sqlalchemy import signals
from zaqar_plugins.storage.sqlalchemy import subscriptions
from zaqar_plugins.storage.sqlalchemy import tables

LOG = log.getLogger(__name__)

# Rows removed per GC statement: keeps each write lock short.
GC_BATCH = 1000


# Engines of this process by settings: the message and management stores
# usually share one database, and so share one connection pool. The pid
# keeps a forked child from reusing its parent's connections.
_ENGINES: dict[tuple, sa.engine.Engine] = {}


#: The database kinds (SQLAlchemy backend names) this driver is tested
#: on; a URI of another is not its.
BACKENDS = ('sqlite', 'postgresql', 'mysql')


def _engine_for(opts: Any) -> sa.engine.Engine:
    if not opts.uri:
        raise errors.Unavailable('the store has no uri')
    key = (os.getpid(), opts.uri, opts.sqlite_busy_timeout,
           opts.max_pool_size, opts.max_overflow)
    if key not in _ENGINES:
        _ENGINES[key] = txn.make_engine(*key[1:])
    return _ENGINES[key]


def _check_engine(url: sa.engine.URL, timeout: float) -> sa.engine.Engine:
    """An engine without a pool whose connections give up after about
    ``timeout`` seconds, connecting or waiting for an answer."""
    seconds = max(1, math.ceil(timeout))
    backend = url.get_backend_name()
    if backend == 'postgresql':
        args: dict = {'connect_timeout': seconds,
                      'options': f'-c statement_timeout={seconds * 1000}'}
    elif backend == 'mysql':
        args = {'connect_timeout': seconds, 'read_timeout': seconds}
    else:  # SQLite: a busy timeout; connecting to a file is quick
        args = {'timeout': timeout}
    return sa.create_engine(url, poolclass=sa.pool.NullPool,
                            connect_args=args)


@functools.cache
def _head() -> str:
    # Read once: it walks the migration scripts, and ping asks each time.
    return migration.head()


def _backend(uri: str) -> str | None:
    try:
        return sa.engine.make_url(uri).get_backend_name()
    except sa.exc.ArgumentError:
        return None


class _SQLDriver(base.DriverBase):
    # Committed transactions: durable as the database is.
    capabilities = ('FIFO', 'CLAIMS', 'DURABILITY', 'AOD')

    def __init__(self, conf: cfg.ConfigOpts, options: Any) -> None:
        super().__init__(conf, options)
        self.engine = _engine_for(options)

    @classmethod
    def serves(cls, uri: str) -> bool:
        return _backend(uri) in BACKENDS

    @classmethod
    def resolve_default(cls, conf: cfg.ConfigOpts, group: str) -> str | None:
        # Both stores, unset, share one file: one database to back up.
        if conf[group].uri:
            return None
        state = os.path.abspath(conf.state_path)
        os.makedirs(state, mode=0o750, exist_ok=True)
        uri = f'sqlite:///{os.path.join(state, sql_options.SQLITE_FILE)}'
        conf.set_override('uri', uri, group=group)
        return uri

    @classmethod
    def absent(cls, conf: cfg.ConfigOpts, group: str) -> str | None:
        uri = conf[group].uri
        if not uri:
            path = os.path.join(conf.state_path, sql_options.SQLITE_FILE)
        else:
            url = sa.engine.make_url(uri)
            if url.get_backend_name() != 'sqlite' or \
                    url.database in (None, '', ':memory:'):
                return None
            path = url.database
        path = os.path.abspath(path)
        return None if os.path.exists(path) else path

    def is_alive(self) -> bool:
        try:
            with txn.read(self.engine) as conn:
                conn.execute(sa.text('SELECT 1'))
        except (errors.Unavailable, sa.exc.SQLAlchemyError):
            return False
        return True

    def check(self, timeout: float) -> base.StoreState:
        # On a thread of its own, waited for ``timeout``: libpq waits at
        # least 2 s to connect, whatever connect_timeout says. The thread
        # ends by itself once the connect or statement timeout passes.
        outcome: list[base.StoreState] = []
        probe = threading.Thread(
            target=lambda: outcome.append(self._check(timeout)),
            name='zaqar-store-check', daemon=True)
        probe.start()
        probe.join(timeout)
        if not outcome:
            return base.StoreState(
                f'does not answer: no answer within {timeout:g} s')
        return outcome[0]

    def _check(self, timeout: float) -> base.StoreState:
        try:
            # A connection of its own, bounded: the pool's may be busy,
            # and the pool retries connecting.
            engine = _check_engine(self.engine.url, timeout)
            try:
                with engine.connect() as conn:
                    version = migration.current_on(conn)
            finally:
                engine.dispose()
        except sa.exc.SQLAlchemyError as exc:
            orig = getattr(exc, 'orig', None) or exc
            return base.StoreState(
                f'does not answer: {" ".join(str(orig).split())}')
        head = self.schema_head()
        if version == head:
            return base.StoreState()
        if version is None:
            return base.StoreState('has no schema', needs_upgrade=True)
        if version in migration.UPSTREAM_REVISIONS:
            return base.StoreState(
                migration.UPSTREAM_PROBLEM.format(version))
        if migration.known(version):
            return base.StoreState(
                f'has schema revision {version}; this release needs '
                f'{head}', needs_upgrade=True)
        return base.StoreState(
            f'has schema revision {version}, which this release does not '
            f'know (written by a newer release?)')

    def close(self) -> None:
        self.engine.dispose()

    @property
    def auto_upgrade(self) -> bool:
        return self.engine.dialect.name == 'sqlite'

    def upgrade(self, revision: str = 'head') -> None:
        migration.upgrade(self.engine, revision)

    def stamp(self, revision: str = 'head') -> None:
        migration.stamp(self.engine, revision)

    def schema_version(self) -> str | None:
        return migration.current(self.engine)

    def schema_head(self) -> str | None:
        return _head()


class ControlDriver(_SQLDriver, base.ControlDriverBase):
    def __init__(self, conf: cfg.ConfigOpts, options: Any) -> None:
        super().__init__(conf, options)
        self._queues = queues.QueueController(self.engine)
        self._pools = pools.PoolController(self.engine)
        self._flavors = pools.FlavorController(self.engine)
        self._catalogue = pools.CatalogueController(self.engine)

    @property
    def queue_controller(self) -> queues.QueueController:
        return self._queues

    @property
    def pool_controller(self) -> pools.PoolController:
        return self._pools

    @property
    def flavor_controller(self) -> pools.FlavorController:
        return self._flavors

    @property
    def catalogue_controller(self) -> pools.CatalogueController:
        return self._catalogue


class DataDriver(_SQLDriver, base.DataDriverBase):
    def __init__(self, conf: cfg.ConfigOpts, options: Any) -> None:
        super().__init__(conf, options)
        # One key cache for both: they show the same ids.
        keys = message_ids.cache_for(self.engine)
        self._messages = messages.MessageController(self.engine, keys)
        self._claims = claims.ClaimController(self.engine, keys)
        self._subscriptions = subscriptions.SubscriptionController(
            self.engine)
        self._signals = signals.controller_for(self.engine)

    def checks_metadata_of(self, control: base.ControlDriverBase) -> bool:
        # One database: the post's transaction reads the queues table.
        return isinstance(control, ControlDriver) and \
            control.engine.url == self.engine.url

    @property
    def message_controller(self) -> messages.MessageController:
        return self._messages

    @property
    def claim_controller(self) -> claims.ClaimController:
        return self._claims

    @property
    def subscription_controller(
            self) -> subscriptions.SubscriptionController:
        return self._subscriptions

    @property
    def signal_controller(self) -> base.SignalControllerBase:
        return self._signals

    def gc(self) -> int:
        removed = 0
        for table in (tables.messages, tables.claims,
                      tables.subscriptions):
            while True:
                at = rows.now()
                doomed = sa.select(table.c.id).where(
                    table.c.expires <= at).limit(GC_BATCH)
                with txn.write(self.engine) as conn:
                    if conn.dialect.name == 'mysql':
                        # MySQL cannot delete from a table it selects from
                        # in a subquery; fetch the ids first.
                        doomed = conn.execute(doomed).scalars().all()
                    count = conn.execute(table.delete().where(
                        table.c.id.in_(doomed))).rowcount
                removed += count
                if count < GC_BATCH:
                    break
        if removed:
            LOG.debug('Garbage collection removed %d rows', removed)
        return removed
