"""Claims on Redis: each operation is one script over the queue's keys
(and, for dead-letter moves, the dead-letter queue's, in the same slot)."""

from __future__ import annotations

from zaqar_core.storage import base
from zaqar_core.storage import errors
from zaqar_core.storage import ids as message_codec
from zaqar_plugins.storage.redis import connection
from zaqar_plugins.storage.redis import keys
from zaqar_plugins.storage.redis import records
from zaqar_plugins.storage.redis import scripts
from zaqar_plugins.storage.redis.messages import checked
from zaqar_plugins.storage.redis.messages import metadata_digest
from zaqar_plugins.storage.redis.messages import queue_keys


class ClaimController(base.ClaimControllerBase):
    def __init__(self, client: connection.Client,
                 id_keys: message_codec.KeyCache) -> None:
        self._scripts = scripts.Scripts(client)
        self._keys = id_keys

    def create(self, project: str, queue: str, ttl: int, grace: int,
               limit: int, dead_letter: base.DeadLetter | None = None,
               seen_metadata: str | None = None
               ) -> tuple[str | None, list[base.Message], int]:
        at = records.now()
        claim_id = records.new_claim_id()
        own = queue_keys(project, queue)
        if dead_letter is None:
            dead, max_count, dead_ttl = own, -1, 0
        else:
            dead = queue_keys(project, dead_letter['queue'])
            max_count = dead_letter['max_claim_count']
            dead_ttl = dead_letter['ttl'] or 0
        moved, *found = checked(self._scripts.run(
            'claim_create', [*own, *dead, keys.catalogue_keys(project)[1]],
            [repr(at), claim_id, ttl, grace, limit, max_count, dead_ttl,
             metadata_digest(seen_metadata), queue]))
        if not found:
            return None, [], moved
        codec = self._keys.encoder(project)
        return claim_id, [records.unpack(at, e, codec) for e in found], moved

    def get(self, project: str, queue: str,
            claim_id: str) -> tuple[base.ClaimInfo, list[base.Message]]:
        at = records.now()
        found = self._scripts.run('claim_get', queue_keys(project, queue),
                                  [repr(at), claim_id])
        if not found:
            raise errors.ClaimDoesNotExist(claim_id, queue)
        ttl, created, *held = found
        info: base.ClaimInfo = {'id': claim_id, 'ttl': int(float(ttl)),
                                'age': max(0, int(at - float(created)))}
        codec = self._keys.encoder(project)
        return info, [records.unpack(at, e, codec) for e in held]

    def update(self, project: str, queue: str, claim_id: str, ttl: int,
               grace: int) -> None:
        if not self._scripts.run(
                'claim_update', queue_keys(project, queue),
                [repr(records.now()), claim_id, ttl, grace]):
            raise errors.ClaimDoesNotExist(claim_id, queue)

    def delete(self, project: str, queue: str, claim_id: str) -> None:
        self._scripts.run('claim_delete', queue_keys(project, queue),
                          [repr(records.now()), claim_id])
