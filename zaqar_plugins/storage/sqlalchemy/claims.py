"""Claims on SQL.

A claim is a row in ``claims`` plus, on each message it holds, the claim's
id and expiry (denormalised so that finding free messages needs no join).
"""

import sqlalchemy as sa

from zaqar_core.storage import base
from zaqar_core.storage import errors
from zaqar_core.storage import ids as message_codec
from zaqar_plugins.storage.sqlalchemy import engine as txn
from zaqar_plugins.storage.sqlalchemy import messages
from zaqar_plugins.storage.sqlalchemy import queues
from zaqar_plugins.storage.sqlalchemy import rows
from zaqar_plugins.storage.sqlalchemy import tables

_m = tables.messages
_c = tables.claims
_INSERT = _c.insert()


class ClaimController(base.ClaimControllerBase):
    def __init__(self, engine: sa.engine.Engine,
                 keys: message_codec.KeyCache) -> None:
        self._engine = engine
        self._keys = keys

    @txn.retry_on_deadlock
    def create(self, project: str, queue: str, ttl: int, grace: int,
               limit: int, dead_letter: base.DeadLetter | None = None,
               seen_metadata: str | None = None
               ) -> tuple[str | None, list[base.Message], int]:
        at = rows.now()
        expires = at + ttl
        with txn.write(self._engine) as conn:
            if seen_metadata is not None:
                metadata = conn.execute(queues.METADATA, {
                    'project': project, 'name': queue}).scalar_one_or_none()
                if metadata != seen_metadata:
                    raise errors.MetadataChanged(metadata)
            found = conn.execute(messages.SELECT_FREE, {
                'project': project, 'queue': queue, 'at': at,
                'limit': limit}).all()
            moved = 0
            if dead_letter is not None:
                doomed = [r.id for r in found
                          if r.claim_count >= dead_letter['max_claim_count']]
                if doomed:
                    self._move(conn, doomed, dead_letter, at)
                    found = [r for r in found if r.id not in set(doomed)]
                    moved = len(doomed)
            if not found:
                return None, [], moved
            claim_id = rows.new_claim_id()
            conn.execute(_INSERT, {
                'id': claim_id, 'project': project, 'queue': queue,
                'ttl': ttl, 'grace': grace, 'created': at,
                'expires': expires})
            # Counting only matters where a dead-letter queue reads it.
            counted = dead_letter is not None
            conn.execute(rows.claim_update(True, counted), {
                'ids': [r.id for r in found], 'claim_id': claim_id,
                'claim_expires': expires, 'keep_until': expires + grace})
        codec = self._keys.encoder()
        claimed = []
        # What the UPDATE wrote, worked out rather than read back.
        for row in found:
            message = rows.to_message(row, at, codec, claim_id)
            message['ttl'] = rows.ttl_when_claimed(row, expires + grace)
            message['claim_count'] += counted
            claimed.append(message)
        return claim_id, claimed, moved

    @staticmethod
    def _move(conn: sa.engine.Connection, ids: list[int],
              dead_letter: base.DeadLetter, at: float) -> None:
        changes = {'queue': dead_letter['queue'], 'claim_id': None,
                   'claim_expires': 0, 'claim_count': 0}
        if dead_letter['ttl']:
            changes.update(ttl=sa.cast(
                sa.func.round(at + dead_letter['ttl'] - _m.c.created),
                sa.Integer), expires=at + dead_letter['ttl'])
        conn.execute(_m.update().where(_m.c.id.in_(ids)).values(**changes))

    def get(self, project: str, queue: str,
            claim_id: str) -> tuple[base.ClaimInfo, list[base.Message]]:
        at = rows.now()
        with txn.read(self._engine) as conn:
            claim = self._live_claim(conn, project, queue, claim_id, at)
            held = conn.execute(sa.select(*rows.MESSAGE_COLUMNS).where(
                _m.c.claim_id == claim_id, rows.in_queue(project, queue),
                _m.c.claim_expires > at, rows.live(at))
                .order_by(_m.c.id)).all()
        info: base.ClaimInfo = {'id': claim_id, 'ttl': claim.ttl,
                                'age': max(0, int(at - claim.created))}
        codec = self._keys.encoder()
        return info, [rows.to_message(r, at, codec) for r in held]

    @staticmethod
    def _live_claim(conn: sa.engine.Connection, project: str, queue: str,
                    claim_id: str, at: float) -> sa.Row:
        claim = conn.execute(sa.select(_c.c.ttl, _c.c.created).where(
            _c.c.id == claim_id, _c.c.project == project,
            _c.c.queue == queue, _c.c.expires > at)).one_or_none()
        if claim is None:
            raise errors.ClaimDoesNotExist(claim_id, queue)
        return claim

    @txn.retry_on_deadlock
    def update(self, project: str, queue: str, claim_id: str, ttl: int,
               grace: int) -> None:
        at = rows.now()
        expires = at + ttl
        with txn.write(self._engine) as conn:
            result = conn.execute(_c.update().where(
                _c.c.id == claim_id, _c.c.project == project,
                _c.c.queue == queue, _c.c.expires > at).values(
                ttl=ttl, grace=grace, created=at, expires=expires))
            if result.rowcount == 0:
                raise errors.ClaimDoesNotExist(claim_id, queue)
            held = conn.execute(sa.select(_m.c.id).where(
                _m.c.claim_id == claim_id, rows.in_queue(project, queue),
                _m.c.claim_expires > at)).scalars().all()
            if held:
                conn.execute(rows.claim_update(False, False), {
                    'ids': held, 'claim_expires': expires,
                    'keep_until': expires + grace})

    @txn.retry_on_deadlock
    def delete(self, project: str, queue: str, claim_id: str) -> None:
        with txn.write(self._engine) as conn:
            conn.execute(_m.update().where(
                _m.c.claim_id == claim_id,
                rows.in_queue(project, queue)).values(
                claim_id=None, claim_expires=0))
            conn.execute(_c.delete().where(
                _c.c.id == claim_id, _c.c.project == project,
                _c.c.queue == queue))
