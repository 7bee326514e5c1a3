"""Claims from separate processes (as server workers make them) never
share a message."""

from __future__ import annotations

from zaqar_core.storage.stores import Stores
from zaqar_core.tests.contract import storage as contract
from zaqar_core.tests.contract.storage.processes import claimed_by_processes
from zaqar_testing.redis_servers import RedisBackend

from .servers import make_stores


def test_processes_never_claim_the_same_message(
        stores: Stores, redis_backend: RedisBackend) -> None:
    ids = contract.post(stores, 300)
    taken = claimed_by_processes(make_stores, redis_backend.uri)
    assert sorted(taken) == sorted(ids)
