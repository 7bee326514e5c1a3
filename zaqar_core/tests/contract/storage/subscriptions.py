"""The subscription contract."""

from __future__ import annotations

import pytest

from zaqar_core.storage import errors
from zaqar_core.storage.stores import Stores
from zaqar_core.tests.contract.storage.helpers import OTHER_PROJECT
from zaqar_core.tests.contract.storage.helpers import OTHER_QUEUE
from zaqar_core.tests.contract.storage.helpers import PROJECT
from zaqar_core.tests.contract.storage.helpers import QUEUE
from zaqar_core.tests.contract.storage.helpers import FrozenClock

HOOK = 'http://127.0.0.1:9/hook'
OTHER_HOOK = 'https://127.0.0.1:9/other'
MAIL = 'mailto:ops@example.com'
OPTIONS = {'post_data': '{"m": "$zaqar_message$"}',
           'post_headers': {'X-Team': 'ops'}, 'n': [1, 2.5, None, True]}


def subscribe(stores: Stores, subscriber: str = HOOK, *, ttl: int = 600,
              options: dict | None = None, source: str = QUEUE,
              project: str = PROJECT) -> str:
    return stores.subscriptions.create(project, source, subscriber, ttl,
                                       options or {})


def ids(stores: Stores, source: str = QUEUE, project: str = PROJECT,
        **kwargs) -> list[str]:
    kwargs.setdefault('limit', 100)
    return [s['id'] for s in stores.subscriptions.list(project, source,
                                                       **kwargs)]


class SubscriptionControllerContract:
    def test_create_then_get_shows_every_field(
            self, stores: Stores, clock: FrozenClock) -> None:
        sid = subscribe(stores, options=OPTIONS, ttl=3600)
        clock.advance(5)
        assert stores.subscriptions.get(PROJECT, QUEUE, sid) == {
            'id': sid, 'source': QUEUE, 'subscriber': HOOK, 'ttl': 3600,
            'age': 5, 'options': OPTIONS, 'confirmed': False}

    def test_ids_are_unique_strings(self, stores: Stores) -> None:
        made = {subscribe(stores, f'{HOOK}/{n}') for n in range(5)}
        assert len(made) == 5
        assert all(isinstance(sid, str) and sid for sid in made)

    def test_an_import_keeps_its_id(self, stores: Stores) -> None:
        given = '0f8c2a4e6b1d4c3e9a7b5d2f1e0c8a6b'
        assert stores.subscriptions.create(
            PROJECT, QUEUE, HOOK, 600, {}, subscription_id=given) == given
        assert stores.subscriptions.get(PROJECT, QUEUE, given)[
            'subscriber'] == HOOK

    def test_a_second_live_subscription_of_a_subscriber_is_refused(
            self, stores: Stores) -> None:
        sid = subscribe(stores)
        with pytest.raises(errors.SubscriptionAlreadyExists) as caught:
            subscribe(stores, ttl=60, options={'x': 1})
        assert caught.value.subscription_id == sid
        # The refused call changed nothing.
        found = stores.subscriptions.get(PROJECT, QUEUE, sid)
        assert (found['ttl'], found['options']) == (600, {})

    def test_the_same_subscriber_may_follow_other_sources(
            self, stores: Stores) -> None:
        first = subscribe(stores)
        second = subscribe(stores, source=OTHER_QUEUE)
        third = subscribe(stores, project=OTHER_PROJECT)
        assert len({first, second, third}) == 3

    def test_an_expired_subscription_is_gone_and_may_be_made_again(
            self, stores: Stores, clock: FrozenClock) -> None:
        old = subscribe(stores, ttl=60)
        clock.advance(61)
        with pytest.raises(errors.SubscriptionDoesNotExist):
            stores.subscriptions.get(PROJECT, QUEUE, old)
        assert ids(stores) == []
        new = subscribe(stores)
        assert new != old
        assert ids(stores) == [new]

    def test_get_needs_the_right_source_and_project(
            self, stores: Stores) -> None:
        sid = subscribe(stores)
        for project, source in ((PROJECT, OTHER_QUEUE),
                                (OTHER_PROJECT, QUEUE)):
            with pytest.raises(errors.SubscriptionDoesNotExist):
                stores.subscriptions.get(project, source, sid)

    @pytest.mark.parametrize('sid', ['nope', '', '0' * 32, '../x'])
    def test_unknown_ids_do_not_exist(self, stores: Stores, sid: str
                                      ) -> None:
        subscribe(stores)
        with pytest.raises(errors.SubscriptionDoesNotExist):
            stores.subscriptions.get(PROJECT, QUEUE, sid)
        with pytest.raises(errors.SubscriptionDoesNotExist):
            stores.subscriptions.confirm(PROJECT, QUEUE, sid, True)
        with pytest.raises(errors.SubscriptionDoesNotExist):
            stores.subscriptions.update(PROJECT, QUEUE, sid, ttl=60)
        stores.subscriptions.delete(PROJECT, QUEUE, sid)

    def test_list_pages_in_id_order_without_repeats(
            self, stores: Stores) -> None:
        made = sorted(subscribe(stores, f'{HOOK}/{n}') for n in range(7))
        seen, marker = [], None
        while True:
            page = ids(stores, marker=marker, limit=3)
            if not page:
                break
            assert len(page) <= 3
            seen += page
            marker = page[-1]
        assert seen == made

    def test_list_shows_only_the_source_of_the_project(
            self, stores: Stores) -> None:
        mine = subscribe(stores)
        subscribe(stores, source=OTHER_QUEUE)
        subscribe(stores, project=OTHER_PROJECT)
        assert ids(stores) == [mine]
        listed = stores.subscriptions.list(PROJECT, QUEUE)
        assert listed[0]['subscriber'] == HOOK
        assert listed[0]['source'] == QUEUE

    def test_list_of_a_source_without_subscriptions_is_empty(
            self, stores: Stores) -> None:
        assert ids(stores) == []
        assert ids(stores, marker='anything') == []

    def test_update_changes_only_the_fields_given(
            self, stores: Stores, clock: FrozenClock) -> None:
        sid = subscribe(stores, options=OPTIONS, ttl=600)
        stores.subscriptions.update(PROJECT, QUEUE, sid,
                                    subscriber=OTHER_HOOK)
        found = stores.subscriptions.get(PROJECT, QUEUE, sid)
        assert (found['subscriber'], found['ttl'], found['options']) == \
            (OTHER_HOOK, 600, OPTIONS)
        stores.subscriptions.update(PROJECT, QUEUE, sid, options={'a': 1})
        assert stores.subscriptions.get(PROJECT, QUEUE, sid)['options'] \
            == {'a': 1}
        # The old subscriber is free for a new subscription.
        subscribe(stores, HOOK)

    def test_update_with_nothing_to_change_changes_nothing(
            self, stores: Stores, clock: FrozenClock) -> None:
        # The API passes a PATCH of {"ttl": null} on as no fields at all.
        sid = subscribe(stores, options=OPTIONS, ttl=600)
        before = stores.subscriptions.get(PROJECT, QUEUE, sid)
        clock.advance(5)
        stores.subscriptions.update(PROJECT, QUEUE, sid)
        after = stores.subscriptions.get(PROJECT, QUEUE, sid)
        assert after == {**before, 'age': 5}
        for project, source, unknown in ((PROJECT, QUEUE, 'nope'),
                                         (PROJECT, OTHER_QUEUE, sid),
                                         (OTHER_PROJECT, QUEUE, sid)):
            with pytest.raises(errors.SubscriptionDoesNotExist):
                stores.subscriptions.update(project, source, unknown)
        clock.advance(600)
        with pytest.raises(errors.SubscriptionDoesNotExist):
            stores.subscriptions.update(PROJECT, QUEUE, sid)

    def test_a_new_ttl_counts_from_the_update(
            self, stores: Stores, clock: FrozenClock) -> None:
        sid = subscribe(stores, ttl=60)
        clock.advance(50)
        stores.subscriptions.update(PROJECT, QUEUE, sid, ttl=100)
        clock.advance(90)
        found = stores.subscriptions.get(PROJECT, QUEUE, sid)
        assert (found['ttl'], found['age']) == (100, 140)
        clock.advance(11)
        with pytest.raises(errors.SubscriptionDoesNotExist):
            stores.subscriptions.get(PROJECT, QUEUE, sid)

    def test_update_to_a_subscriber_in_use_is_refused(
            self, stores: Stores) -> None:
        taken = subscribe(stores, HOOK)
        sid = subscribe(stores, MAIL)
        with pytest.raises(errors.SubscriptionAlreadyExists) as caught:
            stores.subscriptions.update(PROJECT, QUEUE, sid,
                                        subscriber=HOOK, ttl=60)
        assert caught.value.subscription_id == taken
        found = stores.subscriptions.get(PROJECT, QUEUE, sid)
        assert (found['subscriber'], found['ttl']) == (MAIL, 600)
        # Setting a subscription's own subscriber again is no conflict.
        stores.subscriptions.update(PROJECT, QUEUE, sid, subscriber=MAIL)

    def test_update_needs_the_right_source(self, stores: Stores) -> None:
        sid = subscribe(stores)
        with pytest.raises(errors.SubscriptionDoesNotExist):
            stores.subscriptions.update(PROJECT, OTHER_QUEUE, sid, ttl=60)

    def test_confirm_and_unconfirm(self, stores: Stores) -> None:
        sid = subscribe(stores)
        stores.subscriptions.confirm(PROJECT, QUEUE, sid, True)
        assert stores.subscriptions.get(PROJECT, QUEUE, sid)['confirmed']
        stores.subscriptions.confirm(PROJECT, QUEUE, sid, False)
        assert not stores.subscriptions.get(PROJECT, QUEUE,
                                            sid)['confirmed']

    def test_delete_is_idempotent_and_scoped(self, stores: Stores) -> None:
        sid = subscribe(stores)
        kept = subscribe(stores, MAIL)
        stores.subscriptions.delete(PROJECT, OTHER_QUEUE, sid)
        stores.subscriptions.delete(OTHER_PROJECT, QUEUE, sid)
        assert sorted(ids(stores)) == sorted([sid, kept])
        stores.subscriptions.delete(PROJECT, QUEUE, sid)
        with pytest.raises(errors.SubscriptionDoesNotExist):
            stores.subscriptions.get(PROJECT, QUEUE, sid)
        assert ids(stores) == [kept]
        # Its subscriber is free again; deleting the old id a second time
        # must not touch the new subscription (nor the other one).
        again = subscribe(stores, ttl=60)
        assert again != sid
        stores.subscriptions.delete(PROJECT, QUEUE, sid)
        assert sorted(ids(stores)) == sorted([again, kept])
        assert stores.subscriptions.get(PROJECT, QUEUE, again)['ttl'] == 60

    def test_purge_empties_one_source(self, stores: Stores) -> None:
        subscribe(stores, HOOK)
        subscribe(stores, MAIL)
        kept = subscribe(stores, source=OTHER_QUEUE)
        stores.subscriptions.purge(PROJECT, QUEUE)
        assert ids(stores) == []
        assert ids(stores, OTHER_QUEUE) == [kept]
        stores.subscriptions.purge(PROJECT, QUEUE)

    def test_subscriptions_outlive_their_queue(self, stores: Stores
                                               ) -> None:
        stores.queues.create(PROJECT, QUEUE)
        sid = subscribe(stores)
        stores.queues.delete(PROJECT, QUEUE)
        stores.messages.purge(PROJECT, QUEUE)
        assert ids(stores) == [sid]

    def test_gc_removes_expired_subscriptions_only(
            self, stores: Stores, clock: FrozenClock) -> None:
        subscribe(stores, HOOK, ttl=60)
        subscribe(stores, MAIL, ttl=60, source=OTHER_QUEUE)
        kept = subscribe(stores, OTHER_HOOK, ttl=3600)
        clock.advance(61)
        assert stores.data.gc() == 2
        assert stores.data.gc() == 0
        assert ids(stores) == [kept]

    def test_a_post_counts_the_queues_subscriptions(
            self, stores: Stores) -> None:
        def posted() -> int | None:
            result = stores.messages.post_counting_subscriptions(
                PROJECT, QUEUE, [{'body': 1, 'ttl': 60, 'delay': 0}],
                'client')
            assert len(result.ids) == 1
            assert result.fan_out is None  # none was asked for
            return result.subscribed

        subscribe(stores, source=OTHER_QUEUE)
        assert posted() == 0
        first = subscribe(stores, HOOK)
        subscribe(stores, MAIL)
        assert posted() >= 2
        stores.subscriptions.delete(PROJECT, QUEUE, first)
        assert posted() >= 1
        stores.subscriptions.purge(PROJECT, QUEUE)
        assert posted() == 0
