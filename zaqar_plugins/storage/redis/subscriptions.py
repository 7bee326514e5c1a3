"""Subscriptions on Redis (the layout is in :mod:`.keys`): each operation
is one script over the source's subscription keys.

A record is ``<ttl> <created> <confirmed 0|1>``, the options JSON and the
subscriber, on three lines (the subscriber last, as it may hold
anything); the scripts write it (``subscription_common.lua``), this
module only reads it. Expiry lives in the source's ``subexp`` set, and the
``subscribers`` hash keeps one live subscription per subscriber: the
scripts check and change it together with the records, atomically.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from zaqar_core.storage import base
from zaqar_core.storage import errors
from zaqar_plugins.storage.redis import connection
from zaqar_plugins.storage.redis import keys
from zaqar_plugins.storage.redis import records
from zaqar_plugins.storage.redis import scripts

# Failures subscription_update.lua reports (0 is success).
_MISSING, _TAKEN = 1, 2


def source_keys(project: str, source: str) -> list[str]:
    # The queue's prefix with other suffixes: the project's slot, and
    # nothing that purging or collecting the queue's messages touches.
    return keys.subscription_keys(keys.queue_prefix(project, source))


def unpack(source: str, at: float, subscription_id: str,
           record: str) -> base.Subscription:
    """A subscription from its record, as seen at time ``at``."""
    head, options, subscriber = record.split('\n', 2)
    ttl, created, confirmed = head.split(' ')
    return {'id': subscription_id, 'source': source,
            'subscriber': subscriber, 'ttl': int(ttl),
            'age': max(0, int(at - float(created))),
            'options': json.loads(options), 'confirmed': confirmed == '1'}


class SubscriptionController(base.SubscriptionControllerBase):
    def __init__(self, client: connection.Client) -> None:
        self._scripts = scripts.Scripts(client)

    def list(self, project: str, source: str, marker: str | None = None,
             limit: int = 10) -> list[base.Subscription]:
        at = records.now()
        found = self._scripts.run(
            'subscription_list', source_keys(project, source),
            [repr(at), marker or '', limit])
        return [unpack(source, at, sid, record) for sid, record in found]

    def get(self, project: str, source: str,
            subscription_id: str) -> base.Subscription:
        at = records.now()
        record = self._scripts.run(
            'subscription_get', source_keys(project, source),
            [repr(at), subscription_id])
        if record is None:
            raise errors.SubscriptionDoesNotExist(subscription_id)
        return unpack(source, at, subscription_id, record)

    def create(self, project: str, source: str, subscriber: str, ttl: int,
               options: dict[str, Any],
               subscription_id: str | None = None) -> str:
        subscription_id = subscription_id or uuid.uuid4().hex
        holder = self._scripts.run(
            'subscription_create', source_keys(project, source),
            [repr(records.now()), subscription_id, int(ttl), subscriber,
             json.dumps(options)])
        if holder:
            raise errors.SubscriptionAlreadyExists(holder)
        return subscription_id

    def update(self, project: str, source: str, subscription_id: str, *,
               subscriber: str | None = None, ttl: int | None = None,
               options: dict[str, Any] | None = None) -> None:
        changes: list[Any] = []
        if subscriber is not None:
            changes += ['subscriber', subscriber]
        if ttl is not None:
            changes += ['ttl', int(ttl)]
        if options is not None:
            changes += ['options', json.dumps(options)]
        self._update(project, source, subscription_id, changes)

    def confirm(self, project: str, source: str, subscription_id: str,
                confirmed: bool) -> None:
        self._update(project, source, subscription_id,
                     ['confirmed', '1' if confirmed else '0'])

    def _update(self, project: str, source: str, subscription_id: str,
                changes: list[Any]) -> None:
        outcome, *holder = self._scripts.run(
            'subscription_update', source_keys(project, source),
            [repr(records.now()), subscription_id, *changes])
        if outcome == _MISSING:
            raise errors.SubscriptionDoesNotExist(subscription_id)
        if outcome == _TAKEN:
            raise errors.SubscriptionAlreadyExists(holder[0])

    def delete(self, project: str, source: str,
               subscription_id: str) -> None:
        self._scripts.run('subscription_delete',
                          source_keys(project, source), [subscription_id])

    def purge(self, project: str, source: str) -> None:
        # The generic purge script: it unlinks whatever keys it is given.
        self._scripts.run('purge', source_keys(project, source), [])
