"""Upstream's Redis key names and hash fields, and decoding their values."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgpack
import redis
import redis.backoff
import redis.retry
import redis.sentinel

from zaqar_core.importing.sources import SourceError

#: Upstream's default socket timeout (0.1 s) suits a service's short
#: commands; pipelines of thousands of hashes need longer. A URI's
#: ``socket_timeout`` is raised to this at least.
MIN_SOCKET_TIMEOUT = 5.0
#: Keys per SCAN step, members per ZRANGE page, hashes per pipeline.
PAGE = 1000
#: Reads are retried on a connection failure, briefly (under a second):
#: an import that fails is run again, and resumes where it stopped.
RETRIES = 3

QUEUES_SET_SUFFIX = '.queues_set'
MESSAGES_SUFFIX = '.messages'
SUBSCRIPTIONS_SUFFIX = '.subscriptions'
MSGSET_INDEX = 'msgset_index'
#: Upstream defines this index of subscription sets but never writes it;
#: read in case a deployment has it.
SUBSET_INDEX = 'subset_index'
POOLS_SET = 'pools'
POOLS_SUFFIX = '.pools'
FLAVORS_SET = 'flavors'
FLAVORS_SUFFIX = '.flavors'
CATALOGUE_PREFIX = 'catalogue.'
#: A key of zaqar-core's own Redis layout (:mod:`zaqar_plugins.storage.
#: redis.keys`): found where upstream's are not, the URI names the new
#: deployment's store.
OWN_LAYOUT_PATTERN = 'z:*'

#: A message's hash: id, ttl, created, expires, client uuid, claim id
#: ('' when none), claim expires, claim count, delay expires (absent
#: before delays existed), checksum (optional), body (msgpack).
MESSAGE_FIELDS = ('id', 't', 'cr', 'e', 'u', 'c', 'c.e', 'c.c', 'd', 'cs',
                  'b')
#: Without these a hash is no message: a write of a few fields (a claim
#: count, a dead-letter TTL) that landed after the message expired.
MESSAGE_REQUIRED = ('t', 'cr', 'e', 'b')
#: A subscription's hash: id, source queue, subscriber, ttl, expires,
#: options (msgpack), project, confirmed (0 or 1).
SUBSCRIPTION_FIELDS = ('id', 's', 'u', 't', 'e', 'o', 'p', 'c')
#: Without these upstream cannot show a subscription either.
SUBSCRIPTION_REQUIRED = ('s', 'u', 't', 'e')

Hash = dict[str, bytes]



# -- decoding --------------------------------------------------------------

def text(value: bytes) -> str:
    return value.decode('utf-8')


def number(value: bytes) -> float:
    return float(value)


def unpack(value: bytes, what: str) -> Any:
    """A msgpack value as upstream's unpacker reads it (strings as
    ``str``, binary as ``bytes``)."""
    try:
        return msgpack.unpackb(value, raw=False, strict_map_key=False)
    except Exception as exc:  # msgpack raises several unrelated types
        raise SourceError(f'{what}: not msgpack ({exc})') from None


def mapping(value: bytes | None, what: str) -> dict[str, Any]:
    """Msgpack that must hold a map; absent is empty."""
    if value is None:
        return {}
    found = unpack(value, what)
    if not isinstance(found, dict):
        raise SourceError(f'{what}: expected a map, found '
                          f'{type(found).__name__}')
    return found


def split_scoped(key: str, suffix: str) -> tuple[str, str] | None:
    """``(project, queue)`` of ``<project>.<queue><suffix>``, or None.

    Upstream splits such keys at every ``.`` and so misreads a queue name
    holding one (which its names allow). Keystone project ids are hex and
    hold none, so here the project ends at the first ``.`` and the queue
    is everything between it and the suffix. Only a project holding a
    ``.`` (possible without Keystone) is misread; readers that know the
    project (:meth:`RedisMessages.batches`) build the key instead.
    """
    if not key.endswith(suffix):
        return None
    project, dot, queue = key[:-len(suffix)].partition('.')
    if not dot or not queue:
        return None
    return project, queue


def chunks(items: list[str], size: int = PAGE) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def wrong_type(exc: Exception) -> bool:
    return isinstance(exc, redis.ResponseError) and \
        str(exc).startswith('WRONGTYPE')
