"""Messages on SQL."""

from __future__ import annotations

import functools
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from zaqar_core import jsontext
from zaqar_core.storage import base
from zaqar_core.storage import errors
from zaqar_core.storage import ids as message_codec
from zaqar_plugins.storage.sqlalchemy import engine as txn
from zaqar_plugins.storage.sqlalchemy import message_ids
from zaqar_plugins.storage.sqlalchemy import queues
from zaqar_plugins.storage.sqlalchemy import rows
from zaqar_plugins.storage.sqlalchemy import tables

_m = tables.messages
_s = tables.subscriptions

# Built once: each post runs it, and building a statement costs more than
# SQLite takes to answer it.
# The id key comes along: the ids a post hands out are the stored key's.
_COUNT_SUBSCRIPTIONS = sa.select(
    sa.select(sa.func.count()).where(
        _s.c.project == sa.bindparam('project'),
        _s.c.source == sa.bindparam('source'),
        _s.c.expires > sa.bindparam('at')).scalar_subquery(),
    message_ids.STORED_KEY)
# The same, with the queue's metadata, for a post that checks it.
_COUNT_SUBSCRIPTIONS_AND_METADATA = _COUNT_SUBSCRIPTIONS.add_columns(
    queues.METADATA.scalar_subquery())
_SUBSCRIPTION_IDS = sa.select(_s.c.id).where(
    _s.c.project == sa.bindparam('project'),
    _s.c.source == sa.bindparam('source'),
    _s.c.expires > sa.bindparam('at')).order_by(_s.c.id)
_CONFIRMED_SUBSCRIPTION_IDS = _SUBSCRIPTION_IDS.where(
    _s.c.confirmed.is_(True))
_c = tables.claims
_k = tables.post_keys


#: The oldest free messages (live, unclaimed, past their delay), locked
#: for this transaction. ``SKIP LOCKED`` lets concurrent claimers on
#: PostgreSQL and MySQL take different messages instead of queueing behind
#: each other; SQLite has a single writer, so it needs no row locks.
SELECT_FREE = (
    rows.in_fifo_order(sa.select(*rows.MESSAGE_COLUMNS, _m.c.expires))
    .where(rows.IN_QUEUE, _m.c.expires > rows.AT,
           _m.c.claim_expires <= rows.AT, _m.c.visible_at <= rows.AT)
    .limit(sa.bindparam('limit', type_=sa.Integer))
    .with_for_update(skip_locked=True))

_THE_MESSAGE = (rows.IN_QUEUE, _m.c.id == sa.bindparam('id'))
_DELETE_FREE = _m.delete().where(*_THE_MESSAGE,
                                 _m.c.claim_expires <= rows.AT)
_DELETE_CLAIMED = _m.delete().where(
    *_THE_MESSAGE, _m.c.claim_expires > rows.AT,
    _m.c.claim_id == sa.bindparam('claim_id'))
_INSERT = _m.insert()
_INSERT_RETURNING_IDS = _m.insert().returning(
    _m.c.id, sort_by_parameter_order=True)


@functools.cache
def _listing(after: bool, include_claimed: bool, include_delayed: bool,
             not_from: bool) -> sa.Select:
    """A page of a queue's live messages, oldest first, ``limit`` long:
    past the message numbered ``after`` if ``after``, and not posted by
    ``client_uuid`` if ``not_from``."""
    query = rows.in_fifo_order(sa.select(*rows.MESSAGE_COLUMNS)).where(
        rows.IN_QUEUE, _m.c.expires > rows.AT)
    if after:
        query = query.where(tables.FIFO > sa.bindparam('after'))
    if not include_claimed:
        query = query.where(_m.c.claim_expires <= rows.AT)
    if not include_delayed:
        query = query.where(_m.c.visible_at <= rows.AT)
    if not_from:
        query = query.where(_m.c.client_uuid != sa.bindparam('client_uuid'))
    return query.limit(sa.bindparam('limit', type_=sa.Integer))


def _row(project: str, queue: str, body: str, ttl: int, delay: int,
         client_uuid: str, at: float, checksum: str | None = None) -> dict:
    """The values of a new message row."""
    return {'project': project, 'queue': queue, 'body': body, 'ttl': ttl,
            'created': at, 'expires': at + ttl, 'visible_at': at + delay,
            'client_uuid': client_uuid, 'claim_id': None,
            'claim_expires': 0, 'claim_count': 0, 'checksum': checksum}


class _NoKey(Exception):
    """The id key is not stored (yet, or any more): undo the post."""


class _Repeated(Exception):
    """The post's ``once`` key is recorded: undo it."""


class MessageController(base.MessageControllerBase):
    def __init__(self, engine: sa.engine.Engine,
                 keys: message_codec.KeyCache) -> None:
        self._engine = engine
        self._keys = keys

    # The API posts through here (and base ``post`` too), so the retry of
    # a deadlock victim belongs here.
    @txn.retry_on_deadlock
    def post_counting_subscriptions(
            self, project: str, queue: str, messages: list[base.NewMessage],
            client_uuid: str, fan_out: base.FanOut | None = None,
            once: str | None = None,
            seen_metadata: str | None = None) -> base.Posted | None:
        at = rows.now()
        values = [_row(project, queue, jsontext.dumps(m['body']), m['ttl'],
                       m['delay'], m.get('client_uuid', client_uuid), at,
                       m.get('checksum'))
                  for m in messages]
        for _ in range(2):
            try:
                return self._insert(project, queue, values, at, fan_out,
                                    messages, once, seen_metadata)
            except _Repeated:
                return None
            except _NoKey:
                # Once per database, or after it was emptied under us:
                # store the key this process uses, or a new one.
                message_ids.plant(self._engine, self._keys.cached_key()
                                  or message_codec.new_key())
        raise errors.Unavailable('The message id key could not be stored')

    def _insert(self, project: str, queue: str, values: list[dict],
                at: float, fan_out: base.FanOut | None,
                messages: list[base.NewMessage],
                once: str | None = None,
                seen_metadata: str | None = None) -> base.Posted:
        job_body, job_number = None, 0
        with txn.write(self._engine) as conn:
            if once is not None and not conn.execute(
                    txn.insert_ignoring_duplicates(
                        _k, conn.dialect.name).values(
                        project=project, queue=queue, key=once)).rowcount:
                raise _Repeated()
            if not values:
                numbers = []
            elif conn.dialect.name == 'mysql':
                # MySQL has no RETURNING; one statement per row keeps ids.
                numbers = [_insert_one(conn, v) for v in values]
            elif conn.dialect.name == 'sqlite' and len(values) > 1:
                # SQLite returns no rows in a known order, so SQLAlchemy
                # would insert them one statement each. One multi-row
                # INSERT instead: under the write lock this transaction
                # holds, AUTOINCREMENT numbers its rows one after another
                # in the order given, ending at the last row id.
                sql, names = _multi_row_insert(tuple(values[0]),
                                               len(values))
                given = {f'{column}_{i}': value
                         for i, row in enumerate(values)
                         for column, value in row.items()}
                last = conn.exec_driver_sql(
                    sql, tuple(given[name] for name in names)).lastrowid
                numbers = list(range(last - len(values) + 1, last + 1))
            else:
                # RETURNING with sort_by_parameter_order keeps the ids in
                # the order the messages were given.
                result = conn.execute(_INSERT_RETURNING_IDS, values)
                numbers = list(result.scalars())
            # In the same transaction: a second one costs more than this.
            counts = {'project': project, 'source': queue, 'name': queue,
                      'at': at}
            if seen_metadata is None:
                subscribed, key = conn.execute(
                    _COUNT_SUBSCRIPTIONS, counts).one()
            else:
                # Checked after the INSERT, in the statement that was to
                # run anyway: a change (rare) undoes the post.
                subscribed, key, metadata = conn.execute(
                    _COUNT_SUBSCRIPTIONS_AND_METADATA, counts).one()
                if metadata != seen_metadata:
                    raise errors.MetadataChanged(metadata)
            if key is None:
                raise _NoKey()
            if fan_out is not None and subscribed:
                # The notifications' job, in the same transaction, for the
                # subscriptions of this moment.
                query = _CONFIRMED_SUBSCRIPTION_IDS \
                    if fan_out['confirmed_only'] else _SUBSCRIPTION_IDS
                targets = conn.execute(query, {
                    'project': project, 'source': queue,
                    'at': at}).scalars().all()
                if targets:
                    # Delayed: its poster expands it meanwhile.
                    job_body = base.fan_out_body(fan_out, messages,
                                                 list(targets))
                    job_number = _insert_one(conn, _row(
                        fan_out['project'], fan_out['queue'],
                        json.dumps(job_body), fan_out['ttl'],
                        base.FAN_OUT_GRACE, fan_out['client_uuid'], at))
        codec = self._keys.put('', key)
        job = None
        if fan_out is not None and job_body is not None:
            job = base.StoredFanOut(
                project=fan_out['project'], queue=fan_out['queue'],
                id=codec.encode(job_number), body=job_body)
        return base.Posted([codec.encode(n) for n in numbers], subscribed,
                           job)

    def list(self, project: str, queue: str, marker: str | None = None,
             limit: int = 10, echo: bool = False,
             client_uuid: str | None = None, include_claimed: bool = False,
             include_delayed: bool = False) -> tuple[list[base.Message],
                                                     str | None]:
        at = rows.now()
        codec = self._keys.encoder()
        after = codec.decode(marker)
        query = _listing(after is not None, include_claimed,
                         include_delayed, not echo and client_uuid is not None)
        with txn.read(self._engine) as conn:
            found = conn.execute(query, {
                'project': project, 'queue': queue, 'at': at,
                'after': after, 'client_uuid': client_uuid,
                'limit': limit}).all()
        messages = [rows.to_message(r, at, codec) for r in found]
        return messages, (messages[-1]['id'] if messages else None)

    def bulk_get(self, project: str, queue: str,
                 message_ids: list[str]) -> list[base.Message]:
        codec = self._keys.encoder()
        ids = codec.decode_many(message_ids)
        if not ids:
            return []
        at = rows.now()
        query = sa.select(*rows.MESSAGE_COLUMNS).where(
            rows.in_queue(project, queue), rows.live(at),
            _m.c.id.in_(ids)).order_by(_m.c.id)
        with txn.read(self._engine) as conn:
            return [rows.to_message(r, at, codec)
                    for r in conn.execute(query)]

    @txn.retry_on_deadlock
    def delete(self, project: str, queue: str, message_id: str,
               claim_id: str | None = None) -> None:
        row_id = self._keys.encoder().decode(message_id)
        if row_id is None:
            return
        at = rows.now()
        found = {'project': project, 'queue': queue, 'id': row_id,
                 'at': at, 'claim_id': claim_id}
        with txn.write(self._engine) as conn:
            # The usual case in one statement; the row is read only to
            # tell why it was not deleted.
            if conn.execute(_DELETE_FREE if claim_id is None
                            else _DELETE_CLAIMED, found).rowcount:
                return
            row = conn.execute(
                sa.select(_m.c.claim_id, _m.c.claim_expires, _m.c.expires)
                .where(*_THE_MESSAGE).with_for_update(),
                found).one_or_none()
            if row is None or row.expires <= at:
                return
            claimed = row.claim_expires > at
            if claim_id is None:
                if claimed:
                    raise errors.MessageIsClaimed(message_id)
            elif not claimed:
                raise errors.MessageNotClaimed(message_id)
            elif row.claim_id != claim_id:
                raise errors.ClaimDoesNotMatch(message_id)

    @txn.retry_on_deadlock
    def bulk_delete(self, project: str, queue: str, message_ids: list[str],
                    claim_ids: list[str] | None = None) -> None:
        codec = self._keys.encoder()
        ids = codec.decode_many(message_ids)
        if not ids:
            return
        where = (rows.in_queue(project, queue), _m.c.id.in_(ids))
        with txn.write(self._engine) as conn:
            if claim_ids is not None:
                at = rows.now()
                held = conn.execute(sa.select(_m.c.id).where(
                    *where, _m.c.claim_expires > at,
                    _m.c.claim_id.not_in(claim_ids or ['']))).first()
                if held is not None:
                    raise errors.MessageIsClaimed(codec.encode(held.id))
            conn.execute(_m.delete().where(*where))

    @txn.retry_on_deadlock
    def pop(self, project: str, queue: str, limit: int) -> list[base.Message]:
        at = rows.now()
        with txn.write(self._engine) as conn:
            found = conn.execute(SELECT_FREE, {
                'project': project, 'queue': queue, 'at': at,
                'limit': limit}).all()
            if not found:
                return []
            conn.execute(_m.delete().where(
                _m.c.id.in_([r.id for r in found])))
        claim_id = rows.new_claim_id()
        codec = self._keys.encoder()
        return [rows.to_message(r, at, codec, claim_id) for r in found]

    def stats(self, project: str, queue: str) -> base.QueueStats:
        at = rows.now()
        where = (rows.in_queue(project, queue), rows.live(at))
        claimed = sa.func.coalesce(sa.func.sum(sa.case(
            (_m.c.claim_expires > at, 1), else_=0)), 0)
        counts = sa.select(sa.func.count(), claimed,
                           sa.func.min(_m.c.id), sa.func.max(_m.c.id)
                           ).where(*where)
        with txn.read(self._engine) as conn:
            total, n_claimed, first, last = conn.execute(counts).one()
            stats: base.QueueStats = {'claimed': int(n_claimed),
                                      'free': total - int(n_claimed),
                                      'total': total}
            if total:
                ends = conn.execute(sa.select(_m.c.id, _m.c.created).where(
                    _m.c.id.in_([first, last]))).all()
                by_id = {r.id: r.created for r in ends}
                codec = self._keys.encoder()
                for key, row_id in (('oldest', first), ('newest', last)):
                    created = by_id.get(row_id, at)
                    stats[key] = {'id': codec.encode(row_id),
                                  'age': max(0, int(at - created)),
                                  'created': created}
        return stats

    @txn.retry_on_deadlock
    def purge(self, project: str, queue: str) -> None:
        with txn.write(self._engine) as conn:
            conn.execute(_m.delete().where(rows.in_queue(project, queue)))
            conn.execute(_c.delete().where(
                _c.c.project == project, _c.c.queue == queue))


@functools.lru_cache(maxsize=64)
def _multi_row_insert(columns: tuple[str, ...], rows: int
                      ) -> tuple[str, tuple[str, ...]]:
    """SQLite's INSERT of ``rows`` message rows, compiled once per row
    count: its text and the names of its parameters in order. Built and
    compiled at every post, as SQLAlchemy would, it cost more than the
    statements it saves."""
    statement = _m.insert().values([
        {column: sa.bindparam(f'{column}_{i}') for column in columns}
        for i in range(rows)])
    compiled = statement.compile(dialect=sqlite.dialect())
    return str(compiled), tuple(compiled.positiontup or ())


def _insert_one(conn: sa.Connection, values: dict[str, Any]) -> int:
    """Insert one message row; its number."""
    return conn.execute(_INSERT, values).inserted_primary_key[0]
