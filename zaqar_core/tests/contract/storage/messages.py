"""The message contract."""

from __future__ import annotations

from typing import Any

import pytest

from zaqar_core.storage import errors
from zaqar_core.storage.stores import Stores
from zaqar_core.tests.contract.storage.fan_out import FanOutContract
from zaqar_core.tests.contract.storage.helpers import CLIENT
from zaqar_core.tests.contract.storage.helpers import MALFORMED_IDS
from zaqar_core.tests.contract.storage.helpers import MALFORMED_MARKERS
from zaqar_core.tests.contract.storage.helpers import OTHER_CLIENT
from zaqar_core.tests.contract.storage.helpers import OTHER_PROJECT
from zaqar_core.tests.contract.storage.helpers import OTHER_QUEUE
from zaqar_core.tests.contract.storage.helpers import PROJECT
from zaqar_core.tests.contract.storage.helpers import QUEUE
from zaqar_core.tests.contract.storage.helpers import UNKNOWN_CLAIM_IDS
from zaqar_core.tests.contract.storage.helpers import FrozenClock
from zaqar_core.tests.contract.storage.helpers import claim
from zaqar_core.tests.contract.storage.helpers import everything
from zaqar_core.tests.contract.storage.helpers import exists
from zaqar_core.tests.contract.storage.helpers import listed
from zaqar_core.tests.contract.storage.helpers import new_message
from zaqar_core.tests.contract.storage.helpers import post
from zaqar_core.tests.contract.storage.message_ids import MessageIdContract
from zaqar_core.tests.contract.storage.post_once import PostOnceContract
from zaqar_core.tests.contract.storage.seen_metadata import (
    SeenMetadataContract,
)


class MessageControllerContract(MessageIdContract, FanOutContract,
                                PostOnceContract, SeenMetadataContract):
    # -- post, get, bulk_get ------------------------------------------------

    def test_post_returns_ids_in_the_order_given(self, stores: Stores
                                                 ) -> None:
        ids = post(stores, 3)
        assert len(set(ids)) == 3
        bodies = [stores.messages.get(PROJECT, QUEUE, i)['body']
                  for i in ids]
        assert bodies == [{'n': 0}, {'n': 1}, {'n': 2}]

    def test_a_large_post_keeps_each_message_in_order(self, stores: Stores
                                                       ) -> None:
        # More messages than a store writes at once (Redis: 500), each
        # with its own TTL and, every third, a delay.
        count = 1201
        ids = stores.messages.post(PROJECT, QUEUE, [
            new_message({'n': n}, ttl=3600 + n, delay=60 if n % 3 == 0
                        else 0) for n in range(count)], CLIENT)
        assert len(set(ids)) == count
        found, _ = stores.messages.list(PROJECT, QUEUE, limit=count,
                                        echo=True, include_delayed=True)
        assert [m['id'] for m in found] == ids
        assert [m['body'] for m in found] == [{'n': n} for n in range(count)]
        assert [m['ttl'] for m in found] == [3600 + n for n in range(count)]
        ready = [i for n, i in enumerate(ids) if n % 3]
        assert listed(stores, limit=count, echo=True) == ready

    def test_list_is_fifo_across_posts_and_queues(self, stores: Stores
                                                  ) -> None:
        first = post(stores, 2)
        post(stores, 2, queue=OTHER_QUEUE)
        second = post(stores, 2)
        assert listed(stores) == first + second

    @pytest.mark.parametrize('body', [
        {'task': 'resize', 'sizes': [1, 2.5, None, True]}, 'plain text',
        0, None, [], 'ünïcödé ✓'])
    def test_body_round_trips(self, stores: Stores, body: Any) -> None:
        [message_id] = stores.messages.post(
            PROJECT, QUEUE, [new_message(body)], CLIENT)
        assert stores.messages.get(PROJECT, QUEUE, message_id)['body'] == \
            body

    def test_get_returns_every_field(self, stores: Stores,
                                     clock: FrozenClock) -> None:
        [message_id] = stores.messages.post(
            PROJECT, QUEUE, [new_message({'a': 1}, ttl=120)], CLIENT)
        clock.advance(7)
        assert stores.messages.get(PROJECT, QUEUE, message_id) == {
            'id': message_id, 'ttl': 120, 'age': 7, 'body': {'a': 1},
            'claim_id': None, 'claim_count': 0, 'client_uuid': CLIENT}

    def test_checksum_is_kept(self, stores: Stores) -> None:
        [message_id] = stores.messages.post(
            PROJECT, QUEUE, [new_message('x', checksum='MD5:abc')], CLIENT)
        got = stores.messages.get(PROJECT, QUEUE, message_id)
        assert got['checksum'] == 'MD5:abc'

    @pytest.mark.parametrize('message_id', MALFORMED_IDS)
    def test_get_of_a_malformed_id_raises(self, stores: Stores,
                                          message_id: str) -> None:
        post(stores)
        with pytest.raises(errors.MessageDoesNotExist):
            stores.messages.get(PROJECT, QUEUE, message_id)

    def test_get_of_a_deleted_message_raises(self, stores: Stores) -> None:
        [message_id] = post(stores)
        stores.messages.delete(PROJECT, QUEUE, message_id)
        with pytest.raises(errors.MessageDoesNotExist):
            stores.messages.get(PROJECT, QUEUE, message_id)

    def test_get_of_an_expired_message_raises(self, stores: Stores,
                                              clock: FrozenClock) -> None:
        [message_id] = post(stores, ttl=60)
        clock.advance(59)
        stores.messages.get(PROJECT, QUEUE, message_id)
        clock.advance(2)
        with pytest.raises(errors.MessageDoesNotExist):
            stores.messages.get(PROJECT, QUEUE, message_id)

    def test_get_sees_one_queue_of_one_project(self, stores: Stores) -> None:
        [message_id] = post(stores)
        with pytest.raises(errors.MessageDoesNotExist):
            stores.messages.get(PROJECT, OTHER_QUEUE, message_id)
        with pytest.raises(errors.MessageDoesNotExist):
            stores.messages.get(OTHER_PROJECT, QUEUE, message_id)

    def test_bulk_get_skips_unknown_and_malformed_ids(self, stores: Stores
                                                      ) -> None:
        ids = post(stores, 3)
        stores.messages.delete(PROJECT, QUEUE, ids[1])
        found = stores.messages.bulk_get(
            PROJECT, QUEUE, [ids[2], ids[1], *MALFORMED_IDS, ids[0]])
        assert sorted(m['id'] for m in found) == sorted([ids[0], ids[2]])

    def test_bulk_get_skips_expired_messages(self, stores: Stores,
                                             clock: FrozenClock) -> None:
        [short] = post(stores, ttl=60)
        [long] = post(stores, ttl=600)
        clock.advance(61)
        found = stores.messages.bulk_get(PROJECT, QUEUE, [short, long])
        assert [m['id'] for m in found] == [long]

    def test_bulk_get_of_nothing_is_empty(self, stores: Stores) -> None:
        post(stores)
        assert stores.messages.bulk_get(PROJECT, QUEUE, []) == []

    # -- list ---------------------------------------------------------------

    def test_list_pages_with_markers(self, stores: Stores) -> None:
        ids = post(stores, 5)
        pages, marker = [], None
        for _ in range(4):
            page, marker = stores.messages.list(PROJECT, QUEUE, marker,
                                                limit=2)
            pages.append([m['id'] for m in page])
        assert pages == [ids[0:2], ids[2:4], ids[4:5], []]
        assert marker is None

    def test_marker_of_the_first_message_lists_the_rest(self, stores: Stores
                                                        ) -> None:
        ids = post(stores, 4)
        assert listed(stores, marker=ids[0]) == ids[1:]

    def test_marker_of_a_deleted_message_lists_what_came_after(
            self, stores: Stores) -> None:
        ids = post(stores, 4)
        stores.messages.delete(PROJECT, QUEUE, ids[1])
        assert listed(stores, marker=ids[1]) == ids[2:]

    def test_marker_of_the_deleted_newest_message_sees_later_posts(
            self, stores: Stores) -> None:
        # Catches ids reused after a delete (SQLite without AUTOINCREMENT).
        ids = post(stores, 2)
        stores.messages.delete(PROJECT, QUEUE, ids[1])
        later = post(stores, 2)
        assert listed(stores, marker=ids[1]) == later

    @pytest.mark.parametrize('marker', MALFORMED_MARKERS)
    def test_malformed_marker_lists_from_the_start(self, stores: Stores,
                                                   marker: str) -> None:
        ids = post(stores, 3)
        assert listed(stores, marker=marker) == ids

    def test_list_respects_the_limit(self, stores: Stores) -> None:
        ids = post(stores, 5)
        assert listed(stores, limit=3) == ids[:3]

    def test_list_hides_own_messages_unless_echo(self, stores: Stores
                                                 ) -> None:
        mine = post(stores, 1, client=CLIENT)
        theirs = post(stores, 1, client=OTHER_CLIENT)
        assert listed(stores, client_uuid=CLIENT) == theirs
        assert listed(stores, client_uuid=CLIENT, echo=True) == \
            mine + theirs

    def test_list_without_client_shows_everyone(self, stores: Stores
                                                ) -> None:
        ids = post(stores, 1, client=CLIENT) + \
            post(stores, 1, client=OTHER_CLIENT)
        assert listed(stores) == ids

    def test_list_hides_claimed_messages_unless_asked(self, stores: Stores
                                                      ) -> None:
        ids = post(stores, 3)
        claim_id, _ = claim(stores, limit=1)
        assert listed(stores) == ids[1:]
        found, _ = stores.messages.list(PROJECT, QUEUE,
                                        include_claimed=True)
        assert [(m['id'], m['claim_id']) for m in found] == [
            (ids[0], claim_id), (ids[1], None), (ids[2], None)]

    def test_list_hides_delayed_messages_unless_asked(
            self, stores: Stores, clock: FrozenClock) -> None:
        [now] = post(stores)
        [later] = post(stores, delay=30)
        assert listed(stores) == [now]
        assert listed(stores, include_delayed=True) == [now, later]
        clock.advance(31)
        assert listed(stores) == [now, later]

    def test_list_hides_expired_messages(self, stores: Stores,
                                         clock: FrozenClock) -> None:
        post(stores, ttl=60)
        [long] = post(stores, ttl=600)
        clock.advance(61)
        assert everything(stores) == [long]

    def test_list_sees_one_queue_of_one_project(self, stores: Stores
                                                ) -> None:
        ids = post(stores, 2)
        post(stores, 2, queue=OTHER_QUEUE)
        post(stores, 2, project=OTHER_PROJECT)
        assert listed(stores) == ids

    # -- delete -------------------------------------------------------------

    def test_delete_removes_a_free_message(self, stores: Stores) -> None:
        ids = post(stores, 2)
        stores.messages.delete(PROJECT, QUEUE, ids[0])
        assert everything(stores) == ids[1:]

    @pytest.mark.parametrize('message_id', MALFORMED_IDS)
    def test_delete_of_a_malformed_id_is_fine(self, stores: Stores,
                                              message_id: str) -> None:
        ids = post(stores)
        stores.messages.delete(PROJECT, QUEUE, message_id)
        assert everything(stores) == ids

    def test_delete_of_a_deleted_message_is_fine(self, stores: Stores
                                                 ) -> None:
        [message_id] = post(stores)
        stores.messages.delete(PROJECT, QUEUE, message_id)
        stores.messages.delete(PROJECT, QUEUE, message_id)
        assert everything(stores) == []

    def test_delete_in_another_queue_keeps_the_message(self, stores: Stores
                                                       ) -> None:
        ids = post(stores)
        stores.messages.delete(PROJECT, OTHER_QUEUE, ids[0])
        stores.messages.delete(OTHER_PROJECT, QUEUE, ids[0])
        assert everything(stores) == ids

    def test_delete_of_a_claimed_message_needs_its_claim(self, stores: Stores
                                                         ) -> None:
        [message_id] = post(stores)
        claim(stores)
        with pytest.raises(errors.MessageIsClaimed):
            stores.messages.delete(PROJECT, QUEUE, message_id)
        assert exists(stores, message_id)

    def test_delete_with_the_claim_id_deletes(self, stores: Stores) -> None:
        [message_id] = post(stores)
        claim_id, _ = claim(stores)
        stores.messages.delete(PROJECT, QUEUE, message_id, claim_id)
        assert not exists(stores, message_id)

    def test_delete_with_another_live_claim_raises_does_not_match(
            self, stores: Stores) -> None:
        first, _ = post(stores, 2)
        claim(stores, limit=1)
        other_claim, _ = claim(stores, limit=1)
        with pytest.raises(errors.ClaimDoesNotMatch):
            stores.messages.delete(PROJECT, QUEUE, first, other_claim)
        assert exists(stores, first)

    @pytest.mark.parametrize('claim_id', UNKNOWN_CLAIM_IDS)
    def test_delete_with_an_unknown_claim_raises_does_not_match(
            self, stores: Stores, claim_id: str) -> None:
        [message_id] = post(stores)
        claim(stores)
        with pytest.raises(errors.ClaimDoesNotMatch):
            stores.messages.delete(PROJECT, QUEUE, message_id, claim_id)
        assert exists(stores, message_id)

    def test_delete_of_a_free_message_with_a_claim_raises_not_claimed(
            self, stores: Stores) -> None:
        _, free = post(stores, 2)
        live_claim, _ = claim(stores, limit=1)
        with pytest.raises(errors.MessageNotClaimed):
            stores.messages.delete(PROJECT, QUEUE, free, live_claim)
        assert exists(stores, free)

    def test_delete_with_an_expired_claim_is_refused(
            self, stores: Stores, clock: FrozenClock) -> None:
        [message_id] = post(stores)
        claim_id, _ = claim(stores, ttl=30)
        clock.advance(31)
        # Both MessageNotClaimed and ClaimDoesNotMatch describe this.
        with pytest.raises((errors.MessageNotClaimed,
                            errors.ClaimDoesNotMatch)):
            stores.messages.delete(PROJECT, QUEUE, message_id, claim_id)
        assert exists(stores, message_id)

    # -- bulk_delete --------------------------------------------------------

    def test_bulk_delete_skips_unknown_and_malformed_ids(self, stores: Stores
                                                         ) -> None:
        ids = post(stores, 4)
        stores.messages.bulk_delete(PROJECT, QUEUE,
                                    [ids[0], ids[2], *MALFORMED_IDS])
        assert everything(stores) == [ids[1], ids[3]]

    def test_bulk_delete_without_claim_ids_deletes_claimed_too(
            self, stores: Stores) -> None:
        ids = post(stores, 2)
        claim(stores, limit=1)
        stores.messages.bulk_delete(PROJECT, QUEUE, ids)
        assert everything(stores) == []

    def test_bulk_delete_with_the_claim_ids_deletes_claimed(
            self, stores: Stores) -> None:
        ids = post(stores, 3)
        claim_a, _ = claim(stores, limit=1)
        claim_b, _ = claim(stores, limit=1)
        stores.messages.bulk_delete(PROJECT, QUEUE, ids, [claim_a, claim_b])
        assert everything(stores) == []

    def test_bulk_delete_refuses_messages_of_other_claims(
            self, stores: Stores) -> None:
        ids = post(stores, 2)
        claim(stores, limit=1)
        mine, _ = claim(stores, limit=1)
        with pytest.raises(errors.MessageIsClaimed):
            stores.messages.bulk_delete(PROJECT, QUEUE, ids, [mine])
        assert exists(stores, ids[0])

    def test_bulk_delete_with_empty_claim_ids_deletes_free(
            self, stores: Stores) -> None:
        ids = post(stores, 2)
        stores.messages.bulk_delete(PROJECT, QUEUE, ids, [])
        assert everything(stores) == []

    def test_bulk_delete_stays_in_its_queue(self, stores: Stores) -> None:
        ids = post(stores, 2)
        stores.messages.bulk_delete(PROJECT, OTHER_QUEUE, ids)
        stores.messages.bulk_delete(OTHER_PROJECT, QUEUE, ids)
        assert everything(stores) == ids

    # -- pop ----------------------------------------------------------------

    def test_pop_takes_and_deletes_the_oldest(self, stores: Stores) -> None:
        ids = post(stores, 5)
        popped = stores.messages.pop(PROJECT, QUEUE, 3)
        assert [m['id'] for m in popped] == ids[:3]
        assert [m['body'] for m in popped] == [{'n': 0}, {'n': 1},
                                               {'n': 2}]
        assert everything(stores) == ids[3:]

    def test_pop_skips_claimed_and_delayed_messages(self, stores: Stores
                                                    ) -> None:
        claimed, free = post(stores, 2)
        claim(stores, limit=1)
        [delayed] = post(stores, delay=60)
        assert [m['id'] for m in stores.messages.pop(PROJECT, QUEUE, 5)] \
            == [free]
        assert everything(stores) == [claimed, delayed]

    def test_pop_of_an_empty_queue_is_empty(self, stores: Stores) -> None:
        post(stores, queue=OTHER_QUEUE)
        assert stores.messages.pop(PROJECT, QUEUE, 5) == []
        assert len(everything(stores, OTHER_QUEUE)) == 1

    # -- stats, purge -------------------------------------------------------

    def test_stats_of_an_empty_queue(self, stores: Stores) -> None:
        post(stores, queue=OTHER_QUEUE)
        assert stores.messages.stats(PROJECT, QUEUE) == {
            'claimed': 0, 'free': 0, 'total': 0}

    def test_stats_counts_claimed_and_free(self, stores: Stores) -> None:
        post(stores, 5)
        post(stores, 3, queue=OTHER_QUEUE)
        claim(stores, limit=2)
        stats = stores.messages.stats(PROJECT, QUEUE)
        assert (stats['claimed'], stats['free'], stats['total']) == (2, 3, 5)

    def test_stats_gives_the_oldest_and_newest(self, stores: Stores,
                                               clock: FrozenClock) -> None:
        posted_at = clock.now
        [oldest] = post(stores)
        clock.advance(10)
        newest = post(stores, 2)[-1]
        stats = stores.messages.stats(PROJECT, QUEUE)
        assert (stats['oldest']['id'], stats['oldest']['age']) == (oldest, 10)
        assert stats['oldest']['created'] == pytest.approx(posted_at, abs=1)
        assert (stats['newest']['id'], stats['newest']['age']) == (newest, 0)

    def test_stats_skips_expired_messages_and_claims(
            self, stores: Stores, clock: FrozenClock) -> None:
        post(stores, ttl=60)
        long = post(stores, 2, ttl=600)
        claim(stores, limit=2, ttl=30, grace=0)
        clock.advance(61)
        stats = stores.messages.stats(PROJECT, QUEUE)
        assert (stats['claimed'], stats['free'], stats['total']) == (0, 2, 2)
        assert stats['oldest']['id'] == long[0]

    def test_purge_removes_messages_and_claims(self, stores: Stores) -> None:
        post(stores, 3)
        claim_id, _ = claim(stores, limit=1)
        stores.messages.purge(PROJECT, QUEUE)
        assert everything(stores) == []
        with pytest.raises(errors.ClaimDoesNotExist):
            stores.claims.get(PROJECT, QUEUE, claim_id)

    def test_purge_stays_in_its_queue(self, stores: Stores) -> None:
        other = post(stores, queue=OTHER_QUEUE)
        theirs = post(stores, project=OTHER_PROJECT)
        post(stores)
        stores.messages.purge(PROJECT, QUEUE)
        assert everything(stores, OTHER_QUEUE) == other
        assert everything(stores, project=OTHER_PROJECT) == theirs
