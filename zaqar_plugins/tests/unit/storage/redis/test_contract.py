"""The storage contract on a Redis server and on a Redis Cluster."""

from __future__ import annotations

from zaqar_core.storage.stores import Stores
from zaqar_core.tests.contract import storage as contract


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


def test_is_alive(stores: Stores) -> None:
    assert stores.data.is_alive()
    assert stores.control.is_alive()
