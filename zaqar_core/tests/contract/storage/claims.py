"""The claim and dead-letter contracts."""

from __future__ import annotations

import time

import pytest

from zaqar_core.storage import base
from zaqar_core.storage import errors
from zaqar_core.storage.stores import Stores
from zaqar_core.tests.contract.storage.helpers import DEAD_QUEUE
from zaqar_core.tests.contract.storage.helpers import LONG_TTL
from zaqar_core.tests.contract.storage.helpers import OTHER_PROJECT
from zaqar_core.tests.contract.storage.helpers import OTHER_QUEUE
from zaqar_core.tests.contract.storage.helpers import PROJECT
from zaqar_core.tests.contract.storage.helpers import QUEUE
from zaqar_core.tests.contract.storage.helpers import UNKNOWN_CLAIM_IDS
from zaqar_core.tests.contract.storage.helpers import FrozenClock
from zaqar_core.tests.contract.storage.helpers import claim
from zaqar_core.tests.contract.storage.helpers import drain
from zaqar_core.tests.contract.storage.helpers import everything
from zaqar_core.tests.contract.storage.helpers import exists
from zaqar_core.tests.contract.storage.helpers import listed
from zaqar_core.tests.contract.storage.helpers import post


class ClaimControllerContract:
    def test_create_claims_the_oldest_up_to_the_limit(self, stores: Stores
                                                      ) -> None:
        ids = post(stores, 5)
        claim_id, messages, moved = stores.claims.create(
            PROJECT, QUEUE, 60, 60, 3)
        assert claim_id is not None
        assert [m['id'] for m in messages] == ids[:3]
        assert {m['claim_id'] for m in messages} == {claim_id}
        assert moved == 0

    def test_create_on_an_empty_queue_claims_nothing(self, stores: Stores
                                                     ) -> None:
        post(stores, queue=OTHER_QUEUE)
        assert stores.claims.create(PROJECT, QUEUE, 60, 60, 10) == (
            None, [], 0)

    def test_create_skips_claimed_messages(self, stores: Stores) -> None:
        ids = post(stores, 5)
        _, first = claim(stores, limit=3)
        _, second = claim(stores, limit=3)
        assert (first, second) == (ids[:3], ids[3:])
        assert claim(stores) == (None, [])

    def test_create_skips_delayed_and_expired_messages(
            self, stores: Stores, clock: FrozenClock) -> None:
        post(stores, ttl=60)
        [delayed] = post(stores, delay=120)
        [ready] = post(stores)
        clock.advance(61)
        assert claim(stores, ttl=300)[1] == [ready]
        clock.advance(60)
        assert claim(stores)[1] == [delayed]

    def test_no_message_is_in_two_live_claims(self, stores: Stores) -> None:
        ids = post(stores, 10)
        taken = drain(lambda: claim(stores, limit=3)[1])
        assert sorted(taken) == sorted(ids)

    def test_claim_raises_the_message_ttl_to_claim_ttl_plus_grace(
            self, stores: Stores, clock: FrozenClock) -> None:
        [message_id] = post(stores, ttl=60)
        clock.advance(10)
        _, [message], _ = stores.claims.create(PROJECT, QUEUE, 100, 50, 1)
        assert message['ttl'] == 160
        clock.advance(149)
        assert stores.messages.get(PROJECT, QUEUE, message_id)['ttl'] == 160
        clock.advance(2)
        assert not exists(stores, message_id)

    def test_a_claim_answers_what_it_stored(self, stores: Stores,
                                            clock: FrozenClock) -> None:
        post(stores, ttl=60)
        post(stores, ttl=LONG_TTL)
        clock.advance(3)
        letter = dead_letter(max_claim_count=5)
        for count in (1, 2):
            claim_id, claimed, _ = stores.claims.create(
                PROJECT, QUEUE, 100, 50, 10, letter)
            assert [m['claim_count'] for m in claimed] == [count, count]
            assert [m['ttl'] for m in claimed] == [153, LONG_TTL]
            for message in claimed:
                assert message == stores.messages.get(
                    PROJECT, QUEUE, message['id'])
            stores.claims.delete(PROJECT, QUEUE, claim_id)

    def test_claim_never_shortens_the_message_ttl(self, stores: Stores
                                                  ) -> None:
        [message_id] = post(stores, ttl=LONG_TTL)
        claim(stores, ttl=60, grace=60)
        assert stores.messages.get(PROJECT, QUEUE, message_id)['ttl'] == \
            LONG_TTL

    def test_get_returns_the_claim_and_its_messages(
            self, stores: Stores, clock: FrozenClock) -> None:
        ids = post(stores, 3)
        claim_id, _ = claim(stores, limit=2, ttl=90)
        clock.advance(5)
        info, messages = stores.claims.get(PROJECT, QUEUE, claim_id)
        assert info == {'id': claim_id, 'ttl': 90, 'age': 5}
        assert [m['id'] for m in messages] == ids[:2]
        assert {m['claim_id'] for m in messages} == {claim_id}

    def test_get_leaves_out_deleted_messages(self, stores: Stores) -> None:
        ids = post(stores, 2)
        claim_id, _ = claim(stores)
        stores.messages.delete(PROJECT, QUEUE, ids[0], claim_id)
        _, messages = stores.claims.get(PROJECT, QUEUE, claim_id)
        assert [m['id'] for m in messages] == ids[1:]

    @pytest.mark.parametrize('claim_id', UNKNOWN_CLAIM_IDS)
    def test_get_of_an_unknown_claim_raises(self, stores: Stores,
                                            claim_id: str) -> None:
        post(stores)
        claim(stores)
        with pytest.raises(errors.ClaimDoesNotExist):
            stores.claims.get(PROJECT, QUEUE, claim_id)

    def test_get_of_an_expired_claim_raises(self, stores: Stores,
                                            clock: FrozenClock) -> None:
        post(stores)
        claim_id, _ = claim(stores, ttl=30)
        clock.advance(29)
        stores.claims.get(PROJECT, QUEUE, claim_id)
        clock.advance(2)
        with pytest.raises(errors.ClaimDoesNotExist):
            stores.claims.get(PROJECT, QUEUE, claim_id)

    def test_get_sees_one_queue_of_one_project(self, stores: Stores) -> None:
        post(stores)
        claim_id, _ = claim(stores)
        with pytest.raises(errors.ClaimDoesNotExist):
            stores.claims.get(PROJECT, OTHER_QUEUE, claim_id)
        with pytest.raises(errors.ClaimDoesNotExist):
            stores.claims.get(OTHER_PROJECT, QUEUE, claim_id)

    def test_update_restarts_the_claim(self, stores: Stores,
                                       clock: FrozenClock) -> None:
        post(stores)
        claim_id, _ = claim(stores, ttl=60)
        clock.advance(30)
        stores.claims.update(PROJECT, QUEUE, claim_id, 100, 10)
        info, _ = stores.claims.get(PROJECT, QUEUE, claim_id)
        assert (info['ttl'], info['age']) == (100, 0)
        clock.advance(99)
        assert claim(stores) == (None, [])
        clock.advance(2)
        with pytest.raises(errors.ClaimDoesNotExist):
            stores.claims.get(PROJECT, QUEUE, claim_id)

    def test_update_keeps_messages_alive_past_the_new_claim(
            self, stores: Stores, clock: FrozenClock) -> None:
        [message_id] = post(stores, ttl=60)
        claim_id, _ = claim(stores, ttl=30, grace=0)
        clock.advance(25)
        stores.claims.update(PROJECT, QUEUE, claim_id, 100, 20)
        clock.advance(119)
        assert exists(stores, message_id)
        clock.advance(2)
        assert not exists(stores, message_id)

    @pytest.mark.parametrize('claim_id', UNKNOWN_CLAIM_IDS)
    def test_update_of_an_unknown_claim_raises(self, stores: Stores,
                                               claim_id: str) -> None:
        with pytest.raises(errors.ClaimDoesNotExist):
            stores.claims.update(PROJECT, QUEUE, claim_id, 60, 60)

    def test_update_of_an_expired_claim_raises(self, stores: Stores,
                                               clock: FrozenClock) -> None:
        post(stores)
        claim_id, _ = claim(stores, ttl=30)
        clock.advance(31)
        with pytest.raises(errors.ClaimDoesNotExist):
            stores.claims.update(PROJECT, QUEUE, claim_id, 60, 60)

    def test_delete_frees_the_messages_at_once(self, stores: Stores) -> None:
        ids = post(stores, 2)
        claim_id, _ = claim(stores)
        stores.claims.delete(PROJECT, QUEUE, claim_id)
        assert listed(stores) == ids
        assert claim(stores)[1] == ids
        with pytest.raises(errors.ClaimDoesNotExist):
            stores.claims.get(PROJECT, QUEUE, claim_id)

    def test_delete_is_idempotent(self, stores: Stores) -> None:
        ids = post(stores, 2)
        claim_id, _ = claim(stores)
        stores.claims.delete(PROJECT, QUEUE, claim_id)
        with pytest.raises(errors.ClaimDoesNotExist):
            stores.claims.get(PROJECT, QUEUE, claim_id)
        found, _ = stores.messages.list(PROJECT, QUEUE)
        assert [(m['id'], m['claim_id']) for m in found] == [
            (ids[0], None), (ids[1], None)]
        # A new claim takes the freed messages; deleting the old claim
        # again (or claims that never were) must leave it alone.
        new_id, taken = claim(stores)
        assert taken == ids
        stores.claims.delete(PROJECT, QUEUE, claim_id)
        for unknown in UNKNOWN_CLAIM_IDS:
            stores.claims.delete(PROJECT, QUEUE, unknown)
        info, held = stores.claims.get(PROJECT, QUEUE, new_id)
        assert info['id'] == new_id
        assert [(m['id'], m['claim_id']) for m in held] == [
            (ids[0], new_id), (ids[1], new_id)]
        assert listed(stores) == []
        assert claim(stores) == (None, [])

    def test_delete_stays_in_its_queue(self, stores: Stores) -> None:
        post(stores)
        claim_id, _ = claim(stores)
        stores.claims.delete(PROJECT, OTHER_QUEUE, claim_id)
        stores.claims.delete(OTHER_PROJECT, QUEUE, claim_id)
        assert stores.claims.get(PROJECT, QUEUE, claim_id)[0]['id'] == \
            claim_id

    def test_expired_claim_frees_its_messages(self, stores: Stores,
                                              clock: FrozenClock) -> None:
        ids = post(stores, 2)
        claim(stores, ttl=30)
        clock.advance(31)
        found, _ = stores.messages.list(PROJECT, QUEUE)
        assert [(m['id'], m['claim_id']) for m in found] == [
            (ids[0], None), (ids[1], None)]
        assert claim(stores)[1] == ids

    def test_claim_expires_in_real_time(self, stores: Stores) -> None:
        ids = post(stores, 2)
        claim_id, _ = claim(stores, ttl=1, grace=0)
        assert claim(stores) == (None, [])
        time.sleep(1.1)
        assert claim(stores)[1] == ids
        with pytest.raises(errors.ClaimDoesNotExist):
            stores.claims.get(PROJECT, QUEUE, claim_id)

    def test_claims_see_one_project(self, stores: Stores) -> None:
        mine = post(stores)
        theirs = post(stores, project=OTHER_PROJECT)
        assert claim(stores)[1] == mine
        assert claim(stores, project=OTHER_PROJECT)[1] == theirs


def dead_letter(max_claim_count: int = 2,
                ttl: int | None = None) -> base.DeadLetter:
    return {'max_claim_count': max_claim_count, 'queue': DEAD_QUEUE,
            'ttl': ttl}


def claim_and_release(stores: Stores, times: int,
                      letter: base.DeadLetter) -> None:
    for _ in range(times):
        claim_id, _ = claim(stores, limit=1, ttl=10, grace=10,
                            dead_letter=letter)
        assert claim_id is not None
        stores.claims.delete(PROJECT, QUEUE, claim_id)


class DeadLetterContract:
    def test_each_claim_counts(self, stores: Stores) -> None:
        [message_id] = post(stores)
        claim_and_release(stores, 2, dead_letter(max_claim_count=5))
        assert stores.messages.get(PROJECT, QUEUE, message_id)[
            'claim_count'] == 2

    def test_exhausted_message_moves_instead_of_being_claimed(
            self, stores: Stores) -> None:
        [message_id] = post(stores)
        letter = dead_letter(max_claim_count=2)
        claim_and_release(stores, 2, letter)
        assert stores.claims.create(PROJECT, QUEUE, 60, 60, 10, letter) == (
            None, [], 1)
        assert everything(stores) == []
        [moved] = stores.messages.bulk_get(PROJECT, DEAD_QUEUE, [message_id])
        assert moved['body'] == {'n': 0}

    def test_only_exhausted_messages_move(self, stores: Stores) -> None:
        exhausted, fresh = post(stores, 2)
        letter = dead_letter(max_claim_count=1)
        claim_and_release(stores, 1, letter)
        claim_id, messages, moved = stores.claims.create(
            PROJECT, QUEUE, 60, 60, 10, letter)
        assert ([m['id'] for m in messages], moved) == ([fresh], 1)
        assert everything(stores, DEAD_QUEUE) == [exhausted]

    def test_moved_message_is_free_in_the_dead_letter_queue(
            self, stores: Stores) -> None:
        [message_id] = post(stores)
        letter = dead_letter(max_claim_count=1)
        claim_and_release(stores, 1, letter)
        claim(stores, dead_letter=letter)
        assert claim(stores, queue=DEAD_QUEUE)[1] == [message_id]

    def test_dead_letter_ttl_gives_a_new_lifetime(
            self, stores: Stores, clock: FrozenClock) -> None:
        [message_id] = post(stores, ttl=LONG_TTL)
        letter = dead_letter(max_claim_count=1, ttl=100)
        claim_and_release(stores, 1, letter)
        clock.advance(50)
        claim(stores, dead_letter=letter)
        clock.advance(99)
        assert exists(stores, message_id, DEAD_QUEUE)
        clock.advance(2)
        assert not exists(stores, message_id, DEAD_QUEUE)

    def test_dead_letter_without_ttl_keeps_the_expiry(
            self, stores: Stores, clock: FrozenClock) -> None:
        [message_id] = post(stores, ttl=200)
        letter = dead_letter(max_claim_count=1)
        claim_and_release(stores, 1, letter)
        claim(stores, dead_letter=letter)
        clock.advance(199)
        assert exists(stores, message_id, DEAD_QUEUE)
        clock.advance(2)
        assert not exists(stores, message_id, DEAD_QUEUE)
