"""Concurrent claimers never share a message."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent import futures

from zaqar_core.storage.stores import Stores
from zaqar_core.tests.contract.storage.helpers import PROJECT
from zaqar_core.tests.contract.storage.helpers import QUEUE
from zaqar_core.tests.contract.storage.helpers import claim
from zaqar_core.tests.contract.storage.helpers import drain
from zaqar_core.tests.contract.storage.helpers import post


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
    """Concurrent consumers never share a message and never lose one.

    A consumer may find nothing while others still hold rows: with
    ``SKIP LOCKED``, a row locked by a transaction that then lets it go
    (a deadlock victim on MySQL, say) is invisible for that moment. That
    is an empty answer the client polls past, not a loss, so whatever the
    racing consumers left must be taken by one more consumer afterwards.
    """

    workers = 8
    messages = 200

    def test_concurrent_claims_never_share_a_message(self, stores: Stores
                                                     ) -> None:
        ids = post(stores, self.messages)

        def claim_until_empty() -> list[str]:
            return drain(lambda: claim(stores, limit=5)[1])

        self.assert_each_taken_once(
            ids, run_together(self.workers, claim_until_empty),
            claim_until_empty())

    def test_concurrent_pops_never_share_a_message(self, stores: Stores
                                                   ) -> None:
        ids = post(stores, self.messages)

        def pop_until_empty() -> list[str]:
            return drain(lambda: [m['id'] for m in
                                  stores.messages.pop(PROJECT, QUEUE, 5)])

        self.assert_each_taken_once(
            ids, run_together(self.workers, pop_until_empty),
            pop_until_empty())

    @staticmethod
    def assert_each_taken_once(ids: list[str], raced: list[str],
                               after: list[str]) -> None:
        assert len(raced) == len(set(raced)), 'a message was taken twice'
        assert not set(raced) & set(after), 'a taken message came back'
        assert sorted(raced + after) == sorted(ids)
