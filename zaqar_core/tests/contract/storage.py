"""The storage contract (:mod:`zaqar_core.storage.base`) as tests.

A driver's test module runs it by subclassing each ``*Contract`` class as
a ``Test*`` class and supplying two fixtures:

* ``stores``: a :class:`~zaqar_core.storage.stores.Stores` whose stores
  hold nothing yet (a fresh one for each test: ``gc`` counts every row);
* ``clock``: a :class:`FrozenClock` that the driver reads the time from
  for as long as the test runs, so expiry is tested without sleeping.

One test (``test_claim_expires_in_real_time``) sleeps instead, so that a
driver whose fake clock hides a second time source still fails.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent import futures
from typing import Any

import pytest

from zaqar_core.storage import base
from zaqar_core.storage import errors
from zaqar_core.storage.stores import Stores

PROJECT = 'project-a'
OTHER_PROJECT = 'project-b'
QUEUE = 'jobs'
OTHER_QUEUE = 'other-jobs'
DEAD_QUEUE = 'dead'
CLIENT = '3b7a8c0e-1111-4bb5-9a3c-7a0f1e2d3c4b'
OTHER_CLIENT = '9f1c2e44-2222-4d7e-8b1a-5c3d2e1f0a9b'
LONG_TTL = 3600

# Markers no driver can have issued: they must list from the start.
MALFORMED_MARKERS = ['not-a-marker', '-1', '1.5', '0x10', '１２', '²',
                     '9' * 40, ' 1', 'null']
MALFORMED_IDS = ['not-an-id', '-1', '0x10', '１２', '9' * 40, '']
UNKNOWN_CLAIM_IDS = ['not-a-claim', '', 'f' * 32,
                     'b8194e69-5c0f-447b-9075-22bd56fbf56d']


class FrozenClock:
    """A time source that stands still until told to move."""

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def new_message(body: Any = None, ttl: int = LONG_TTL, delay: int = 0,
                checksum: str | None = None) -> base.NewMessage:
    message: base.NewMessage = {'body': body, 'ttl': ttl, 'delay': delay}
    if checksum is not None:
        message['checksum'] = checksum
    return message


def post(stores: Stores, count: int = 1, *, queue: str = QUEUE,
         project: str = PROJECT, ttl: int = LONG_TTL, delay: int = 0,
         client: str = CLIENT) -> list[str]:
    """Post ``count`` messages with bodies ``{"n": 0}``, ``{"n": 1}``..."""
    return stores.messages.post(
        project, queue, [new_message({'n': n}, ttl, delay)
                         for n in range(count)], client)


def listed(stores: Stores, *, queue: str = QUEUE, project: str = PROJECT,
           **kwargs: Any) -> list[str]:
    """Ids of one big page of ``messages.list``."""
    kwargs.setdefault('limit', 1000)
    found, _ = stores.messages.list(project, queue, **kwargs)
    return [m['id'] for m in found]


def everything(stores: Stores, queue: str = QUEUE,
               project: str = PROJECT) -> list[str]:
    """Ids of every live message of a queue, claimed or delayed."""
    return listed(stores, queue=queue, project=project,
                  include_claimed=True, include_delayed=True)


def claim(stores: Stores, limit: int = 10, *, ttl: int = 60,
          grace: int = 60, queue: str = QUEUE, project: str = PROJECT,
          dead_letter: base.DeadLetter | None = None
          ) -> tuple[str | None, list[str]]:
    """``claims.create``: the claim id and the ids it took."""
    claim_id, messages, _ = stores.claims.create(
        project, queue, ttl, grace, limit, dead_letter)
    return claim_id, [m['id'] for m in messages]


def drain(take: Callable[[], list[str]], most: int = 100) -> list[str]:
    """Call ``take`` until it returns nothing; everything it returned.

    Gives up after ``most`` calls, so that a driver handing out the same
    messages again and again fails the test instead of hanging it.
    """
    taken: list[str] = []
    for _ in range(most):
        found = take()
        if not found:
            return taken
        taken += found
    pytest.fail(f'still taking messages after {most} calls')


def exists(stores: Stores, message_id: str, queue: str = QUEUE) -> bool:
    return bool(stores.messages.bulk_get(PROJECT, queue, [message_id]))


class QueueControllerContract:
    def test_create_tells_whether_it_created(self, stores: Stores) -> None:
        assert stores.queues.create(PROJECT, QUEUE) is True
        assert stores.queues.create(PROJECT, QUEUE) is False

    def test_create_never_changes_an_existing_queue(self, stores: Stores
                                                    ) -> None:
        stores.queues.create(PROJECT, QUEUE, {'colour': 'red'})
        stores.queues.create(PROJECT, QUEUE, {'colour': 'blue'})
        assert stores.queues.get_metadata(PROJECT, QUEUE) == {
            'colour': 'red'}

    def test_metadata_round_trips(self, stores: Stores) -> None:
        metadata = {'_default_message_ttl': 300, 'ünïcode': '✓',
                    'nested': {'list': [1, 'two', None, True, 2.5]}}
        stores.queues.create(PROJECT, QUEUE, metadata)
        assert stores.queues.get_metadata(PROJECT, QUEUE) == metadata

    def test_create_without_metadata_stores_an_empty_document(
            self, stores: Stores) -> None:
        stores.queues.create(PROJECT, QUEUE)
        assert stores.queues.get_metadata(PROJECT, QUEUE) == {}

    def test_get_metadata_of_a_missing_queue_raises(self, stores: Stores
                                                    ) -> None:
        with pytest.raises(errors.QueueDoesNotExist):
            stores.queues.get_metadata(PROJECT, QUEUE)

    def test_set_metadata_replaces_the_whole_document(self, stores: Stores
                                                      ) -> None:
        stores.queues.create(PROJECT, QUEUE, {'a': 1, 'b': 2})
        stores.queues.set_metadata(PROJECT, QUEUE, {'c': 3})
        assert stores.queues.get_metadata(PROJECT, QUEUE) == {'c': 3}

    def test_set_metadata_of_a_missing_queue_raises(self, stores: Stores
                                                    ) -> None:
        with pytest.raises(errors.QueueDoesNotExist):
            stores.queues.set_metadata(PROJECT, QUEUE, {'a': 1})
        assert stores.queues.count(PROJECT) == 0

    def test_delete_removes_the_queue(self, stores: Stores) -> None:
        stores.queues.create(PROJECT, QUEUE)
        stores.queues.delete(PROJECT, QUEUE)
        with pytest.raises(errors.QueueDoesNotExist):
            stores.queues.get_metadata(PROJECT, QUEUE)
        assert stores.queues.create(PROJECT, QUEUE) is True

    def test_delete_of_a_missing_queue_is_fine(self, stores: Stores) -> None:
        stores.queues.delete(PROJECT, QUEUE)
        assert stores.queues.count(PROJECT) == 0

    def test_list_is_sorted_by_name(self, stores: Stores) -> None:
        for name in ('charlie', 'alpha', 'delta', 'bravo'):
            stores.queues.create(PROJECT, name)
        assert [q['name'] for q in stores.queues.list(PROJECT)] == [
            'alpha', 'bravo', 'charlie', 'delta']

    def test_list_pages_after_the_marker(self, stores: Stores) -> None:
        for name in ('alpha', 'bravo', 'charlie', 'delta', 'echo'):
            stores.queues.create(PROJECT, name)
        first = stores.queues.list(PROJECT, limit=2)
        second = stores.queues.list(PROJECT, first[-1]['name'], limit=2)
        third = stores.queues.list(PROJECT, second[-1]['name'], limit=2)
        assert [q['name'] for q in first + second + third] == [
            'alpha', 'bravo', 'charlie', 'delta', 'echo']
        assert stores.queues.list(PROJECT, 'echo') == []

    def test_list_marker_need_not_name_a_queue(self, stores: Stores) -> None:
        for name in ('alpha', 'charlie'):
            stores.queues.create(PROJECT, name)
        assert stores.queues.list(PROJECT, 'bravo') == [{'name': 'charlie'}]

    def test_list_gives_names_only_unless_detailed(self, stores: Stores
                                                   ) -> None:
        stores.queues.create(PROJECT, QUEUE, {'a': 1})
        assert stores.queues.list(PROJECT) == [{'name': QUEUE}]
        assert stores.queues.list(PROJECT, detailed=True) == [
            {'name': QUEUE, 'metadata': {'a': 1}}]

    def test_count_counts_the_queues(self, stores: Stores) -> None:
        for name in ('alpha', 'bravo', 'charlie'):
            stores.queues.create(PROJECT, name)
        stores.queues.delete(PROJECT, 'bravo')
        assert stores.queues.count(PROJECT) == 2

    def test_names_are_case_sensitive(self, stores: Stores) -> None:
        assert stores.queues.create(PROJECT, 'jobs', {'v': 'lower'})
        assert stores.queues.create(PROJECT, 'Jobs', {'v': 'upper'})
        assert stores.queues.get_metadata(PROJECT, 'jobs') == {'v': 'lower'}

    def test_same_name_in_two_projects_is_two_queues(self, stores: Stores
                                                     ) -> None:
        assert stores.queues.create(PROJECT, QUEUE, {'owner': 'a'})
        assert stores.queues.create(OTHER_PROJECT, QUEUE, {'owner': 'b'})
        stores.queues.delete(OTHER_PROJECT, QUEUE)
        assert stores.queues.get_metadata(PROJECT, QUEUE) == {'owner': 'a'}

    def test_list_and_count_see_one_project(self, stores: Stores) -> None:
        stores.queues.create(PROJECT, 'alpha')
        stores.queues.create(OTHER_PROJECT, 'bravo')
        assert stores.queues.list(PROJECT) == [{'name': 'alpha'}]
        assert stores.queues.count(OTHER_PROJECT) == 1


class MessageControllerContract:
    # -- post, get, bulk_get ------------------------------------------------

    def test_post_returns_ids_in_the_order_given(self, stores: Stores
                                                 ) -> None:
        ids = post(stores, 3)
        assert len(set(ids)) == 3
        bodies = [stores.messages.get(PROJECT, QUEUE, i)['body']
                  for i in ids]
        assert bodies == [{'n': 0}, {'n': 1}, {'n': 2}]

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
        post(stores)
        claim_id, _ = claim(stores)
        stores.claims.delete(PROJECT, QUEUE, claim_id)
        stores.claims.delete(PROJECT, QUEUE, claim_id)
        stores.claims.delete(PROJECT, QUEUE, 'not-a-claim')

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


class GarbageCollectionContract:
    def test_gc_removes_expired_messages_and_claims_only(
            self, stores: Stores, clock: FrozenClock) -> None:
        live = post(stores, 2, ttl=LONG_TTL)
        post(stores, 3, ttl=60, queue=OTHER_QUEUE)
        claim(stores, limit=1, ttl=30, grace=0)
        clock.advance(100)
        assert stores.data.gc() == 4
        assert stores.data.gc() == 0
        assert everything(stores) == live

    def test_gc_keeps_live_claims(self, stores: Stores,
                                  clock: FrozenClock) -> None:
        post(stores)
        claim_id, _ = claim(stores, ttl=300)
        clock.advance(100)
        assert stores.data.gc() == 0
        assert stores.claims.get(PROJECT, QUEUE, claim_id)[0]['id'] == \
            claim_id

    def test_gc_of_an_empty_store_removes_nothing(self, stores: Stores
                                                  ) -> None:
        assert stores.data.gc() == 0


def run_together(workers: int, task: Callable[[], list[str]]) -> list[str]:
    """Run ``task()`` in ``workers`` threads released at the same moment;
    everything they returned."""
    start = threading.Barrier(workers)

    def run() -> list[str]:
        start.wait(timeout=30)
        return task()

    with futures.ThreadPoolExecutor(workers) as pool:
        running = [pool.submit(run) for _ in range(workers)]
        return [i for future in running for i in future.result()]


class ConcurrencyContract:
    workers = 8
    messages = 200

    def test_concurrent_claims_never_share_a_message(self, stores: Stores
                                                     ) -> None:
        ids = post(stores, self.messages)

        def claim_until_empty() -> list[str]:
            return drain(lambda: claim(stores, limit=5)[1])

        taken = run_together(self.workers, claim_until_empty)
        assert sorted(taken) == sorted(ids)

    def test_concurrent_pops_never_share_a_message(self, stores: Stores
                                                   ) -> None:
        ids = post(stores, self.messages)

        def pop_until_empty() -> list[str]:
            return drain(lambda: [m['id'] for m in
                                  stores.messages.pop(PROJECT, QUEUE, 5)])

        taken = run_together(self.workers, pop_until_empty)
        assert sorted(taken) == sorted(ids)
