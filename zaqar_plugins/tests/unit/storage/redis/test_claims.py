"""Claims from separate processes (as server workers make them) never
share a message."""

from __future__ import annotations

import multiprocessing
from typing import Any

from zaqar_core.storage.stores import Stores
from zaqar_core.tests.contract import storage as contract
from zaqar_core.tests.redis_servers import RedisBackend

from .servers import make_stores


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
        stores: Stores, redis_backend: RedisBackend) -> None:
    ids = contract.post(stores, 300)
    workers = 3
    # spawn: a forked child would share the parent's pooled connections.
    context = multiprocessing.get_context('spawn')
    start, results = context.Barrier(workers), context.Queue()
    processes = [context.Process(target=claim_in_process,
                                 args=(redis_backend.uri, start, results))
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
