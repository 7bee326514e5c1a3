"""Subscriptions on Redis beyond the contract: any project string, the
GC's two kinds of keys, and uniqueness under concurrent callers."""

from __future__ import annotations

import pytest
from redis.crc import key_slot

from zaqar_core.storage import errors
from zaqar_core.storage.stores import Stores
from zaqar_core.tests.contract import storage as contract
from zaqar_plugins.storage.redis import driver
from zaqar_plugins.storage.redis import keys

HOOK = 'http://127.0.0.1:9/hook'
OTHER_HOOK = 'https://127.0.0.1:9/other'
# Topics keep their subscriptions under '<project>\x1ftopics'; the others
# hold what the key layout uses as separators, or look like a hash tag.
PROJECTS = ['abc\x1ftopics', 'a:b', 'x}:y', '{p:q}', 'p}:jobs:subexp', '']
# Sources named like key suffixes.
SOURCES = [contract.QUEUE, 'exp', 'subexp', 'subs']


def keys_under(stores: Stores, prefix: str) -> list[str]:
    # Filtered here: a project string may hold glob characters.
    return [k for k in stores.data.client.scan_iter(match='z:*')
            if k.startswith(prefix + ':')]


def source_keys_left(stores: Stores, project: str, source: str
                     ) -> list[str]:
    return keys_under(stores, keys.queue_prefix(project, source))


@pytest.mark.parametrize('source', SOURCES)
@pytest.mark.parametrize('project', PROJECTS)
def test_any_project_string_works_for_subscriptions(
        stores: Stores, clock: contract.FrozenClock, project: str,
        source: str) -> None:
    subs = stores.subscriptions
    # The same subscriber on the plain project and on a queue of the same
    # name: neither is seen from the other.
    neighbour = subs.create(contract.PROJECT, source, HOOK, 600, {})
    contract.post(stores, 2, queue=source, project=project, ttl=60)

    sid = subs.create(project, source, HOOK, 60, {'a': [1, 'b\nc']})
    assert subs.get(project, source, sid) == {
        'id': sid, 'source': source, 'subscriber': HOOK, 'ttl': 60,
        'age': 0, 'options': {'a': [1, 'b\nc']}, 'confirmed': False}
    with pytest.raises(errors.SubscriptionAlreadyExists) as caught:
        subs.create(project, source, HOOK, 60, {})
    assert caught.value.subscription_id == sid
    other = subs.create(project, source, OTHER_HOOK, 3600, {})
    assert [s['id'] for s in subs.list(project, source, limit=1)] + \
        [s['id'] for s in subs.list(project, source, marker=min(sid, other))
         ] == sorted([sid, other])
    subs.confirm(project, source, sid, True)
    # Records hold the subscriber last, so that it may hold anything.
    odd = HOOK + '/\u00fc\n2 0 1'
    subs.update(project, source, sid, subscriber=odd, ttl=60)
    found = subs.get(project, source, sid)
    assert (found['subscriber'], found['confirmed']) == (odd, True)
    assert subs.get(contract.PROJECT, source, neighbour)['subscriber'] == \
        HOOK
    with pytest.raises(errors.SubscriptionDoesNotExist):
        subs.get(contract.PROJECT, source, sid)

    # One slot per project, whatever its string holds.
    assert len({key_slot(k.encode()) for k in
                keys_under(stores, keys.project_prefix(project))}) == 1

    # The GC tells the subscription keys from the queue's: two messages
    # and one subscription expired.
    clock.advance(61)
    assert stores.data.gc() == 3
    assert [s['id'] for s in subs.list(project, source)] == [other]
    assert contract.everything(stores, source, project) == []
    subs.delete(project, source, other)
    assert source_keys_left(stores, project, source) == []
    assert [s['id'] for s in subs.list(contract.PROJECT, source)] == \
        [neighbour]


def test_purging_messages_keeps_subscriptions_and_back(
        stores: Stores) -> None:
    ids = contract.post(stores, 2)
    stores.subscriptions.create(contract.PROJECT, contract.QUEUE, HOOK, 600,
                                {})
    stores.subscriptions.purge(contract.PROJECT, contract.QUEUE)
    assert contract.everything(stores) == ids
    sid = stores.subscriptions.create(contract.PROJECT, contract.QUEUE,
                                      HOOK, 600, {})
    stores.messages.purge(contract.PROJECT, contract.QUEUE)
    assert [s['id'] for s in stores.subscriptions.list(
        contract.PROJECT, contract.QUEUE)] == [sid]


def test_deleting_and_purging_free_the_keys(stores: Stores) -> None:
    subs = stores.subscriptions
    first = subs.create(contract.PROJECT, contract.QUEUE, HOOK, 600, {})
    subs.create(contract.PROJECT, contract.QUEUE, OTHER_HOOK, 600, {})
    subs.delete(contract.PROJECT, contract.QUEUE, first)
    prefix = keys.queue_prefix(contract.PROJECT, contract.QUEUE)
    by_subscriber = keys.subscription_keys(prefix)[3]
    assert stores.data.client.hgetall(by_subscriber) == {
        OTHER_HOOK: subs.list(contract.PROJECT, contract.QUEUE)[0]['id']}
    subs.purge(contract.PROJECT, contract.QUEUE)
    assert source_keys_left(stores, contract.PROJECT, contract.QUEUE) == []


def test_replacing_an_expired_subscription_drops_it(
        stores: Stores, clock: contract.FrozenClock) -> None:
    subs = stores.subscriptions
    old = subs.create(contract.PROJECT, contract.QUEUE, HOOK, 60, {})
    clock.advance(61)
    new = subs.create(contract.PROJECT, contract.QUEUE, HOOK, 60, {})
    # Deleting the old id now must not free the new one's subscriber.
    subs.delete(contract.PROJECT, contract.QUEUE, old)
    with pytest.raises(errors.SubscriptionAlreadyExists) as caught:
        subs.create(contract.PROJECT, contract.QUEUE, HOOK, 60, {})
    assert caught.value.subscription_id == new
    assert stores.data.gc() == 0


def test_update_to_an_expired_subscriber_replaces_it(
        stores: Stores, clock: contract.FrozenClock) -> None:
    subs = stores.subscriptions
    subs.create(contract.PROJECT, contract.QUEUE, HOOK, 60, {})
    sid = subs.create(contract.PROJECT, contract.QUEUE, OTHER_HOOK, 600, {})
    clock.advance(61)
    subs.update(contract.PROJECT, contract.QUEUE, sid, subscriber=HOOK)
    # The old subscriber is free, the new one taken by sid.
    subs.create(contract.PROJECT, contract.QUEUE, OTHER_HOOK, 600, {})
    with pytest.raises(errors.SubscriptionAlreadyExists) as caught:
        subs.create(contract.PROJECT, contract.QUEUE, HOOK, 60, {})
    assert caught.value.subscription_id == sid


def test_subscription_gc_works_in_batches_and_frees_the_keys(
        stores: Stores, clock: contract.FrozenClock,
        monkeypatch: pytest.MonkeyPatch,
        script_calls: list[str]) -> None:
    monkeypatch.setattr(driver, 'GC_BATCH', 10)
    for n in range(25):
        stores.subscriptions.create(contract.PROJECT, contract.QUEUE,
                                    f'{HOOK}/{n}', 60, {})
    clock.advance(61)
    assert stores.data.gc() == 25
    assert script_calls.count('subscription_gc') == 3
    assert script_calls.count('gc') == 0  # no queue was mistaken for it
    assert stores.data.gc() == 0
    assert source_keys_left(stores, contract.PROJECT, contract.QUEUE) == []


def test_concurrent_creates_of_one_subscriber_make_one(
        stores: Stores, clock: contract.FrozenClock) -> None:
    # An expired holder, which every caller may try to replace.
    stores.subscriptions.create(contract.PROJECT, contract.QUEUE, HOOK, 60,
                                {})
    clock.advance(61)

    def create() -> list[str]:
        try:
            return [stores.subscriptions.create(
                contract.PROJECT, contract.QUEUE, HOOK, 600, {})]
        except errors.SubscriptionAlreadyExists as exc:
            return ['taken:' + exc.subscription_id]

    outcomes = contract.run_together(8, create)
    made = [o for o in outcomes if not o.startswith('taken:')]
    assert len(made) == 1
    assert sorted(outcomes) == sorted(made + ['taken:' + made[0]] * 7)
    assert [s['id'] for s in stores.subscriptions.list(
        contract.PROJECT, contract.QUEUE)] == made


def test_concurrent_updates_to_one_subscriber_let_one_win(
        stores: Stores) -> None:
    subs = stores.subscriptions
    ids = [subs.create(contract.PROJECT, contract.QUEUE, f'{HOOK}/{n}',
                       600, {}) for n in range(8)]
    pending = list(ids)

    def update() -> list[str]:
        sid = pending.pop()
        try:
            subs.update(contract.PROJECT, contract.QUEUE, sid,
                        subscriber=OTHER_HOOK)
        except errors.SubscriptionAlreadyExists:
            return []
        return [sid]

    [winner] = contract.run_together(8, update)
    holders = [s['id'] for s in subs.list(contract.PROJECT, contract.QUEUE,
                                          limit=100)
               if s['subscriber'] == OTHER_HOOK]
    assert holders == [winner]
