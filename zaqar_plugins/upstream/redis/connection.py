"""Upstream's Redis URIs, and a connection that reads upstream's keys
(retrying briefly, with clear errors)."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterable
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl
from urllib.parse import urlsplit

import redis
import redis.backoff
import redis.retry
import redis.sentinel

from zaqar_core import uris
from zaqar_core.importing.sources import SourceError
from zaqar_plugins.upstream.redis.layout import DEFAULT_PORT
from zaqar_plugins.upstream.redis.layout import DEFAULT_SENTINEL_PORT
from zaqar_plugins.upstream.redis.layout import MIN_SOCKET_TIMEOUT
from zaqar_plugins.upstream.redis.layout import OWN_LAYOUT_PATTERN
from zaqar_plugins.upstream.redis.layout import PAGE
from zaqar_plugins.upstream.redis.layout import RETRIES
from zaqar_plugins.upstream.redis.layout import Hash
from zaqar_plugins.upstream.redis.layout import chunks
from zaqar_plugins.upstream.redis.layout import text
from zaqar_plugins.upstream.redis.layout import wrong_type

# -- URIs ------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class RedisTarget:
    """Where an upstream Redis URI points."""

    kind: str  # 'tcp', 'unix' or 'sentinel'
    hosts: tuple[tuple[str, int], ...] = ()
    path: str = ''
    db: int = 0
    username: str | None = None
    password: str | None = None
    socket_timeout: float = MIN_SOCKET_TIMEOUT
    master: str | None = None
    sentinel_username: str | None = None
    sentinel_password: str | None = None


def parse_uri(uri: str) -> RedisTarget:
    """Parse one of upstream's Redis URIs, as upstream does:

    * ``redis://[[user]:password@]host[:port][?options]``
    * ``redis://[[user]:password@]/path/to/redis.sock[?options]``
    * ``redis://[[user]:password@]h1[:p1],h2[:p2]...?master=name``
      (Sentinel; the default port is 26379)

    Options: ``dbid`` (the database; a ``/N`` path is no database
    number upstream, so it is ignored here too), ``socket_timeout``,
    ``master``, ``sentinel_username``, ``sentinel_password``. A user needs
    a password (upstream refuses one without); credentials are taken
    verbatim, as upstream passes them, not percent-decoded.
    """
    shown = uris.redacted(uri)
    parts = urlsplit(uri)
    if parts.scheme != 'redis':
        raise SourceError(f'{shown}: an upstream Redis store URI starts '
                          f'with redis://')
    query = dict(parse_qsl(parts.query))
    netloc = parts.netloc
    username = password = None
    if '@' in netloc:
        credentials, _, netloc = netloc.rpartition('@')
        user, _, secret = credentials.partition(':')
        username, password = user or None, secret or None
    if username and not password:
        raise SourceError(f'{shown}: a user without a password (upstream '
                          f'refuses such a URI)')
    try:
        timeout = float(query.get('socket_timeout', 0))
        db = int(query.get('dbid', 0))
    except ValueError:
        raise SourceError(f'{shown}: dbid and socket_timeout must be '
                          f'numbers') from None
    common: dict[str, Any] = {
        'db': db, 'username': username, 'password': password,
        'socket_timeout': max(timeout, MIN_SOCKET_TIMEOUT),
        'sentinel_username': query.get('sentinel_username'),
        'sentinel_password': query.get('sentinel_password')}
    if 'master' in query:
        hosts = tuple(_host_port(host, DEFAULT_SENTINEL_PORT, shown)
                      for host in netloc.split(',') if host)
        if not hosts:
            raise SourceError(f'{shown}: names no Sentinel host')
        return RedisTarget('sentinel', hosts=hosts, master=query['master'],
                           **common)
    if netloc:
        if ',' in netloc:
            raise SourceError(f'{shown}: several hosts need ?master=<name> '
                              f'(Sentinel)')
        return RedisTarget(
            'tcp', hosts=(_host_port(netloc, DEFAULT_PORT, shown),),
            **common)
    if not parts.path:
        raise SourceError(f'{shown}: names neither a host nor a socket')
    return RedisTarget('unix', path=parts.path, **common)


def _host_port(text: str, default: int, shown: str) -> tuple[str, int]:
    if text.startswith('['):  # [IPv6]:port
        host, _, rest = text[1:].partition(']')
        port = rest[1:] if rest.startswith(':') else ''
    elif text.count(':') == 1:
        host, port = text.split(':')
    else:
        host, port = text, ''
    if not host:
        raise SourceError(f'{shown}: a host name is missing')
    try:
        return host, int(port) if port else default
    except ValueError:
        raise SourceError(f'{shown}: bad port in "{text}"') from None


def _connect(target: RedisTarget
             ) -> tuple[redis.Redis, redis.sentinel.Sentinel | None]:
    """A client (bytes in, bytes out: bodies are msgpack) and the
    Sentinel it came from, if any; nothing is connected yet."""
    common: dict[str, Any] = {
        'db': target.db, 'username': target.username,
        'password': target.password,
        'socket_timeout': target.socket_timeout,
        'socket_connect_timeout': target.socket_timeout,
        'retry': redis.retry.Retry(
            redis.backoff.ExponentialBackoff(cap=0.5, base=0.1), RETRIES)}
    if target.kind == 'sentinel':
        sentinel = redis.sentinel.Sentinel(
            list(target.hosts),
            sentinel_kwargs={'username': target.sentinel_username,
                             'password': target.sentinel_password,
                             'socket_timeout': target.socket_timeout},
            **common)
        assert target.master is not None
        return sentinel.master_for(target.master), sentinel
    if target.kind == 'unix':
        return redis.Redis(unix_socket_path=target.path, **common), None
    [(host, port)] = target.hosts
    return redis.Redis(host=host, port=port, **common), None



# -- the connection --------------------------------------------------------

class Store:
    """One upstream Redis database: its client, and errors as
    :class:`SourceError`."""

    def __init__(self, uri: str) -> None:
        self.shown = uris.redacted(uri)
        self.client, self._sentinel = _connect(parse_uri(uri))
        try:
            with self.errors():
                self.client.ping()
        except BaseException:
            self.close()
            raise

    @contextlib.contextmanager
    def errors(self) -> Iterator[None]:
        try:
            yield
        except redis.AuthenticationError as exc:
            raise SourceError(f'The upstream Redis store {self.shown} '
                              f'refused the credentials: {exc}') from None
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise SourceError(f'Cannot reach the upstream Redis store '
                              f'{self.shown}: {exc}') from None
        except redis.ResponseError as exc:
            if wrong_type(exc):
                raise SourceError(
                    f'{self.shown} is not in upstream Zaqar\'s Redis layout: '
                    f'a key has another type than upstream gives it '
                    f'({exc})') from None
            raise SourceError(f'The upstream Redis store {self.shown} '
                              f'refused a read: {exc}') from None
        except redis.RedisError as exc:
            raise SourceError(f'Reading the upstream Redis store '
                              f'{self.shown} failed: {exc}') from None

    def close(self) -> None:
        self.client.close()
        if self._sentinel is not None:
            for sentinel in self._sentinel.sentinels:
                sentinel.close()

    def scan(self, pattern: str, kind: str) -> list[str]:
        """Every key matching ``pattern`` whose type is ``kind``, sorted.

        The type is asked separately rather than through SCAN's ``TYPE``
        (Redis 6): upstream runs on older servers too.
        """
        with self.errors():
            found = [text(key) for key in
                     self.client.scan_iter(match=pattern, count=PAGE)]
            typed = []
            for chunk in chunks(sorted(set(found))):
                with self.client.pipeline(transaction=False) as pipe:
                    for key in chunk:
                        pipe.type(key)
                    types = pipe.execute()
                typed += [key for key, type_ in zip(chunk, types, strict=True)
                          if type_ == kind.encode()]
        return typed

    def members(self, key: str) -> list[str]:
        """A sorted set's members, by score."""
        found: list[str] = []
        with self.errors():
            while True:
                page = self.client.zrange(key, len(found),
                                          len(found) + PAGE - 1)
                found += [text(member) for member in page]
                if len(page) < PAGE:
                    return found

    def hashes(self, keys: list[str], fields: Iterable[str]
               ) -> list[tuple[str, Hash | None]]:
        """Each key, with ``fields`` of its hash (those it holds), or None
        where no hash is."""
        wanted = {field.encode(): field for field in fields}
        found: list[tuple[str, Hash | None]] = []
        with self.errors():
            for chunk in chunks(keys):
                # HGETALL, not HMGET: redis-py packs commands in Python,
                # at a cost per argument, which was most of an import's
                # reading time with eleven fields per message.
                with self.client.pipeline(transaction=False) as pipe:
                    for key in chunk:
                        pipe.hgetall(key)
                    results = pipe.execute(raise_on_error=False)
                for key, values in zip(chunk, results, strict=True):
                    if isinstance(values, Exception):
                        # A listed key upstream could not make a hash of
                        # (a pool named as a flavor shares "<name>.pools"
                        # with the flavor's set of pools): no record.
                        if not wrong_type(values):
                            raise values
                        found.append((key, None))
                        continue
                    held = {wanted[field]: value
                            for field, value in values.items()
                            if field in wanted}
                    found.append((key, held or None))
        return found

    def check_upstream(self) -> None:
        """Raise :class:`SourceError` if the database holds zaqar-core's
        own keys: called when no upstream key was found, in case the URI
        names the new deployment's store rather than upstream's."""
        with self.errors():
            own = next(iter(self.client.scan_iter(
                match=OWN_LAYOUT_PATTERN, count=PAGE)), None)
        if own is not None:
            raise SourceError(
                f'{self.shown} holds no upstream Zaqar data but keys of '
                f'zaqar-core\'s own layout (such as {text(own)!r}): is it '
                f'the new deployment\'s store rather than upstream\'s?')
