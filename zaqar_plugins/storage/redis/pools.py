"""Pools, flavors and the queue catalogue on Redis.

Every operation is one call of ``pooling.lua`` over the pooling keys
(layout in :mod:`.keys`), which share one hash tag: each is atomic, on a
Redis Cluster too. A flavor's pools are the pools tagged with its name.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from zaqar_core.storage import pools as pooling
from zaqar_plugins.storage.redis import connection
from zaqar_plugins.storage.redis import keys
from zaqar_plugins.storage.redis import scripts

# Fields of a pool as the script returns it, one pool after the other.
_POOL_FIELDS = 5

# Outcomes of the script's pool writes and deletes, and of its flavor
# writes (see pooling.lua); both use _MISSING.
_MISSING, _DONE, _DUPLICATE, _IN_USE = 0, 1, 2, 3
_TAKEN, _POOLS_MISSING = 1, 2


class _Pooling:
    """Runs the operations of ``pooling.lua``."""

    def __init__(self, client: connection.Client) -> None:
        self._scripts = scripts.Scripts(client)
        self._keys = keys.pooling_keys()

    def __call__(self, operation: str, *args: Any) -> Any:
        return self._scripts.run('pooling', self._keys, [operation, *args])


def _pools(found: list[str]) -> list[pooling.Pool]:
    """Pools from the script's ``name, uri, weight, flavor, options``."""
    return [pooling.Pool(name=name, uri=uri, weight=int(weight),
                         flavor=flavor or None, options=json.loads(options))
            for name, uri, weight, flavor, options in zip(
                *[iter(found)] * _POOL_FIELDS, strict=True)]


def _flavors(project: str, found: list[Any]) -> list[pooling.Flavor]:
    """Flavors from the script's ``name, number of pools, pools...``."""
    flavors = []
    at = 0
    while at < len(found):
        name, size = found[at], int(found[at + 1])
        members = found[at + 2:at + 2 + size]
        flavors.append(pooling.Flavor(name, project, tuple(sorted(members))))
        at += 2 + size
    return flavors


class PoolController(pooling.PoolControllerBase):
    def __init__(self, client: connection.Client) -> None:
        self._run = _Pooling(client)

    def get(self, name: str) -> pooling.Pool | None:
        found = _pools(self._run('pool_get', name))
        return found[0] if found else None

    def list(self, marker: str | None = None,
             limit: int = 10) -> list[pooling.Pool]:
        return _pools(self._run('pool_list', marker or '', int(limit)))

    def write(self, name: str, create: bool, fields: dict[str, Any]
              ) -> tuple[bool, pooling.Pool | None]:
        args: list[Any] = []
        for field, value in fields.items():
            if field == 'weight':
                value = int(value)
            elif field == 'flavor':
                value = value or ''
            elif field == 'options':
                value = json.dumps(value)
            args += [field, value]
        outcome, *rest = self._run('pool_write', name,
                                   '1' if create else '0', *args)
        if outcome == _MISSING:
            return False, None
        if outcome == _DUPLICATE:
            raise pooling.DuplicateUri(fields['uri'], rest[0])
        if outcome == _IN_USE:
            raise pooling.PoolInUse(name, int(rest[0]))
        created, *pool = rest
        return created == 1, _pools(pool)[0]

    def delete(self, name: str) -> bool:
        outcome, *rest = self._run('pool_delete', name)
        if outcome == _IN_USE:
            raise pooling.PoolInUse(name, int(rest[0]))
        return outcome == _DONE

    def with_flavor(self, flavor: str | None) -> list[pooling.Pool]:
        return _pools(self._run('pool_with_flavor', flavor or ''))


class FlavorController(pooling.FlavorControllerBase):
    def __init__(self, client: connection.Client) -> None:
        self._run = _Pooling(client)

    def get(self, project: str, name: str) -> pooling.Flavor | None:
        found = _flavors(project, self._run('flavor_get', project, name))
        return found[0] if found else None

    def list(self, project: str, marker: str | None = None,
             limit: int = 10) -> list[pooling.Flavor]:
        return _flavors(project, self._run('flavor_list', project,
                                           marker or '', int(limit)))

    def delete(self, project: str, name: str) -> bool:
        return self._run('flavor_delete', project, name) == 1

    def write(self, project: str, name: str, members: Sequence[str],
              create: bool) -> tuple[bool, pooling.Flavor | None]:
        wanted = sorted(set(members))
        outcome, *rest = self._run('flavor_write', project, name,
                                   '1' if create else '0', *wanted)
        if outcome == _MISSING:
            return False, None
        if outcome == _TAKEN:
            raise pooling.FlavorTaken(name)
        if outcome == _POOLS_MISSING:
            raise pooling.PoolNotFound(rest)
        return rest[0] == 1, pooling.Flavor(name, project, tuple(wanted))


class CatalogueController(pooling.CatalogueControllerBase):
    def __init__(self, client: connection.Client) -> None:
        self._run = _Pooling(client)

    def place(self, project: str, queue: str, pool: str) -> str:
        mapped = self._run('place', project, queue, pool)
        if mapped is None:
            raise pooling.PoolNotFound(pool)
        return mapped

    def lookup(self, project: str, queue: str) -> str | None:
        return self._run('lookup', project, queue)

    def move(self, project: str, queue: str, from_pool: str,
             to_pool: str) -> bool:
        moved = self._run('move', project, queue, from_pool, to_pool)
        if moved == -1:
            raise pooling.PoolNotFound(to_pool)
        return moved == 1

    def remove(self, project: str, queue: str) -> None:
        self._run('remove', project, queue)

    def count(self, pool: str) -> int:
        return int(self._run('count', pool))

    def placed(self, pool: str, marker: tuple[str, str] | None = None,
               limit: int = 100) -> list[tuple[str, str]]:
        after = '' if marker is None else _pair(*marker)
        return [_unpair(found)
                for found in self._run('placed', pool, after, limit)]


def _pair(first: str, second: str) -> str:
    """pooling.lua's pair: the first string's length in bytes, ':', both."""
    return f'{len(first.encode())}:{first}{second}'


def _unpair(found: str | bytes) -> tuple[str, str]:
    raw = found if isinstance(found, bytes) else found.encode()
    length, _, rest = raw.partition(b':')
    size = int(length)
    return rest[:size].decode(), rest[size:].decode()
