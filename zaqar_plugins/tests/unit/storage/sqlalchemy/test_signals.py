"""SQL signals beyond the contract: listeners outlive their connections
(PostgreSQL, MySQL) or their socket files (SQLite), SQLite keeps its
sockets private and tidy, and polling works on every backend."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from zaqar_core.storage import errors
from zaqar_core.storage.stores import Stores
from zaqar_core.tests.contract.storage.signals import CHANNEL
from zaqar_core.tests.contract.storage.signals import Received
from zaqar_core.tests.contract.storage.signals import arrives
from zaqar_plugins.storage.sqlalchemy import signals
from zaqar_testing.databases import DatabaseFactory

from .databases import make_stores
from .databases import migrated_stores


@contextlib.contextmanager
def stores_on(uri: str) -> Iterator[Stores]:
    stores = make_stores(uri)
    try:
        yield stores
    finally:
        stores.close()


@pytest.fixture
def sqlite_stores() -> Iterator[Stores]:
    """Stores on a SQLite file whose path leaves room for sockets beside
    it (pytest's own directories may be too deep)."""
    directory = tempfile.mkdtemp(prefix='zaqar-test-')
    try:
        with stores_on(f'sqlite:///{directory}/zaqar.sqlite') as stores:
            yield stores
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def socket_files(directory: str) -> list[str]:
    return sorted(n for n in os.listdir(directory)
                  if n.endswith(signals.SUFFIX))


# PostgreSQL and MySQL -------------------------------------------------


def test_a_postgresql_listener_survives_losing_its_backend(
        databases: DatabaseFactory) -> None:
    with stores_on(databases.create('postgresql').uri) as stores:
        received = Received()
        with stores.signals.listen([CHANNEL], received):
            with stores.data.engine.begin() as conn:
                killed = conn.execute(sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() "
                    "AND query LIKE 'LISTEN %'")).scalars().all()
            assert killed == [True]
            assert arrives(stores, received)


def test_a_mysql_listener_survives_losing_its_connections(
        databases: DatabaseFactory) -> None:
    stores = migrated_stores(databases.create('mysql'))
    try:
        received = Received()
        with stores.signals.listen([CHANNEL], received):
            # The poller borrows pooled connections: kill them all, from
            # outside the pool.
            admin = sa.create_engine(stores.data.engine.url,
                                     poolclass=sa.pool.NullPool)
            with admin.begin() as conn:
                pooled = conn.execute(sa.text(
                    'SELECT id FROM information_schema.processlist '
                    'WHERE db = DATABASE() AND id <> CONNECTION_ID()'
                )).scalars().all()
                for connection_id in pooled:
                    with contextlib.suppress(sa.exc.DBAPIError):
                        conn.execute(sa.text(f'KILL {int(connection_id)}'))
            admin.dispose()
            assert pooled
            assert arrives(stores, received)
    finally:
        stores.close()


def test_polling_works_on_every_backend(stores: Stores) -> None:
    # MySQL polls; PostgreSQL through another driver than psycopg2 would.
    polling = signals.PollingSignals(stores.data.engine)
    received = Received()
    with polling.listen([CHANNEL], received):
        polling.notify(CHANNEL)
        assert received.wait_for(CHANNEL)
        polling.notify(CHANNEL)  # an existing counter, bumped again
        received.channels.clear()
        assert received.wait_for(CHANNEL)


# SQLite ---------------------------------------------------------------


def test_sqlite_sockets_live_in_a_private_directory_beside_the_file(
        sqlite_stores: Stores) -> None:
    directory = sqlite_stores.signals.directory
    assert directory == os.path.realpath(
        f'{sqlite_stores.data.engine.url.database}.signals')
    with sqlite_stores.signals.listen([CHANNEL], Received()):
        assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
        assert len(socket_files(directory)) == 1
    assert not os.path.exists(directory)  # the last listener tidied up


def test_a_loose_directory_is_made_private(sqlite_stores: Stores) -> None:
    directory = sqlite_stores.signals.directory
    os.mkdir(directory)
    os.chmod(directory, 0o755)  # noqa: S103 - the loose mode under test
    received = Received()
    with sqlite_stores.signals.listen([CHANNEL], received):
        assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
        sqlite_stores.signals.notify(CHANNEL)
        assert received.wait_for(CHANNEL)


def test_a_directory_that_is_a_symlink_is_refused(
        sqlite_stores: Stores, tmp_path: Path) -> None:
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir(mode=0o700)
    os.symlink(elsewhere, sqlite_stores.signals.directory)
    with pytest.raises(errors.Unavailable):
        sqlite_stores.signals.notify(CHANNEL)


def test_a_dead_listeners_socket_is_removed(sqlite_stores: Stores) -> None:
    directory = sqlite_stores.signals.directory
    received = Received()
    with sqlite_stores.signals.listen([CHANNEL], received):
        # A process that died listening: its file stays, bound to nothing.
        dead = os.path.join(directory, f'999999-deadbeef{signals.SUFFIX}')
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.bind(dead)
        sqlite_stores.signals.notify(CHANNEL)
        assert received.wait_for(CHANNEL)
        assert not os.path.exists(dead)
        assert len(socket_files(directory)) == 1  # the live one


def test_a_listener_binds_again_when_its_socket_goes(
        sqlite_stores: Stores) -> None:
    directory = sqlite_stores.signals.directory
    received = Received()
    with sqlite_stores.signals.listen([CHANNEL], received):
        shutil.rmtree(directory)  # a temp cleaner, say
        assert arrives(sqlite_stores, received)
        assert len(socket_files(directory)) == 1


def test_a_long_database_path_uses_a_short_directory(tmp_path: Path
                                                     ) -> None:
    deep = tmp_path / ('d' * 100)
    deep.mkdir()
    database = deep / 'zaqar.sqlite'
    directory = signals.socket_directory(str(database))
    assert not directory.startswith(str(deep))
    assert len(os.fsencode(directory)) + 1 + signals.MAX_SOCKET_NAME <= \
        signals.MAX_SOCKET_PATH
    try:
        with stores_on(f'sqlite:///{database}') as stores:
            received = Received()
            with stores.signals.listen([CHANNEL], received):
                assert len(socket_files(directory)) == 1
                stores.signals.notify(CHANNEL)
                assert received.wait_for(CHANNEL)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def test_the_directory_is_the_same_through_a_symlinked_path(
        tmp_path: Path) -> None:
    (tmp_path / 'real').mkdir()
    (tmp_path / 'link').symlink_to(tmp_path / 'real')
    assert signals.socket_directory(str(tmp_path / 'link' / 'db')) == \
        signals.socket_directory(str(tmp_path / 'real' / 'db'))


def test_an_in_memory_database_signals_within_the_process() -> None:
    with stores_on('sqlite://') as stores:
        assert isinstance(stores.signals, signals.InProcessSignals)
        received = Received()
        with stores.signals.listen([CHANNEL], received):
            stores.signals.notify(CHANNEL)
            assert received.wait_for(CHANNEL)
