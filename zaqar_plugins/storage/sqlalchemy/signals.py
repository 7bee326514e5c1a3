"""Signals on SQL backends (see :class:`base.SignalControllerBase`), one
mechanism per backend:

* PostgreSQL (psycopg2): ``pg_notify``; each listener LISTENs on a
  connection of its own.
* SQLite, a file: no server to relay, and every process is on one host,
  so Unix datagram sockets in a private directory beside the file: each
  listener binds one there, ``notify()`` sends the channel name to each.
* SQLite in memory: one process, so signals stay in it.
* MySQL/MariaDB, which has nothing to notify with (and PostgreSQL through
  another driver): ``notify()`` bumps the channel's counter in the
  ``signals`` table, and listeners poll their counters.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import secrets
import select
import socket
import stat
import tempfile
import threading
import time
import weakref
from collections.abc import Callable
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite

from zaqar_core.storage import base
from zaqar_core.storage import errors
from zaqar_core.storage import listening
from zaqar_plugins.storage.sqlalchemy import engine as txn
from zaqar_plugins.storage.sqlalchemy import tables

#: Seconds between two reads of the counters, when polling.
POLL_INTERVAL = 0.15


def controller_for(engine: sa.engine.Engine) -> base.SignalControllerBase:
    """The signal controller that suits ``engine``'s backend."""
    dialect = engine.dialect
    if dialect.name == 'postgresql' and dialect.driver == 'psycopg2':
        return NotifySignals(engine)
    if dialect.name == 'sqlite':
        if engine.url.database in (None, '', ':memory:'):
            return InProcessSignals(engine)
        return SocketSignals(socket_directory(engine.url.database))
    return PollingSignals(engine)


class _Controller(base.SignalControllerBase):
    backend: str

    def listen(self, channels: Iterable[str],
               callback: Callable[[str], None]) -> base.Listening:
        return listening.start(channels, callback, self._session,
                               self.backend)

    def _session(self, channels: frozenset[str]) -> listening.Session:
        raise NotImplementedError


# PostgreSQL -----------------------------------------------------------

#: The longest channel name PostgreSQL keeps (NAMEDATALEN - 1 bytes).
PG_NAME_LENGTH = 63


def postgres_channel(channel: str) -> str:
    name = f'zaqar.signal.{channel}'
    if len(name) <= PG_NAME_LENGTH:
        return name
    # "#" is no channel character: a digest cannot meet a plain name.
    digest = hashlib.sha256(channel.encode()).hexdigest()[:48]
    return f'zaqar.signal#{digest}'


class _ListeningConnection:
    """A psycopg2 connection of its own (outside the pool), LISTENing."""

    def __init__(self, engine: sa.engine.Engine,
                 names: dict[str, str]) -> None:
        cargs, cparams = engine.dialect.create_connect_args(engine.url)
        # Keepalives: a server lost without a word is noticed in ~1 min.
        self._conn = engine.dialect.connect(
            *cargs, **{**cparams, 'connect_timeout': 5, 'keepalives': 1,
                       'keepalives_idle': 30, 'keepalives_interval': 10,
                       'keepalives_count': 3})
        self._names = names
        try:
            self._conn.autocommit = True
            with self._conn.cursor() as cursor:
                cursor.execute('; '.join(f'LISTEN "{name}"'
                                         for name in names))
        except BaseException:
            self._conn.close()
            raise

    def wait(self, timeout: float) -> list[str]:
        if select.select([self._conn], [], [], timeout)[0]:
            self._conn.poll()  # raises if the connection is gone
        found = [self._names[n.channel] for n in self._conn.notifies
                 if n.channel in self._names]
        self._conn.notifies.clear()
        return found

    def close(self) -> None:
        self._conn.close()


class NotifySignals(_Controller):
    latency = 0.0
    backend = 'postgresql'

    def __init__(self, engine: sa.engine.Engine) -> None:
        self._engine = engine

    def notify(self, channel: str) -> None:
        name = postgres_channel(base.check_channel(channel))
        with txn.write(self._engine) as conn:
            conn.execute(sa.text("SELECT pg_notify(:name, '')"),
                         {'name': name})

    def _session(self, channels: frozenset[str]) -> _ListeningConnection:
        return _ListeningConnection(
            self._engine, {postgres_channel(c): c for c in channels})


# SQLite file: datagram sockets ------------------------------------------

SUFFIX = '.sock'
#: AF_UNIX paths hold 107 bytes (108 with the final NUL).
MAX_SOCKET_PATH = 107
#: The longest socket name: a 7-digit pid (pid_max is 2**22 at most).
MAX_SOCKET_NAME = len(f'{2 ** 22}-{"0" * 8}{SUFFIX}')


def socket_directory(database: str) -> str:
    """Where the listeners of the SQLite file ``database`` bind: beside
    it, or in the temp directory when that path would be too long."""
    real = os.path.realpath(database)
    beside = f'{real}.signals'
    if len(os.fsencode(beside)) + 1 + MAX_SOCKET_NAME <= MAX_SOCKET_PATH:
        return beside
    digest = hashlib.sha256(os.fsencode(real)).hexdigest()[:16]
    return os.path.join(tempfile.gettempdir(), f'zaqar-signals-{digest}')


def _check_private(directory: str) -> None:
    """Make sure only this user can use ``directory`` (anyone who can
    write there could send or intercept signals)."""
    info = os.lstat(directory)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
        raise errors.Unavailable(f'{directory} is not a directory of this '
                                 f'user: no signals through it')
    if info.st_mode & 0o077:
        os.chmod(directory, 0o700)


class _BoundSocket:
    """A datagram socket bound in the directory, under a unique name."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.path = os.path.join(
            directory, f'{os.getpid()}-{secrets.token_hex(4)}{SUFFIX}')
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            self._bind()
            self._inode = os.stat(self.path).st_ino
        except BaseException:
            self._sock.close()
            raise

    def _bind(self, attempts: int = 3) -> None:
        for attempt in range(attempts):
            os.makedirs(self.directory, mode=0o700, exist_ok=True)
            _check_private(self.directory)
            try:
                self._sock.bind(self.path)
                return
            except FileNotFoundError:
                # The last listener closing removed the directory meanwhile.
                if attempt == attempts - 1:
                    raise

    def wait(self, timeout: float) -> list[str]:
        # Senders find us by the file: if it went (a temp cleaner, say),
        # fail, so that the thread binds anew.
        if os.stat(self.path).st_ino != self._inode:
            raise FileNotFoundError(f'{self.path} was replaced')
        found = []
        if select.select([self._sock], [], [], timeout)[0]:
            with contextlib.suppress(BlockingIOError):
                while True:
                    data = self._sock.recv(128, socket.MSG_DONTWAIT)
                    found.append(data.decode('ascii', 'replace'))
        return found

    def close(self) -> None:
        self._sock.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        # Nothing left on disk after the last listener; fails if not last.
        with contextlib.suppress(OSError):
            os.rmdir(self.directory)


class SocketSignals(_Controller):
    latency = 0.0
    backend = 'sqlite'

    def __init__(self, directory: str) -> None:
        self.directory = directory

    def notify(self, channel: str) -> None:
        data = base.check_channel(channel).encode()
        try:
            _check_private(self.directory)
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return  # nobody has listened yet
        except OSError as exc:
            raise errors.Unavailable(f'No signals: {exc}') from exc
        failure = None
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            # Never wait for a listener that does not read.
            sock.setblocking(False)
            for name in names:
                if not name.endswith(SUFFIX):
                    continue
                path = os.path.join(self.directory, name)
                try:
                    sock.sendto(data, path)
                except (ConnectionRefusedError, FileNotFoundError):
                    # Nobody is bound to it any more (its process died).
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(path)
                except BlockingIOError:
                    pass  # its queue is full: it has wake-ups to handle
                except OSError as exc:
                    failure = exc
        if failure is not None:
            raise errors.Unavailable(f'Signal not sent to every listener: '
                                     f'{failure}')

    def _session(self, channels: frozenset[str]) -> _BoundSocket:
        return _BoundSocket(self.directory)


# SQLite in memory -----------------------------------------------------

# Listeners' queues by engine: an in-memory database lives in its engine.
_QUEUES: weakref.WeakKeyDictionary[sa.engine.Engine, set[queue.Queue]] = \
    weakref.WeakKeyDictionary()
_QUEUES_LOCK = threading.Lock()


class _Inbox:
    def __init__(self, engine: sa.engine.Engine) -> None:
        self._engine = engine
        self._queue: queue.Queue[str] = queue.Queue()
        with _QUEUES_LOCK:
            _QUEUES.setdefault(engine, set()).add(self._queue)

    def wait(self, timeout: float) -> list[str]:
        try:
            found = [self._queue.get(timeout=timeout)]
        except queue.Empty:
            return []
        with contextlib.suppress(queue.Empty):
            while True:
                found.append(self._queue.get_nowait())
        return found

    def close(self) -> None:
        with _QUEUES_LOCK:
            _QUEUES.get(self._engine, set()).discard(self._queue)


class InProcessSignals(_Controller):
    latency = 0.0
    backend = 'sqlite'

    def __init__(self, engine: sa.engine.Engine) -> None:
        self._engine = engine

    def notify(self, channel: str) -> None:
        base.check_channel(channel)
        with _QUEUES_LOCK:
            inboxes = list(_QUEUES.get(self._engine, ()))
        for inbox in inboxes:
            inbox.put(channel)

    def _session(self, channels: frozenset[str]) -> _Inbox:
        return _Inbox(self._engine)


# Polling --------------------------------------------------------------

_s = tables.signals


def _bump(dialect: str) -> Any:
    """An upsert adding 1 to a channel's counter (``channel`` bound)."""
    values = {'channel': sa.bindparam('channel'), 'counter': 1}
    if dialect == 'mysql':
        return mysql.insert(_s).values(values).on_duplicate_key_update(
            counter=_s.c.counter + 1)
    inserts = {'postgresql': postgresql.insert, 'sqlite': sqlite.insert}
    if dialect not in inserts:
        raise NotImplementedError(f'unsupported SQL dialect {dialect}')
    return inserts[dialect](_s).values(values).on_conflict_do_update(
        index_elements=[_s.c.channel], set_={'counter': _s.c.counter + 1})


class _Poller:
    """Reads the channels' counters; ``seen`` outlives the session, so
    that a signal sent during an outage is seen after it."""

    def __init__(self, engine: sa.engine.Engine, channels: frozenset[str],
                 seen: dict[str, int]) -> None:
        self._engine = engine
        self._query = sa.select(_s.c.channel, _s.c.counter).where(
            _s.c.channel.in_(sorted(channels)))
        self._channels = channels
        self._seen = seen
        if not seen:
            seen.update(self._read())

    def _read(self) -> dict[str, int]:
        with txn.read(self._engine) as conn:
            counters = dict(conn.execute(self._query).all())
        return {c: counters.get(c, 0) for c in self._channels}

    def wait(self, timeout: float) -> list[str]:
        time.sleep(min(POLL_INTERVAL, timeout))
        counters = self._read()
        found = [c for c, n in counters.items() if n != self._seen[c]]
        self._seen.update(counters)
        return found

    def close(self) -> None:
        pass  # the engine's pool keeps the connection


class PollingSignals(_Controller):
    latency = POLL_INTERVAL

    def __init__(self, engine: sa.engine.Engine) -> None:
        self._engine = engine
        self._bump = _bump(engine.dialect.name)
        self.backend = engine.dialect.name

    @txn.retry_on_deadlock
    def notify(self, channel: str) -> None:
        base.check_channel(channel)
        with txn.write(self._engine) as conn:
            conn.execute(self._bump, {'channel': channel})

    def listen(self, channels: Iterable[str],
               callback: Callable[[str], None]) -> base.Listening:
        seen: dict[str, int] = {}  # the listener's, across its sessions
        return listening.start(
            channels, callback,
            lambda names: _Poller(self._engine, names, seen), self.backend)
