"""The storage contract on a Redis server, on a Redis Cluster and through
Redis Sentinel."""

from __future__ import annotations

import pytest

from zaqar_core.storage.stores import Stores
from zaqar_core.tests.contract import storage as contract
from zaqar_core.tests.contract.storage.processes import StoresFactory
from zaqar_plugins.storage.redis import driver
from zaqar_plugins.storage.redis import keys
from zaqar_testing.redis_servers import STORAGE_BACKENDS
from zaqar_testing.redis_servers import RedisBackend

from .servers import make_stores


@pytest.fixture(scope='session', params=STORAGE_BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The conftest's backends and Sentinel: the driver's whole contract
    holds through a master that sentinels hand out."""
    return request.param


class TestQueueController(contract.QueueControllerContract):
    pass


class TestMessageController(contract.MessageControllerContract):
    pass


class TestClaimController(contract.ClaimControllerContract):
    pass


class TestDeadLetter(contract.DeadLetterContract):
    pass


class TestGarbageCollection(contract.GarbageCollectionContract):
    pass


class TestConcurrency(contract.ConcurrencyContract):
    pass


class TestSubscriptionController(contract.SubscriptionControllerContract):
    pass


class TestSignals(contract.SignalContract):
    pass


@pytest.fixture
def stores_elsewhere(redis_backend: RedisBackend
                     ) -> tuple[StoresFactory, str]:
    return make_stores, redis_backend.uri


def test_is_alive(stores: Stores) -> None:
    assert stores.data.is_alive()
    assert stores.control.is_alive()


def test_gc_works_in_batches_and_frees_the_keys(
        stores: Stores, clock: contract.FrozenClock,
        monkeypatch: pytest.MonkeyPatch,
        script_calls: list[str]) -> None:
    monkeypatch.setattr(driver, 'GC_BATCH', 10)
    contract.post(stores, 25, ttl=60)
    contract.claim(stores, limit=5, ttl=30, grace=0)
    clock.advance(61)
    assert stores.data.gc() == 26  # 25 messages and the claim
    assert script_calls.count('gc') == 3
    assert stores.data.gc() == 0
    # Nothing of the queue is left behind: its keys went with its data.
    prefix = keys.queue_prefix(contract.PROJECT, contract.QUEUE)
    assert not [k for k in keys.queue_keys(prefix)
                if stores.data.client.exists(k)]
