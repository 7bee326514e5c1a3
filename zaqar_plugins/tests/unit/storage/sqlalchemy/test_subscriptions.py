"""Subscriptions on SQL: a create or update that loses a race to a
concurrent create names the winner, whatever snapshot it read first."""

from __future__ import annotations

import hashlib
import threading
import time
import uuid

import pytest

from zaqar_core.storage import errors
from zaqar_core.storage.stores import Stores
from zaqar_plugins.storage.sqlalchemy import engine as txn
from zaqar_plugins.storage.sqlalchemy import rows
from zaqar_plugins.storage.sqlalchemy import subscriptions
from zaqar_plugins.storage.sqlalchemy import tables

PROJECT = 'p'
SOURCE = 'q'
HOOK = 'http://127.0.0.1:9/hook'
MAIL = 'mailto:ops@example.com'


def subscription_row(subscriber: str = HOOK,
                     expires_in: float = 600) -> dict:
    """A subscriptions row, as a concurrent create would have written it."""
    at = rows.now()
    return {'id': uuid.uuid4().hex, 'project': PROJECT, 'source': SOURCE,
            'subscriber': subscriber,
            'subscriber_key': hashlib.sha256(subscriber.encode()).hexdigest(),
            'options': '{}', 'ttl': 600, 'created': at,
            'expires': at + expires_in, 'confirmed': False}


def insert(stores: Stores, row: dict) -> None:
    with txn.write(stores.data.engine) as conn:
        conn.execute(tables.subscriptions.insert().values(**row))


def stale_reads(monkeypatch: pytest.MonkeyPatch, count: int = 1) -> None:
    """The first ``count`` ``_holder`` reads see no holder (and drop
    nothing), as a MySQL REPEATABLE READ snapshot taken before a
    concurrent commit does; later reads are real."""
    real = subscriptions.SubscriptionController._holder
    calls = []

    def holder(*args):
        calls.append(args)
        return None if len(calls) <= count else real(*args)

    monkeypatch.setattr(subscriptions.SubscriptionController, '_holder',
                        staticmethod(holder))


def test_a_create_behind_a_stale_snapshot_names_the_winner(
        stores: Stores, monkeypatch: pytest.MonkeyPatch) -> None:
    winner = subscription_row()
    insert(stores, winner)
    # Every read of this transaction's snapshot misses the winner.
    stale_reads(monkeypatch, count=2)
    with pytest.raises(errors.SubscriptionAlreadyExists) as caught:
        stores.subscriptions.create(PROJECT, SOURCE, HOOK, 60, {})
    assert caught.value.subscription_id == winner['id']


def test_a_create_whose_winner_vanished_runs_again(
        stores: Stores, monkeypatch: pytest.MonkeyPatch) -> None:
    # The insert clashes with a row the stale read did not drop, and that
    # row is no live holder: the rerun drops it and creates.
    insert(stores, subscription_row(expires_in=-1))
    stale_reads(monkeypatch)
    sid = stores.subscriptions.create(PROJECT, SOURCE, HOOK, 60, {})
    assert stores.subscriptions.get(PROJECT, SOURCE, sid)['subscriber'] \
        == HOOK


def test_an_update_behind_a_stale_snapshot_names_the_winner(
        stores: Stores, monkeypatch: pytest.MonkeyPatch) -> None:
    winner = subscription_row()
    insert(stores, winner)
    sid = stores.subscriptions.create(PROJECT, SOURCE, MAIL, 600, {})
    stale_reads(monkeypatch)
    with pytest.raises(errors.SubscriptionAlreadyExists) as caught:
        stores.subscriptions.update(PROJECT, SOURCE, sid, subscriber=HOOK)
    assert caught.value.subscription_id == winner['id']
    assert stores.subscriptions.get(PROJECT, SOURCE, sid)['subscriber'] \
        == MAIL


def test_a_create_waiting_on_a_concurrent_one_names_it(
        stores: Stores) -> None:
    winner = subscription_row()
    outcome: list[str] = []

    def create() -> None:
        try:
            outcome.append(stores.subscriptions.create(
                PROJECT, SOURCE, HOOK, 60, {}))
        except errors.SubscriptionAlreadyExists as exc:
            outcome.append(exc.subscription_id)

    racer = threading.Thread(target=create)
    with txn.write(stores.data.engine) as conn:
        conn.execute(tables.subscriptions.insert().values(**winner))
        racer.start()
        # Uncommitted yet: the racer reads, then its insert waits on ours.
        time.sleep(0.5)
    racer.join(30)
    assert outcome == [winner['id']]
