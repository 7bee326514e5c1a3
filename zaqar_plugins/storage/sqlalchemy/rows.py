"""What messages.py and claims.py share: the columns a message is read
with, the "free" condition and the row-to-dict mapping.

A message's row id is its FIFO position; clients see it only through the
deployment's id permutation (:mod:`zaqar_core.storage.ids`)."""

import functools
import json
import time
import uuid

import sqlalchemy as sa

from zaqar_core.storage import base
from zaqar_core.storage import ids
from zaqar_plugins.storage.sqlalchemy import tables

_m = tables.messages

MESSAGE_COLUMNS = (_m.c.id, _m.c.body, _m.c.ttl, _m.c.created,
                   _m.c.client_uuid, _m.c.claim_id, _m.c.claim_expires,
                   _m.c.claim_count, _m.c.checksum)


def now() -> float:
    return time.time()


def new_claim_id() -> str:
    return uuid.uuid4().hex


def in_fifo_order(query: sa.Select) -> sa.Select:
    """``query`` over messages, oldest first, read through the queue index.

    MySQL and MariaDB are told the index outright: their planners, too,
    would rather walk the primary key (and, in a claim, lock every row
    they pass).
    """
    return query.order_by(tables.FIFO).with_hint(
        _m, 'FORCE INDEX (ix_messages_queue_id)', 'mysql')


def in_queue(project: str, queue: str) -> sa.ColumnElement[bool]:
    return sa.and_(_m.c.project == project, _m.c.queue == queue)


# The hot statements are built once, with these parameters, rather than
# per request: building one (with its cache key) cost more than SQLite
# took to run it.
AT = sa.bindparam('at', type_=sa.Double)
IN_QUEUE = sa.and_(_m.c.project == sa.bindparam('project'),
                   _m.c.queue == sa.bindparam('queue'))


def live(at: float) -> sa.ColumnElement[bool]:
    return _m.c.expires > at


def to_message(row: sa.Row, at: float, codec: ids.MessageIds,
               claim_id: str | None = None) -> base.Message:
    """A row read with MESSAGE_COLUMNS as a :class:`base.Message`, its id
    shown through ``codec``.

    ``claim_id`` overrides the stored claim (for rows claimed just now).
    """
    if claim_id is None and row.claim_expires > at:
        claim_id = row.claim_id
    message: base.Message = {
        'id': codec.encode(row.id),
        'ttl': row.ttl,
        'age': max(0, int(at - row.created)),
        'body': json.loads(row.body),
        'claim_id': claim_id,
        'claim_count': row.claim_count,
        'client_uuid': row.client_uuid,
    }
    if row.checksum:
        message['checksum'] = row.checksum
    return message


@functools.cache
def claim_update(set_claim_id: bool, count: bool) -> sa.Update:
    """The UPDATE of the messages numbered ``ids`` that puts them under a
    claim ending at ``claim_expires`` (``claim_id`` too if
    ``set_claim_id``) and makes them outlive it until ``keep_until``;
    ``count`` adds one to their claim count.

    Ordered: MySQL assigns left to right, each expression seeing the
    columns assigned before it, so ``ttl`` reads ``expires`` before it
    changes (the other backends read the old row throughout).
    """
    keep_until = sa.bindparam('keep_until', type_=sa.Double)
    extended = _m.c.expires < keep_until
    changes = [
        (_m.c.ttl, sa.case((extended, sa.cast(sa.func.round(
            keep_until - _m.c.created), sa.Integer)), else_=_m.c.ttl)),
        (_m.c.expires, sa.case((extended, keep_until),
                               else_=_m.c.expires)),
        (_m.c.claim_expires, sa.bindparam('claim_expires', type_=sa.Double))]
    if set_claim_id:
        changes.insert(0, (_m.c.claim_id, sa.bindparam('claim_id')))
    if count:
        changes.append((_m.c.claim_count, _m.c.claim_count + 1))
    return _m.update().where(
        _m.c.id.in_(sa.bindparam('ids', expanding=True))).ordered_values(
        *changes)


def ttl_when_claimed(row: sa.Row, keep_until: float) -> int:
    """The ``ttl`` :func:`claim_update` leaves a row read with
    ``expires``, without reading it again."""
    if row.expires < keep_until:
        return round(keep_until - row.created)
    return row.ttl
