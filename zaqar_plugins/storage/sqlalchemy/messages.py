"""Messages on SQL."""

from __future__ import annotations

import json

import sqlalchemy as sa

from zaqar_core.storage import base
from zaqar_core.storage import errors
from zaqar_plugins.storage.sqlalchemy import engine as txn
from zaqar_plugins.storage.sqlalchemy import rows
from zaqar_plugins.storage.sqlalchemy import tables

_m = tables.messages
_s = tables.subscriptions

# Built once: each post runs it, and building a statement costs more than
# SQLite takes to answer it.
_COUNT_SUBSCRIPTIONS = sa.select(sa.func.count()).where(
    _s.c.project == sa.bindparam('project'),
    _s.c.source == sa.bindparam('source'),
    _s.c.expires > sa.bindparam('at'))
_c = tables.claims


def select_free(project: str, queue: str, at: float,
                limit: int) -> sa.Select:
    """The oldest free messages, locked for this transaction.

    ``SKIP LOCKED`` lets concurrent claimers on PostgreSQL and MySQL take
    different messages instead of queueing behind each other; SQLite has a
    single writer, so it needs no row locks.
    """
    return (rows.in_fifo_order(sa.select(*rows.MESSAGE_COLUMNS))
            .where(rows.in_queue(project, queue), rows.free(at))
            .limit(limit).with_for_update(skip_locked=True))


class MessageController(base.MessageControllerBase):
    def __init__(self, engine: sa.engine.Engine) -> None:
        self._engine = engine

    # The API posts through here (and base ``post`` too), so the retry of
    # a deadlock victim belongs here.
    @txn.retry_on_deadlock
    def post_counting_subscriptions(
            self, project: str, queue: str, messages: list[base.NewMessage],
            client_uuid: str) -> tuple[list[str], int]:
        at = rows.now()
        values = [{
            'project': project, 'queue': queue,
            'body': json.dumps(m['body']),
            'ttl': m['ttl'], 'created': at, 'expires': at + m['ttl'],
            'visible_at': at + m['delay'], 'client_uuid': client_uuid,
            'claim_id': None, 'claim_expires': 0, 'claim_count': 0,
            'checksum': m.get('checksum'),
        } for m in messages]
        with txn.write(self._engine) as conn:
            if conn.dialect.name == 'mysql':
                # MySQL has no RETURNING; one statement per row keeps ids.
                ids = [conn.execute(_m.insert().values(**v))
                       .inserted_primary_key[0] for v in values]
            else:
                # RETURNING with sort_by_parameter_order keeps the ids in
                # the order the messages were given.
                result = conn.execute(
                    _m.insert().returning(
                        _m.c.id, sort_by_parameter_order=True),
                    values)
                ids = list(result.scalars())
            # In the same transaction: a second one costs more than this.
            subscribed = conn.execute(_COUNT_SUBSCRIPTIONS, {
                'project': project, 'source': queue, 'at': at}).scalar_one()
        return [str(i) for i in ids], subscribed

    def list(self, project: str, queue: str, marker: str | None = None,
             limit: int = 10, echo: bool = False,
             client_uuid: str | None = None, include_claimed: bool = False,
             include_delayed: bool = False) -> tuple[list[base.Message],
                                                     str | None]:
        at = rows.now()
        query = rows.in_fifo_order(sa.select(*rows.MESSAGE_COLUMNS)).where(
            rows.in_queue(project, queue), rows.live(at))
        after = rows.parse_id(marker)
        if after is not None:
            query = query.where(tables.FIFO > after)
        if not include_claimed:
            query = query.where(_m.c.claim_expires <= at)
        if not include_delayed:
            query = query.where(_m.c.visible_at <= at)
        if not echo and client_uuid is not None:
            query = query.where(_m.c.client_uuid != client_uuid)
        query = query.limit(limit)
        with txn.read(self._engine) as conn:
            found = conn.execute(query).all()
        messages = [rows.to_message(r, at) for r in found]
        return messages, (messages[-1]['id'] if messages else None)

    def bulk_get(self, project: str, queue: str,
                 message_ids: list[str]) -> list[base.Message]:
        ids = rows.parse_ids(message_ids)
        if not ids:
            return []
        at = rows.now()
        query = sa.select(*rows.MESSAGE_COLUMNS).where(
            rows.in_queue(project, queue), rows.live(at),
            _m.c.id.in_(ids)).order_by(_m.c.id)
        with txn.read(self._engine) as conn:
            return [rows.to_message(r, at) for r in conn.execute(query)]

    @txn.retry_on_deadlock
    def delete(self, project: str, queue: str, message_id: str,
               claim_id: str | None = None) -> None:
        row_id = rows.parse_id(message_id)
        if row_id is None:
            return
        at = rows.now()
        where = (rows.in_queue(project, queue), _m.c.id == row_id)
        with txn.write(self._engine) as conn:
            row = conn.execute(
                sa.select(_m.c.claim_id, _m.c.claim_expires, _m.c.expires)
                .where(*where).with_for_update()).one_or_none()
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
            conn.execute(_m.delete().where(*where))

    @txn.retry_on_deadlock
    def bulk_delete(self, project: str, queue: str, message_ids: list[str],
                    claim_ids: list[str] | None = None) -> None:
        ids = rows.parse_ids(message_ids)
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
                    raise errors.MessageIsClaimed(str(held.id))
            conn.execute(_m.delete().where(*where))

    @txn.retry_on_deadlock
    def pop(self, project: str, queue: str, limit: int) -> list[base.Message]:
        at = rows.now()
        with txn.write(self._engine) as conn:
            found = conn.execute(select_free(project, queue, at, limit)).all()
            if not found:
                return []
            conn.execute(_m.delete().where(
                _m.c.id.in_([r.id for r in found])))
        claim_id = rows.new_claim_id()
        return [rows.to_message(r, at, claim_id) for r in found]

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
                for key, row_id in (('oldest', first), ('newest', last)):
                    created = by_id.get(row_id, at)
                    stats[key] = {'id': str(row_id),
                                  'age': max(0, int(at - created)),
                                  'created': created}
        return stats

    @txn.retry_on_deadlock
    def purge(self, project: str, queue: str) -> None:
        with txn.write(self._engine) as conn:
            conn.execute(_m.delete().where(rows.in_queue(project, queue)))
            conn.execute(_c.delete().where(
                _c.c.project == project, _c.c.queue == queue))
