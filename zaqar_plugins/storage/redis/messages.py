"""Messages on Redis (the layout is in :mod:`.keys`)."""

from __future__ import annotations

from zaqar_core.storage import base
from zaqar_core.storage import errors
from zaqar_plugins.storage.redis import connection
from zaqar_plugins.storage.redis import keys
from zaqar_plugins.storage.redis import records
from zaqar_plugins.storage.redis import scripts


def queue_keys(project: str, queue: str) -> list[str]:
    return keys.queue_keys(keys.queue_prefix(project, queue))


class MessageController(base.MessageControllerBase):
    def __init__(self, client: connection.Client) -> None:
        self._scripts = scripts.Scripts(client)

    def post_counting_subscriptions(
            self, project: str, queue: str, messages: list[base.NewMessage],
            client_uuid: str) -> tuple[list[str], int]:
        at = records.now()
        args: list = [repr(at)]
        for message in messages:
            args += [message['ttl'], message['delay'],
                     records.pack(client_uuid, at, message)]
        prefix = keys.queue_prefix(project, queue)
        # The source's subscription ids: same hash tag, so same node.
        ids, count = self._scripts.run(
            'post', [keys.seq_key(keys.project_prefix(project)),
                     *keys.queue_keys(prefix),
                     keys.subscription_ids_key(prefix)], args)
        return ids, count

    def list(self, project: str, queue: str, marker: str | None = None,
             limit: int = 10, echo: bool = False,
             client_uuid: str | None = None, include_claimed: bool = False,
             include_delayed: bool = False) -> tuple[list[base.Message],
                                                     str | None]:
        at = records.now()
        skip = '' if echo or client_uuid is None else client_uuid
        found = self._scripts.run('list', queue_keys(project, queue), [
            repr(at), marker if records.valid_id(marker) else '', limit,
            skip, int(include_claimed), int(include_delayed)])
        messages = [records.unpack(at, entry) for entry in found]
        return messages, (messages[-1]['id'] if messages else None)

    def bulk_get(self, project: str, queue: str,
                 message_ids: list[str]) -> list[base.Message]:
        ids = sorted({i for i in message_ids if records.valid_id(i)},
                     key=int)
        if not ids:
            return []
        at = records.now()
        found = self._scripts.run('get', queue_keys(project, queue),
                                  [repr(at), *ids])
        return [records.unpack(at, entry) for entry in found]

    def delete(self, project: str, queue: str, message_id: str,
               claim_id: str | None = None) -> None:
        if not records.valid_id(message_id):
            return
        outcome = self._scripts.run(
            'delete', queue_keys(project, queue),
            [repr(records.now()), message_id,
             *(['0'] if claim_id is None else ['1', claim_id])])
        if outcome == 1:
            raise errors.MessageIsClaimed(message_id)
        if outcome == 2:
            raise errors.MessageNotClaimed(message_id)
        if outcome == 3:
            raise errors.ClaimDoesNotMatch(message_id)

    def bulk_delete(self, project: str, queue: str, message_ids: list[str],
                    claim_ids: list[str] | None = None) -> None:
        ids = [i for i in message_ids if records.valid_id(i)]
        if not ids:
            return
        # A claim id is a uuid hex, never '-'; '-' alone marks "no claim
        # ids given".
        allowed = ['-'] if claim_ids is None else \
            [c for c in claim_ids if c != '-'] or ['']
        held = self._scripts.run(
            'bulk_delete', queue_keys(project, queue),
            [repr(records.now()), len(ids), *ids, *allowed])
        if held:
            raise errors.MessageIsClaimed(held)

    def pop(self, project: str, queue: str, limit: int) -> list[base.Message]:
        at = records.now()
        found = self._scripts.run('pop', queue_keys(project, queue),
                                  [repr(at), limit])
        claim_id = records.new_claim_id()
        messages = [records.unpack(at, entry) for entry in found]
        for message in messages:
            message['claim_id'] = claim_id
        return messages

    def stats(self, project: str, queue: str) -> base.QueueStats:
        at = records.now()
        claimed, total, *ends = self._scripts.run(
            'stats', queue_keys(project, queue), [repr(at)])
        stats: base.QueueStats = {'claimed': claimed,
                                  'free': total - claimed, 'total': total}
        if total:
            for key, (record, message_id) in (('oldest', ends[0:2]),
                                              ('newest', ends[2:4])):
                created = records.created_of(record) if record else at
                stats[key] = {'id': message_id,
                              'age': max(0, int(at - created)),
                              'created': created}
        return stats

    def purge(self, project: str, queue: str) -> None:
        self._scripts.run('purge', queue_keys(project, queue), [])
