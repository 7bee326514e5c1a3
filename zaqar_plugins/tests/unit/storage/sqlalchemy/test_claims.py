"""Claims from separate processes (as server workers make them) never
share a message. That a claim's cost does not grow with the queue is
checked on its query plan (test_messages.py), not with timings."""

from __future__ import annotations

from zaqar_core.storage.stores import Stores
from zaqar_core.tests.contract import storage as contract
from zaqar_core.tests.contract.storage.processes import claimed_by_processes

from .databases import make_stores


def test_processes_never_claim_the_same_message(
        stores: Stores) -> None:
    ids = contract.post(stores, 300)
    uri = stores.data.engine.url.render_as_string(hide_password=False)
    taken = claimed_by_processes(make_stores, uri)
    assert sorted(taken) == sorted(ids)
