"""Redis clients from the URIs upstream Zaqar accepts, plus Redis Cluster.

* ``redis://[[user]:password@]host[:port][/db][?options]``
* ``redis://[[user]:password@]/path/to/redis.sock[?options]``
* ``redis://[[user]:password@]h1[:p1],h2[:p2]...?master=name`` (Sentinel;
  the default port is 26379)
* ``redis+cluster://[[user]:password@]h1[:p1][,h2[:p2]...][?options]``
  (Redis Cluster: any reachable nodes; the others are discovered)

Query options: ``dbid`` (database number), ``socket_timeout`` (seconds),
``master``, ``sentinel_username``, ``sentinel_password``. Upstream ignores
a ``/N`` path; here it selects database N, as in redis-py, unless ``dbid``
is given too.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import weakref
from urllib.parse import parse_qs
from urllib.parse import unquote

import hiredis
import redis
import redis.backoff
import redis.cluster
import redis.retry
import redis.sentinel

from zaqar_core.storage import errors

DEFAULT_PORT = 6379
DEFAULT_SENTINEL_PORT = 26379
#: Upstream's default is 0.1 s, which a busy two-core host exceeds now and
#: then under load, turning into spurious 503s.
DEFAULT_SOCKET_TIMEOUT = 5.0

Client = redis.Redis | redis.cluster.RedisCluster


@dataclasses.dataclass(frozen=True)
class RedisURI:
    """A parsed store URI."""

    kind: str  # 'server', 'unix', 'sentinel' or 'cluster'
    hosts: tuple[tuple[str, int], ...] = ()
    path: str = ''
    db: int = 0
    username: str | None = None
    password: str | None = None
    socket_timeout: float = DEFAULT_SOCKET_TIMEOUT
    master: str | None = None
    sentinel_username: str | None = None
    sentinel_password: str | None = None


def _host_port(text: str, default_port: int, uri: str) -> tuple[str, int]:
    if text.startswith('['):  # [ipv6]:port
        host, _, rest = text[1:].partition(']')
        port = rest[1:] if rest.startswith(':') else ''
    elif text.count(':') == 1:
        host, port = text.split(':')
    else:
        host, port = text, ''
    try:
        return host or '127.0.0.1', int(port) if port else default_port
    except ValueError:
        raise errors.Unavailable(
            f'Invalid Redis URI {_redacted(uri)}: bad port in "{text}"'
        ) from None


def _redacted(uri: str) -> str:
    scheme, sep, rest = uri.partition('://')
    if '@' in rest:
        rest = '***@' + rest.rpartition('@')[2]
    return scheme + sep + rest


#: The URI schemes of Redis stores.
SCHEMES = ('redis', 'redis+cluster')


def serves(uri: str) -> bool:
    """Whether ``uri`` names a Redis store (by its scheme)."""
    scheme, sep, _ = uri.partition('://')
    return bool(sep) and scheme in SCHEMES


def parse_uri(uri: str) -> RedisURI:
    """Parse a store URI; raises :class:`errors.Unavailable` if invalid."""
    scheme, sep, rest = uri.partition('://')
    if not serves(uri):
        raise errors.Unavailable(
            f'Invalid Redis URI {_redacted(uri)}: expected redis:// or '
            f'redis+cluster://')
    rest, _, query = rest.partition('?')
    options = {k: v[-1] for k, v in parse_qs(query).items()}
    username = password = None
    if '@' in rest:
        auth, _, rest = rest.rpartition('@')
        user, has_password, secret = auth.partition(':')
        username = unquote(user) or None
        # "redis://pw@host" (no colon) is upstream's deprecated password
        # form.
        password = unquote(secret) if has_password else unquote(user)
        if not has_password:
            username = None
    fields: dict = {'username': username, 'password': password,
                    'master': options.get('master'),
                    'sentinel_username': options.get('sentinel_username'),
                    'sentinel_password': options.get('sentinel_password')}
    try:
        if 'socket_timeout' in options:
            fields['socket_timeout'] = float(options['socket_timeout'])
        if 'dbid' in options:
            fields['db'] = int(options['dbid'])
    except ValueError:
        raise errors.Unavailable(
            f'Invalid Redis URI {_redacted(uri)}: dbid and socket_timeout '
            f'must be numbers') from None
    if rest.startswith('/'):
        return RedisURI(kind='unix', path=rest, **fields)
    netloc, _, path = rest.partition('/')
    if path and 'dbid' not in options:
        if not path.isdigit():
            raise errors.Unavailable(
                f'Invalid Redis URI {_redacted(uri)}: the path must be a '
                f'database number')
        fields['db'] = int(path)
    if scheme == 'redis+cluster':
        hosts = tuple(_host_port(h, DEFAULT_PORT, uri)
                      for h in netloc.split(',') if h)
        return RedisURI(kind='cluster', hosts=hosts, **fields)
    if ',' in netloc or fields['master']:
        if not fields['master']:
            raise errors.Unavailable(
                f'Invalid Redis URI {_redacted(uri)}: several hosts need '
                f'?master=<name> (Sentinel)')
        hosts = tuple(_host_port(h, DEFAULT_SENTINEL_PORT, uri)
                      for h in netloc.split(',') if h)
        return RedisURI(kind='sentinel', hosts=hosts, **fields)
    return RedisURI(kind='server',
                    hosts=(_host_port(netloc, DEFAULT_PORT, uri),), **fields)


class _SentinelMaster(redis.Redis):
    """The master the sentinels name. Closing it closes the connections
    to the sentinels it asked too, or each would stay open."""

    def close(self) -> None:
        super().close()
        for sentinel in self.connection_pool.sentinel_manager.sentinels:
            sentinel.close()


def make_client(uri: str, max_reconnect_attempts: int = 10,
                reconnect_sleep: float = 1.0,
                socket_timeout: float | None = None,
                decode_responses: bool = True) -> Client:
    """A client for ``uri``; connections are opened on first use.

    Args:
        socket_timeout: seconds, instead of the URI's ``socket_timeout``
            (a health check's short bound).
        decode_responses: answers as text (this driver's values are), or
            as bytes (upstream's msgpack, for the import).
    """
    spec = parse_uri(uri)
    if socket_timeout is not None:
        spec = dataclasses.replace(spec, socket_timeout=socket_timeout)
    # Connection failures are retried every reconnect_sleep seconds, as
    # upstream does; a timeout is not, because the command may have run.
    retry = redis.retry.Retry(
        redis.backoff.ConstantBackoff(reconnect_sleep),
        max_reconnect_attempts)
    common = {'username': spec.username, 'password': spec.password,
              'socket_timeout': spec.socket_timeout,
              'socket_connect_timeout': spec.socket_timeout,
              'decode_responses': decode_responses, 'retry': retry,
              'retry_on_error': [redis.exceptions.ConnectionError]}
    if spec.kind == 'cluster':
        nodes = [redis.cluster.ClusterNode(h, p) for h, p in spec.hosts]
        return redis.cluster.RedisCluster(startup_nodes=nodes, **common)
    if spec.kind == 'sentinel':
        sentinel = redis.sentinel.Sentinel(
            list(spec.hosts), socket_timeout=spec.socket_timeout,
            sentinel_kwargs={'username': spec.sentinel_username,
                             'password': spec.sentinel_password,
                             'socket_timeout': spec.socket_timeout})
        return sentinel.master_for(spec.master, db=spec.db,
                                   redis_class=_SentinelMaster, **common)
    if spec.kind == 'unix':
        client = redis.Redis(unix_socket_path=spec.path, db=spec.db,
                             **common)
    else:
        [(host, port)] = spec.hosts
        client = redis.Redis(host=host, port=port, db=spec.db, **common)
    # Connections the pool opens from now on (it has none yet) pack with
    # hiredis alone.
    client.connection_pool.connection_kwargs['command_packer'] = PACKER
    return client


class HiredisPacker:
    """Packs commands with hiredis alone.

    redis-py's own packer first encodes each argument in Python (five
    isinstance calls for a str), which was 8% of the CPU of a ten-message
    post (about 60 arguments to the post script). hiredis takes str (as
    UTF-8), int, float (as repr) and bytes itself, as redis-py would
    encode them; anything else (a bool, a memoryview, a command name with
    a space) goes to redis-py's packer, which refuses or handles it as it
    always did.
    """

    def __init__(self) -> None:
        self._fallback = redis.connection.PythonRespSerializer(
            6000, redis.connection.Encoder('utf-8', 'strict', False).encode)

    def pack(self, *args: object) -> list[bytes]:
        if isinstance(args[0], str) and ' ' in args[0]:
            return self._fallback.pack(*args)
        try:
            return [hiredis.pack_command(args)]
        except TypeError:
            return self._fallback.pack(*args)


PACKER = HiredisPacker()


# Clients of this process by settings: the message and management stores
# often share one server, and so share one connection pool. The pid keeps
# a forked child from reusing its parent's sockets.
_CLIENTS: dict[tuple, Client] = {}
_LOCK = threading.Lock()


def client_for(uri: str, max_reconnect_attempts: int,
               reconnect_sleep: float) -> Client:
    key = (os.getpid(), uri, max_reconnect_attempts, reconnect_sleep)
    with _LOCK:
        if key not in _CLIENTS:
            _CLIENTS[key] = make_client(uri, max_reconnect_attempts,
                                        reconnect_sleep)
        return _CLIENTS[key]


class Held:
    """Connections of one client's pool kept by this process between
    commands, instead of going back to the pool after each.

    redis-py's checkout and return (a lock, a poll of the socket for stray
    data, its observability counters and an event) were 6% of the
    instructions of a message post, and of a claim with its deletes. A
    connection comes back here only after a whole reply was read, so it
    holds no stray data; one that failed goes back to the pool
    disconnected, and the pool connects it again when next asked. Any
    thread may take one: a list's pop and append are atomic.
    """

    def __init__(self, pool: redis.ConnectionPool) -> None:
        self._pool = pool
        self._idle: list[redis.connection.AbstractConnection] = []

    def take(self) -> redis.connection.AbstractConnection:
        try:
            return self._idle.pop()
        except IndexError:
            return self._pool.get_connection()

    def keep(self, conn: redis.connection.AbstractConnection) -> None:
        """``conn`` read its last reply whole."""
        self._idle.append(conn)

    def forget(self) -> None:
        """Keep none of the connections kept so far, unclosed (they are
        a parent process's)."""
        self._idle = []

    def drop(self, conn: redis.connection.AbstractConnection) -> None:
        """``conn`` failed, or was interrupted: where its stream stands is
        unknown."""
        conn.disconnect()
        self._pool.release(conn)


_HELD: weakref.WeakKeyDictionary[redis.Redis, Held] = (
    weakref.WeakKeyDictionary())


def _forget_held() -> None:
    # A forked child: its parent's sockets are not its own (the pools
    # forget them too). Here rather than a pid check on every take: that
    # is a system call.
    for found in list(_HELD.values()):
        found.forget()


os.register_at_fork(after_in_child=_forget_held)


def held(client: redis.Redis) -> Held:
    """The connections this process keeps of ``client``'s pool."""
    with _LOCK:
        found = _HELD.get(client)
        if found is None:
            found = _HELD[client] = Held(client.connection_pool)
        return found
