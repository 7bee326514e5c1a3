"""Claims under load: latency that does not grow with the queue, and
separate processes (server workers) that never share a message."""

from __future__ import annotations

import multiprocessing
import statistics
import time
from typing import Any

from zaqar_core.storage.stores import Stores
from zaqar_core.tests.contract import storage as contract

from .databases import insert_free_messages
from .databases import make_stores


def median_claim_seconds(stores: Stores, samples: int = 30) -> float:
    """Median time of claiming 10 messages (released between samples)."""
    timings = []
    for _ in range(samples + 3):
        started = time.perf_counter()
        claim_id, _ = contract.claim(stores, limit=10)
        timings.append(time.perf_counter() - started)
        assert claim_id is not None
        stores.claims.delete(contract.PROJECT, contract.QUEUE, claim_id)
    return statistics.median(timings[3:])  # the first ones warm caches


def test_claim_latency_does_not_grow_with_the_queue(fresh_stores: Stores
                                                    ) -> None:
    def grow_queue_by(count: int) -> None:
        insert_free_messages(fresh_stores, contract.PROJECT, contract.QUEUE,
                             count, time.time())

    grow_queue_by(1000)
    small = median_claim_seconds(fresh_stores)
    grow_queue_by(49000)
    large = median_claim_seconds(fresh_stores)
    # 2 ms absorbs scheduler noise on timings of a few milliseconds; a
    # scan of 50,000 rows costs far more than that.
    assert large < 3 * small + 0.002, (small, large)


def claim_in_process(uri: str, start: Any, results: Any) -> None:
    """Child process body: claim until nothing is left; report the ids
    taken, or the exception that stopped it."""
    outcome: list[str] | BaseException
    try:
        stores = make_stores(uri)
        try:
            start.wait(timeout=30)
            outcome = contract.drain(
                lambda: contract.claim(stores, limit=5)[1])
        finally:
            stores.close()
    except BaseException as exc:
        outcome = exc
    results.put(outcome)


def test_processes_never_claim_the_same_message(
        stores: Stores) -> None:
    ids = contract.post(stores, 300)
    uri = stores.data.engine.url.render_as_string(hide_password=False)
    workers = 3
    # spawn: a forked child would share the parent's pooled connections.
    context = multiprocessing.get_context('spawn')
    start, results = context.Barrier(workers), context.Queue()
    processes = [context.Process(target=claim_in_process,
                                 args=(uri, start, results))
                 for _ in range(workers)]
    for process in processes:
        process.start()
    try:
        outcomes = [results.get(timeout=60) for _ in processes]
    finally:
        for process in processes:
            process.join(10)
            if process.is_alive():
                process.kill()
    taken = []
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
        taken += outcome
    assert sorted(taken) == sorted(ids)
