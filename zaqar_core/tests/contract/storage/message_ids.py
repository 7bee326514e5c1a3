"""Message ids are opaque: they tell a tenant nothing about other tenants'
traffic, cannot be guessed, and stay the same for every process and
across restarts.

Part of :class:`MessageControllerContract`; the tests that open the store
again (in this process and in another) use ``stores_elsewhere``, as
:class:`SignalContract` does.
"""

from __future__ import annotations

import multiprocessing
import string
from typing import Any

import pytest

from zaqar_core.storage import errors
from zaqar_core.storage.stores import Stores
from zaqar_core.tests.contract.storage.helpers import CLIENT
from zaqar_core.tests.contract.storage.helpers import OTHER_PROJECT
from zaqar_core.tests.contract.storage.helpers import OTHER_QUEUE
from zaqar_core.tests.contract.storage.helpers import PROJECT
from zaqar_core.tests.contract.storage.helpers import QUEUE
from zaqar_core.tests.contract.storage.helpers import claim
from zaqar_core.tests.contract.storage.helpers import everything
from zaqar_core.tests.contract.storage.helpers import listed
from zaqar_core.tests.contract.storage.helpers import new_message
from zaqar_core.tests.contract.storage.helpers import post
from zaqar_core.tests.contract.storage.processes import StoresFactory

ROUNDS = 20


def _as_numbers(message_id: str) -> set[int]:
    """The integers an id reads as (decimal, hex), for arithmetic on
    them."""
    found = set()
    for base in (10, 16):
        digits = string.hexdigits if base == 16 else string.digits
        if message_id and all(c in digits for c in message_id):
            found.add(int(message_id, base))
    return found


def _neighbours(ids: list[str]) -> set[int]:
    """Every number one step from a number some id reads as."""
    return {n + step for i in ids for n in _as_numbers(i) for step in (-1, 1)}


def _list_in_process(make_stores: StoresFactory, uri: str, results: Any
                     ) -> None:
    """Child process body: report the ids of the queue, or the error."""
    outcome: list[str] | BaseException
    try:
        stores = make_stores(uri)
        try:
            outcome = everything(stores)
        finally:
            stores.close()
    except BaseException as exc:
        outcome = exc
    results.put(outcome)


class MessageIdContract:
    def test_ids_reveal_no_order_or_count_across_projects(
            self, stores: Stores) -> None:
        # Interleaved, as two tenants' traffic would be.
        mine, theirs = [], []
        for _ in range(ROUNDS):
            mine += post(stores)
            theirs += post(stores, project=OTHER_PROJECT)
        assert len(set(mine + theirs)) == 2 * ROUNDS
        # Nothing sorts in posting order: not mine, not theirs, not both.
        both = [i for p in zip(mine, theirs, strict=True) for i in p]
        for ids in (mine, theirs, both):
            assert ids != sorted(ids)
            assert ids != sorted(ids, key=lambda i: (len(i), i))
        # No id is one step from another, so mine do not let me work out
        # theirs (nor the count of theirs between two of mine).
        assert not _neighbours(mine) & {
            n for i in mine + theirs for n in _as_numbers(i)}
        assert not _neighbours(theirs) & {
            n for i in theirs for n in _as_numbers(i)}

    def test_ids_of_one_post_are_not_in_sequence(self, stores: Stores
                                                 ) -> None:
        ids = post(stores, 20)
        assert ids != sorted(ids)
        assert not _neighbours(ids) & {n for i in ids for n in _as_numbers(i)}
        # FIFO is kept all the same: the order is the store's, not the ids'.
        assert listed(stores) == ids

    def test_an_id_names_nothing_in_another_project_or_queue(
            self, stores: Stores) -> None:
        [mine] = post(stores)
        theirs = post(stores, 3, project=OTHER_PROJECT)
        post(stores, 3, queue=OTHER_QUEUE)
        for project, queue in ((OTHER_PROJECT, QUEUE),
                               (PROJECT, OTHER_QUEUE)):
            with pytest.raises(errors.MessageDoesNotExist):
                stores.messages.get(project, queue, mine)
            assert stores.messages.bulk_get(project, queue, [mine]) == []
            stores.messages.delete(project, queue, mine)
            stores.messages.bulk_delete(project, queue, [mine])
        assert stores.messages.get(PROJECT, QUEUE, mine)['id'] == mine
        assert everything(stores, project=OTHER_PROJECT) == theirs
        for other in theirs:
            with pytest.raises(errors.MessageDoesNotExist):
                stores.messages.get(PROJECT, QUEUE, other)

    def test_guessed_ids_find_nothing(self, stores: Stores) -> None:
        ids = post(stores, 5)
        # The ids of the previous release's SQL and Redis drivers (a
        # counter), and ids of the shape drivers give but made up.
        guesses = [str(n) for n in range(1, 50)]
        guesses += [c * len(ids[0]) for c in '0123456789abcdef']
        guesses += [ids[0][:-1] + c for c in '0123456789abcdef'
                    if ids[0][:-1] + c != ids[0]]
        assert stores.messages.bulk_get(PROJECT, QUEUE, guesses) == []
        stores.messages.bulk_delete(PROJECT, QUEUE, guesses)
        for guess in guesses[:5]:
            stores.messages.delete(PROJECT, QUEUE, guess)
        assert everything(stores) == ids

    def test_ids_survive_reopening_the_store(
            self, stores: Stores,
            stores_elsewhere: tuple[StoresFactory, str]) -> None:
        make_stores, uri = stores_elsewhere
        ids = post(stores, 3)
        claim_id, claimed = claim(stores, limit=1)
        other = make_stores(uri)
        try:
            assert everything(other) == ids
            assert other.messages.get(PROJECT, QUEUE, ids[1])['body'] == \
                {'n': 1}
            page, marker = other.messages.list(PROJECT, QUEUE, limit=1,
                                               include_claimed=True)
            assert ([m['id'] for m in page], marker) == (ids[:1], ids[0])
            assert [m['id'] for m in other.claims.get(
                PROJECT, QUEUE, claim_id)[1]] == claimed
            stats = other.messages.stats(PROJECT, QUEUE)
            assert (stats['oldest']['id'], stats['newest']['id']) == \
                (ids[0], ids[-1])
            # And what the other store posts, this one knows.
            [late] = other.messages.post(PROJECT, QUEUE, [new_message()],
                                         CLIENT)
        finally:
            other.close()
        assert everything(stores) == [*ids, late]

    def test_another_process_sees_the_same_ids(
            self, stores: Stores,
            stores_elsewhere: tuple[StoresFactory, str]) -> None:
        make_stores, uri = stores_elsewhere
        ids = post(stores, 3)
        # spawn: a forked child would share the parent's connections.
        context = multiprocessing.get_context('spawn')
        results = context.Queue()
        process = context.Process(target=_list_in_process,
                                  args=(make_stores, uri, results))
        process.start()
        try:
            outcome = results.get(timeout=60)
        finally:
            process.join(10)
            if process.is_alive():
                process.kill()
        if isinstance(outcome, BaseException):
            raise outcome
        assert outcome == ids
