"""Upstream's Redis management store."""

from __future__ import annotations

from collections.abc import Iterator

from zaqar_core.importing.sources import ManagementSource
from zaqar_core.importing.sources import UpstreamFlavor
from zaqar_core.importing.sources import UpstreamPool
from zaqar_core.importing.sources import UpstreamQueue
from zaqar_plugins.upstream.redis.connection import RedisReader
from zaqar_plugins.upstream.redis.layout import CATALOGUE_PREFIX
from zaqar_plugins.upstream.redis.layout import FLAVORS_SET
from zaqar_plugins.upstream.redis.layout import FLAVORS_SUFFIX
from zaqar_plugins.upstream.redis.layout import POOLS_SET
from zaqar_plugins.upstream.redis.layout import POOLS_SUFFIX
from zaqar_plugins.upstream.redis.layout import QUEUES_SET_SUFFIX
from zaqar_plugins.upstream.redis.layout import chunks
from zaqar_plugins.upstream.redis.layout import mapping
from zaqar_plugins.upstream.redis.layout import number
from zaqar_plugins.upstream.redis.layout import text

# -- the management store --------------------------------------------------

class RedisManagement(RedisReader, ManagementSource):
    """Upstream's Redis management store: queues (with their metadata),
    pools, flavors and the catalogue. Constructed as ``Cls(uri)``, with
    upstream's ``[drivers:management_store:redis] uri``; it connects at
    once (:class:`SourceError` if it cannot)."""

    def queues(self) -> Iterator[UpstreamQueue]:
        sets = self._store.scan(f'*{QUEUES_SET_SUFFIX}', 'zset')
        if not sets:
            self._store.check_upstream()
        projects = sorted(key[:-len(QUEUES_SET_SUFFIX)] for key in sets)
        for project in projects:
            # Members are "<project>.<queue>": the project is known here,
            # so a queue name holding '.' is read whole.
            prefix = f'{project}.'
            names = sorted(
                member[len(prefix):] for member in self._store.members(
                    f'{project}{QUEUES_SET_SUFFIX}')
                if member.startswith(prefix) and len(member) > len(prefix))
            for chunk in chunks(names):
                for key, info in self._store.hashes(
                        [prefix + name for name in chunk], ['m']):
                    name = key[len(prefix):]
                    # A queue listed without its hash has no metadata.
                    metadata = mapping(
                        info.get('m') if info else None,
                        f'metadata of queue {name!r} of project '
                        f'{project!r}')
                    yield UpstreamQueue(project, name, metadata)

    def pools(self) -> list[UpstreamPool]:
        keys = self._store.members(POOLS_SET)
        found = []
        for key, info in self._store.hashes(keys,
                                            ['pl', 'u', 'w', 'o', 'f']):
            if not info or 'u' not in info:
                continue  # listed, but its hash was never written
            name = text(info['pl']) if 'pl' in info else \
                key.removesuffix(POOLS_SUFFIX)
            flavor = text(info['f']) if info.get('f') else None
            found.append(UpstreamPool(
                name=name, uri=text(info['u']),
                weight=int(number(info.get('w', b'0'))),
                options=mapping(info.get('o'), f'options of pool {name!r}'),
                flavor=flavor))
        return sorted(found, key=lambda pool: pool.name)

    def flavors(self) -> list[UpstreamFlavor]:
        keys = self._store.members(FLAVORS_SET)
        found = []
        for key, info in self._store.hashes(keys, ['f', 'p', 'c']):
            if not info:
                continue
            name = text(info['f']) if 'f' in info else \
                key.removesuffix(FLAVORS_SUFFIX)
            found.append(UpstreamFlavor(name=name,
                                        project=text(info.get('p', b''))))
        return sorted(found, key=lambda flavor: (flavor.name,
                                                 flavor.project))

    def catalogue(self) -> Iterator[tuple[str, str, str]]:
        keys = self._store.scan(f'{CATALOGUE_PREFIX}*', 'hash')
        entries = []
        for key, info in self._store.hashes(keys,
                                            ['p', 'p_q', 'p_p', 'pl']):
            # Other hashes may match (the queue "x" of a project named
            # "catalogue"): entries are those naming a queue and a pool.
            pool = (info or {}).get('p_p') or (info or {}).get('pl')
            if not info or not info.get('p_q') or not pool:
                continue
            queue = text(info['p_q'])
            # Upstream writes the project beside the queue; were it
            # absent, the key holds it before ".<queue>".
            project = text(info['p']) if 'p' in info else \
                key[len(CATALOGUE_PREFIX):-len(queue) - 1]
            entries.append((project, queue, text(pool)))
        yield from sorted(entries)
