"""The garbage-collection contract."""

from __future__ import annotations

from zaqar_core.storage.stores import Stores
from zaqar_core.tests.contract.storage.helpers import LONG_TTL
from zaqar_core.tests.contract.storage.helpers import OTHER_QUEUE
from zaqar_core.tests.contract.storage.helpers import PROJECT
from zaqar_core.tests.contract.storage.helpers import QUEUE
from zaqar_core.tests.contract.storage.helpers import FrozenClock
from zaqar_core.tests.contract.storage.helpers import claim
from zaqar_core.tests.contract.storage.helpers import everything
from zaqar_core.tests.contract.storage.helpers import post


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
