"""Upstream's Redis URIs, and a connection that reads upstream's keys
(retrying briefly, with clear errors)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from typing import TypeVar

import redis
import redis.backoff
import redis.retry
import redis.sentinel

from zaqar_core import uris
from zaqar_core.importing.sources import SourceError
from zaqar_core.storage import errors
from zaqar_plugins.storage.redis import connection as storage_connection
from zaqar_plugins.upstream.redis.layout import MIN_SOCKET_TIMEOUT
from zaqar_plugins.upstream.redis.layout import OWN_LAYOUT_PATTERN
from zaqar_plugins.upstream.redis.layout import PAGE
from zaqar_plugins.upstream.redis.layout import RETRIES
from zaqar_plugins.upstream.redis.layout import Hash
from zaqar_plugins.upstream.redis.layout import chunks
from zaqar_plugins.upstream.redis.layout import text
from zaqar_plugins.upstream.redis.layout import wrong_type

T = TypeVar('T')

# -- URIs ------------------------------------------------------------------

def upstream_form(uri: str) -> str:
    """``uri`` for this project's Redis driver, meaning what it meant to
    upstream: a ``/N`` path selects no database upstream (only
    ``?dbid=N`` does), while this project reads it as one, so it is
    dropped; a unix socket's path stays.

    Otherwise upstream's URIs are this project's (its driver accepts
    upstream's configuration): ``redis://[[user]:password@]host[:port]``,
    ``redis://[:password@]/path/to/redis.sock``, Sentinel's
    ``redis://h1[:p1],h2[:p2]?master=name``, with ``dbid``,
    ``socket_timeout``, ``sentinel_username`` and ``sentinel_password``.
    One difference stays: this project percent-decodes credentials.
    """
    scheme, sep, rest = uri.partition('://')
    location, question, query = rest.partition('?')
    credentials, at, place = location.rpartition('@')
    if place.startswith('/'):
        return uri
    hosts = place.partition('/')[0]
    return (f'{scheme}{sep}{credentials}{at}{hosts}'
            f'{question}{query}')


def connect(uri: str) -> storage_connection.Client:
    """A client of upstream's store at ``uri`` (bytes in, bytes out:
    bodies are msgpack), retrying a lost connection briefly; nothing is
    connected yet."""
    shown = uris.redacted(uri)
    if uri.partition('://')[0] != 'redis':
        raise SourceError(f'{shown}: an upstream Redis store URI starts '
                          f'with redis://')
    form = upstream_form(uri)
    try:
        spec = storage_connection.parse_uri(form)
        return storage_connection.make_client(
            form, max_reconnect_attempts=RETRIES, reconnect_sleep=0.2,
            socket_timeout=max(spec.socket_timeout, MIN_SOCKET_TIMEOUT),
            decode_responses=False)
    except errors.Unavailable as exc:
        raise SourceError(str(exc)) from None


# -- the connection --------------------------------------------------------

class Store:
    """One upstream Redis database: its client, and errors as
    :class:`SourceError`."""

    def __init__(self, uri: str) -> None:
        self.shown = uris.redacted(uri)
        self.client = connect(uri)
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

    def records(self, keys: list[str], fields: Iterable[str],
                required: Iterable[str], what: str,
                build: Callable[[str, Hash], T]) -> Iterator[T]:
        """``build(key, hash)`` of each of ``keys``, in order, that holds
        a hash with every ``required`` field: Redis drops an expired
        message's or subscription's hash, not its id, and a write of a
        few fields may land after it expired.

        Raises:
            SourceError: ``build`` cannot read a hash (``what`` names its
                kind in the message).
        """
        required = tuple(required)
        for key, info in self.hashes(keys, fields):
            if not info or any(field not in info for field in required):
                continue
            try:
                yield build(key, info)
            except (ValueError, UnicodeDecodeError) as exc:
                raise SourceError(f'{self.shown}: {what} {key} is not in '
                                  f'upstream\'s layout ({exc})') from None

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


class RedisReader:
    """What both readers of upstream's Redis stores share: upstream's
    default URI, the scheme, and a connection made at once
    (:class:`SourceError` if it cannot)."""

    default_uri = 'redis://127.0.0.1:6379'

    @classmethod
    def serves(cls, uri: str) -> bool:
        return uri.partition(':')[0].lower() == 'redis'

    def __init__(self, uri: str) -> None:
        super().__init__(uri)  # type: ignore[call-arg]
        self._store = Store(uri)

    def close(self) -> None:
        self._store.close()
