"""The storage contract on SQLite, PostgreSQL and MySQL, plus what is
particular to the SQL driver."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from zaqar_core.storage.stores import Stores
from zaqar_core.tests.contract import storage as contract
from zaqar_core.tests.contract.storage.processes import StoresFactory
from zaqar_plugins.storage.sqlalchemy import driver

from .databases import make_stores


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
def stores_elsewhere(stores: Stores) -> tuple[StoresFactory, str]:
    return make_stores, stores.data.engine.url.render_as_string(
        hide_password=False)


def test_gc_works_in_batches(stores: Stores, clock: contract.FrozenClock,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(driver, 'GC_BATCH', 10)
    contract.post(stores, 25, ttl=60)
    clock.advance(61)
    assert stores.data.gc() == 25
    assert stores.data.gc() == 0


def test_is_alive(stores: Stores) -> None:
    assert stores.data.is_alive()
    assert stores.control.is_alive()


def test_rows_now_is_the_only_clock() -> None:
    # The ``clock`` fixture patches rows.now; a second time source (Python
    # or SQL) would make the contract's expiry tests pass for wrong reasons.
    package = Path(driver.__file__).parent
    # time.sleep reads no clock (engine.py pauses with it), and
    # time.monotonic times waits (writer_lock.py), never a message.
    python = re.compile(r'\btime\.(?!sleep\(|monotonic\()\w+\(|datetime|'
                        r'timeutils|'
                        r'func\.\w*(?:now|time|date)', re.IGNORECASE)
    sql = re.compile(r'CURRENT_TIME|LOCALTIME|NOW\(\)|UNIX_TIMESTAMP|'
                     r'SYSDATE|julianday|strftime')
    found = {}
    for path in sorted(package.rglob('*.py')):
        text = path.read_text()
        if hits := python.findall(text) + sql.findall(text):
            found[path.name] = hits
    assert found == {'rows.py': ['time.time(']}
