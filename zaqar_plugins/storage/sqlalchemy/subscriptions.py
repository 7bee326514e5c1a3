"""Subscriptions on SQL: one row each; a unique key on (project, source,
SHA-256 of the subscriber) keeps one per subscriber."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

import sqlalchemy as sa
from oslo_db import exception as db_exc

from zaqar_core.storage import base
from zaqar_core.storage import errors
from zaqar_plugins.storage.sqlalchemy import engine as txn
from zaqar_plugins.storage.sqlalchemy import rows
from zaqar_plugins.storage.sqlalchemy import tables

_s = tables.subscriptions


def _key(subscriber: str) -> str:
    return hashlib.sha256(subscriber.encode()).hexdigest()


def _of(project: str, source: str) -> sa.ColumnElement[bool]:
    return sa.and_(_s.c.project == project, _s.c.source == source)


def _to_subscription(row: sa.Row, at: float) -> base.Subscription:
    return {'id': row.id, 'source': row.source,
            'subscriber': row.subscriber, 'ttl': row.ttl,
            'age': max(0, int(at - row.created)),
            'options': json.loads(row.options),
            'confirmed': bool(row.confirmed)}


class SubscriptionController(base.SubscriptionControllerBase):
    def __init__(self, engine: sa.engine.Engine) -> None:
        self._engine = engine

    def list(self, project: str, source: str, marker: str | None = None,
             limit: int = 10) -> list[base.Subscription]:
        at = rows.now()
        query = sa.select(_s).where(_of(project, source), _s.c.expires > at)
        if marker:
            query = query.where(_s.c.id > marker)
        query = query.order_by(_s.c.id).limit(limit)
        with txn.read(self._engine) as conn:
            return [_to_subscription(r, at) for r in conn.execute(query)]

    def get(self, project: str, source: str,
            subscription_id: str) -> base.Subscription:
        at = rows.now()
        with txn.read(self._engine) as conn:
            row = conn.execute(sa.select(_s).where(
                _of(project, source), _s.c.id == subscription_id,
                _s.c.expires > at)).one_or_none()
        if row is None:
            raise errors.SubscriptionDoesNotExist(subscription_id)
        return _to_subscription(row, at)

    @staticmethod
    def _holder(conn: sa.engine.Connection, project: str, source: str,
                key: str, at: float) -> str | None:
        """The live subscription holding ``key``; drops an expired one."""
        conn.execute(_s.delete().where(
            _of(project, source), _s.c.subscriber_key == key,
            _s.c.expires <= at))
        return conn.execute(sa.select(_s.c.id).where(
            _of(project, source),
            _s.c.subscriber_key == key)).scalar_one_or_none()

    @staticmethod
    def _committed_holder(conn: sa.engine.Connection, project: str,
                          source: str, key: str, at: float) -> str:
        """The live subscription holding ``key`` that a concurrent
        transaction committed after this one's snapshot was taken.

        A locking read sees the latest committed row even under MySQL's
        REPEATABLE READ, where a plain SELECT keeps the old snapshot (a
        shared lock: concurrent losers need not queue behind each other).

        Raises:
            Deadlock: no such row after all (the winner was deleted or
                expired meanwhile): ``retry_on_deadlock`` reruns the
                transaction with a fresh snapshot.
        """
        holder = conn.execute(sa.select(_s.c.id).where(
            _of(project, source), _s.c.subscriber_key == key,
            _s.c.expires > at).with_for_update(read=True)
        ).scalar_one_or_none()
        if holder is None:
            raise txn.Deadlock(f'the holder of subscriber key {key} '
                               f'vanished; retrying')
        return holder

    @txn.retry_on_deadlock
    def create(self, project: str, source: str, subscriber: str, ttl: int,
               options: dict[str, Any],
               subscription_id: str | None = None) -> str:
        at = rows.now()
        key = _key(subscriber)
        new_id = subscription_id or uuid.uuid4().hex
        with txn.write(self._engine) as conn:
            holder = self._holder(conn, project, source, key, at)
            if holder is None:
                inserted = conn.execute(txn.insert_ignoring_duplicates(
                    _s, conn.dialect.name).values(
                    id=new_id, project=project, source=source,
                    subscriber=subscriber, subscriber_key=key,
                    options=json.dumps(options), ttl=ttl, created=at,
                    expires=at + ttl, confirmed=False)).rowcount
                if inserted:
                    return new_id
                # A concurrent create won the race (it has committed).
                holder = self._committed_holder(conn, project, source,
                                                key, at)
        raise errors.SubscriptionAlreadyExists(holder)

    @txn.retry_on_deadlock
    def update(self, project: str, source: str, subscription_id: str, *,
               subscriber: str | None = None, ttl: int | None = None,
               options: dict[str, Any] | None = None) -> None:
        at = rows.now()
        values: dict[str, Any] = {}
        if subscriber is not None:
            values.update(subscriber=subscriber,
                          subscriber_key=_key(subscriber))
        if ttl is not None:
            values.update(ttl=ttl, expires=at + ttl)
        if options is not None:
            values['options'] = json.dumps(options)
        if not values:
            # Nothing to change (an empty SET is no SQL): only check that
            # it exists.
            self.get(project, source, subscription_id)
            return
        try:
            with txn.write(self._engine) as conn:
                if subscriber is not None:
                    holder = self._holder(conn, project, source,
                                          values['subscriber_key'], at)
                    if holder not in (None, subscription_id):
                        raise errors.SubscriptionAlreadyExists(holder)
                changed = conn.execute(_s.update().where(
                    _of(project, source), _s.c.id == subscription_id,
                    _s.c.expires > at).values(**values)).rowcount
        except db_exc.DBDuplicateEntry:
            # A concurrent create took the subscriber meanwhile: a rerun
            # (fresh snapshot) finds its id, or the subscriber free again.
            raise txn.Deadlock(f'subscriber of {subscription_id} taken '
                               f'meanwhile; retrying') from None
        if not changed:
            raise errors.SubscriptionDoesNotExist(subscription_id)

    @txn.retry_on_deadlock
    def confirm(self, project: str, source: str, subscription_id: str,
                confirmed: bool) -> None:
        # SQLAlchemy counts matched rows (FOUND_ROWS on MySQL), so
        # confirming twice still finds the row.
        with txn.write(self._engine) as conn:
            found = conn.execute(_s.update().where(
                _of(project, source), _s.c.id == subscription_id,
                _s.c.expires > rows.now()).values(
                confirmed=confirmed)).rowcount
        if not found:
            raise errors.SubscriptionDoesNotExist(subscription_id)

    @txn.retry_on_deadlock
    def delete(self, project: str, source: str,
               subscription_id: str) -> None:
        with txn.write(self._engine) as conn:
            conn.execute(_s.delete().where(_of(project, source),
                                           _s.c.id == subscription_id))

    @txn.retry_on_deadlock
    def purge(self, project: str, source: str) -> None:
        with txn.write(self._engine) as conn:
            conn.execute(_s.delete().where(_of(project, source)))
