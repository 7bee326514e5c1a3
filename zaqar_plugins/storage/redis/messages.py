"""Messages on Redis (the layout is in :mod:`.keys`)."""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any

from oslo_log import log

from zaqar_core.storage import base
from zaqar_core.storage import errors
from zaqar_core.storage import ids as message_codec
from zaqar_plugins.storage.redis import connection
from zaqar_plugins.storage.redis import keys
from zaqar_plugins.storage.redis import records
from zaqar_plugins.storage.redis import scripts

LOG = log.getLogger(__name__)

#: The queue of each project where a post's fan-out job waits for its
#: poster (see post_counting_subscriptions); no tenant can name it.
FAN_OUT_QUEUE = '\x1ffan-out'


@functools.lru_cache(maxsize=16)
def _destination_json(project: str, queue: str, ttl: int,
                      client_uuid: str) -> str:
    """Where a fan-out job goes, as the job records it (the same for
    every post: made once)."""
    return json.dumps({'project': project, 'queue': queue, 'ttl': ttl,
                       'client_uuid': client_uuid})


def queue_keys(project: str, queue: str) -> list[str]:
    return keys.queue_keys(keys.queue_prefix(project, queue))


def metadata_digest(seen_metadata: str | None) -> str:
    """The script argument for a ``seen_metadata``: its SHA-1, or '' to
    leave the metadata unchecked."""
    if seen_metadata is None:
        return ''
    return hashlib.sha1(seen_metadata.encode(),
                        usedforsecurity=False).hexdigest()


def checked(result: Any) -> Any:
    """A script's result, unless it found the queue's metadata changed
    (common.lua's ``metadata_changed``).

    Raises:
        MetadataChanged: with the metadata now.
    """
    if isinstance(result, list) and result and result[0] == 'changed':
        raise errors.MetadataChanged(result[1] if len(result) > 1 else None)
    return result


def key_cache(client: connection.Client) -> message_codec.KeyCache:
    """Id keys by project, read (and if need be made) by a script; the
    post script makes them too, and returns the one it used."""
    run = scripts.Scripts(client).run

    def load(project: str) -> str | None:
        # Readers get here first after an upgrade from a release without
        # id keys: they need one as much as posts do.
        prefix = keys.project_prefix(project)
        return run('id_key', [keys.id_key(prefix), keys.seq_key(prefix)],
                   [message_codec.new_key()])
    return message_codec.KeyCache(load)


class MessageController(base.MessageControllerBase):
    def __init__(self, client: connection.Client,
                 id_keys: message_codec.KeyCache) -> None:
        self._scripts = scripts.Scripts(client)
        self._keys = id_keys

    def post_counting_subscriptions(
            self, project: str, queue: str, messages: list[base.NewMessage],
            client_uuid: str, fan_out: base.FanOut | None = None,
            once: str | None = None,
            seen_metadata: str | None = None) -> base.Posted | None:
        at = records.now()
        # The script stores this key if the project has none yet.
        args: list = [repr(at), self._keys.cached_key(project)
                      or message_codec.new_key()]
        project_prefix = keys.project_prefix(project)
        prefix = keys.queue_prefix(project, queue)
        # The source's subscription ids, the id key and the fan-out
        # queue: same hash tag, so same node.
        script_keys = [keys.seq_key(project_prefix),
                       *keys.queue_keys(prefix),
                       keys.subscription_ids_key(prefix),
                       keys.id_key(project_prefix),
                       keys.catalogue_keys(project)[1]]
        if fan_out is None:
            args += ['', '', 0, '', 0]
        else:
            subs, _, subexp, _ = keys.subscription_keys(prefix)
            msgs, all_, exp, avail = queue_keys(project, FAN_OUT_QUEUE)[:4]
            script_keys += [subs, subexp, msgs, all_, exp, avail]
            args += [_destination_json(fan_out['project'], fan_out['queue'],
                                       fan_out['ttl'],
                                       fan_out['client_uuid']),
                     json.dumps(fan_out['post']), fan_out['ttl'],
                     fan_out['client_uuid'], int(fan_out['confirmed_only'])]
        args += [once or '', metadata_digest(seen_metadata), queue]
        if once:
            script_keys.append(keys.once_key(prefix))
        for message in messages:
            args += [message['ttl'], message['delay'],
                     records.pack(message.get('client_uuid', client_uuid),
                                  at, message)]
        done = checked(self._scripts.run('post', script_keys, args))
        if done is None:
            return None
        numbers, count, key, job, body = done
        codec = self._keys.put(project, key)
        stored = None
        if job:
            found = json.loads(body)
            del found['to']  # for the move, should its poster not delete it
            stored = base.StoredFanOut(project=project, queue=FAN_OUT_QUEUE,
                                       id=codec.encode(int(job)), body=found)
        return base.Posted([codec.encode(int(n)) for n in numbers], count,
                           stored)

    def _move_fan_out(self, project: str, number: int,
                      to: dict[str, Any], body: dict[str, Any],
                      age: int) -> None:
        """Post a fan-out job where it belongs, expiring as if posted
        there with the messages, then remove it from the project's fan-out
        queue (a crash in between: posted twice)."""
        try:
            self.post(to['project'], to['queue'],
                      [{'body': body, 'ttl': max(1, to['ttl'] - age),
                        'delay': 0}], to['client_uuid'])
            self._scripts.run('delete', queue_keys(project, FAN_OUT_QUEUE),
                              [repr(records.now()), number, '0'])
        except errors.StorageError as exc:
            # The job stays, to be moved at the next collection.
            LOG.warning('Fan-out job of project %r left for the garbage '
                        'collection to move: %s', project, exc)

    def move_stranded_fan_outs(self, project: str) -> int:
        """Move the fan-out jobs of ``project`` that their posters left
        (older than :data:`base.FAN_OUT_GRACE`); how many were moved."""
        at = records.now()
        found = self._scripts.run(
            'list', queue_keys(project, FAN_OUT_QUEUE),
            [repr(at), '', 100, '', 1, 1])
        moved = 0
        for entry in found:
            job = records.unpack(at, entry, self._keys.encoder(project))
            if job['age'] < base.FAN_OUT_GRACE:
                break
            body = dict(job['body'])
            self._move_fan_out(project, int(entry[0]), body.pop('to'),
                               body, job['age'])
            moved += 1
        return moved

    def list(self, project: str, queue: str, marker: str | None = None,
             limit: int = 10, echo: bool = False,
             client_uuid: str | None = None, include_claimed: bool = False,
             include_delayed: bool = False) -> tuple[list[base.Message],
                                                     str | None]:
        at = records.now()
        skip = '' if echo or client_uuid is None else client_uuid
        # No key: the project never had messages, so no marker is valid.
        codec = self._keys.get(project)
        after = None if codec is None else codec.decode(marker)
        found = self._scripts.run('list', queue_keys(project, queue), [
            repr(at), '' if after is None else after, limit,
            skip, int(include_claimed), int(include_delayed)])
        if found and codec is None:
            # Posted since (with the key): read it now.
            codec = self._keys.encoder(project)
        messages = [records.unpack(at, entry, codec) for entry in found]
        return messages, (messages[-1]['id'] if messages else None)

    def bulk_get(self, project: str, queue: str,
                 message_ids: list[str]) -> list[base.Message]:
        codec = self._keys.get(project)
        if codec is None:
            return []
        numbers = sorted(set(codec.decode_many(message_ids)))
        if not numbers:
            return []
        at = records.now()
        found = self._scripts.run('get', queue_keys(project, queue),
                                  [repr(at), *numbers])
        return [records.unpack(at, entry, codec) for entry in found]

    def delete(self, project: str, queue: str, message_id: str,
               claim_id: str | None = None) -> None:
        codec = self._keys.get(project)
        number = None if codec is None else codec.decode(message_id)
        if number is None:
            return
        outcome = self._scripts.run(
            'delete', queue_keys(project, queue),
            [repr(records.now()), number,
             *(['0'] if claim_id is None else ['1', claim_id])])
        if outcome == 1:
            raise errors.MessageIsClaimed(message_id)
        if outcome == 2:
            raise errors.MessageNotClaimed(message_id)
        if outcome == 3:
            raise errors.ClaimDoesNotMatch(message_id)

    def bulk_delete(self, project: str, queue: str, message_ids: list[str],
                    claim_ids: list[str] | None = None) -> None:
        codec = self._keys.get(project)
        numbers = [] if codec is None else codec.decode_many(message_ids)
        if not numbers:
            return
        # A claim id is a uuid hex, never '-'; '-' alone marks "no claim
        # ids given".
        allowed = ['-'] if claim_ids is None else \
            [c for c in claim_ids if c != '-'] or ['']
        held = self._scripts.run(
            'bulk_delete', queue_keys(project, queue),
            [repr(records.now()), len(numbers), *numbers, *allowed])
        if held:
            raise errors.MessageIsClaimed(codec.encode(int(held)))

    def pop(self, project: str, queue: str, limit: int) -> list[base.Message]:
        at = records.now()
        found = self._scripts.run('pop', queue_keys(project, queue),
                                  [repr(at), limit])
        claim_id = records.new_claim_id()
        if not found:
            return []
        codec = self._keys.encoder(project)
        messages = [records.unpack(at, entry, codec) for entry in found]
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
            codec = self._keys.encoder(project)
            for key, (record, number) in (('oldest', ends[0:2]),
                                              ('newest', ends[2:4])):
                created = records.created_of(record) if record else at
                stats[key] = {'id': codec.encode(int(number)),
                              'age': max(0, int(at - created)),
                              'created': created}
        return stats

    def purge(self, project: str, queue: str) -> None:
        self._scripts.run('purge', queue_keys(project, queue), [])
