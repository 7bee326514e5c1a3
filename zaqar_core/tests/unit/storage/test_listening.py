"""The listener thread every driver's signals share, on sessions that fail
on demand: outages are logged once, callbacks cannot kill it, close()
ends it."""

from __future__ import annotations

import logging
import queue
import threading

import pytest

from zaqar_core.storage import listening
from zaqar_core.tests.contract.storage.signals import WAIT
from zaqar_core.tests.contract.storage.signals import Received

LOGGER = 'zaqar_core.storage.listening'


class Backend:
    """Sessions on a backend that is down while ``down`` is set; a
    session of a backend gone down fails at its next wait."""

    def __init__(self, down: bool = False) -> None:
        self.down = threading.Event()
        if down:
            self.down.set()
        self.signals: queue.Queue[str] = queue.Queue()
        self.attempts = 0
        self.connected = threading.Event()

    def connect(self, channels: frozenset[str]) -> Backend:
        self.attempts += 1
        if self.down.is_set():
            raise ConnectionError('backend down')
        self.connected.set()
        return self

    def wait(self, timeout: float) -> list[str]:
        if self.down.is_set():
            raise ConnectionError('connection lost')
        try:
            return [self.signals.get(timeout=min(timeout, 0.05))]
        except queue.Empty:
            return []

    def close(self) -> None:
        self.connected.clear()


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(listening, 'FIRST_RETRY', 0.01)
    monkeypatch.setattr(listening, 'LONGEST_RETRY', 0.02)


def start(backend: Backend, received: Received) -> listening.ListenerThread:
    return listening.start(['a', 'b'], received, backend.connect, 'fake')


def test_an_outage_is_logged_once_and_so_is_the_recovery(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    backend, received = Backend(), Received()
    with start(backend, received):
        backend.down.set()
        for _ in range(int(WAIT / 0.01)):
            if backend.attempts >= 5:  # several failed reconnections
                break
            threading.Event().wait(0.01)
        assert backend.attempts >= 5
        backend.down.clear()
        backend.signals.put('a')
        assert received.wait_for('a')
    messages = [(r.levelno, r.getMessage()) for r in caplog.records
                if r.name == LOGGER]
    assert [level for level, _ in messages] == [logging.WARNING,
                                                logging.INFO]
    assert 'lost fake (connection lost)' in messages[0][1]


def test_listen_returns_while_the_backend_is_down() -> None:
    backend, received = Backend(down=True), Received()
    with start(backend, received):
        backend.down.clear()
        assert backend.connected.wait(WAIT)
        backend.signals.put('b')
        assert received.wait_for('b')


def test_a_failing_callback_is_logged_and_the_thread_goes_on(
        caplog: pytest.LogCaptureFixture) -> None:
    backend, received = Backend(), Received()

    def callback(channel: str) -> None:
        received(channel)
        raise RuntimeError(f'failed on {channel}')

    with start(backend, callback):
        backend.signals.put('a')
        assert received.wait_for('a')
        backend.signals.put('b')
        assert received.wait_for('b')
    assert [r.getMessage() for r in caplog.records if r.name == LOGGER] \
        == ['Signal callback failed on channel a',
            'Signal callback failed on channel b']


def test_other_channels_are_dropped() -> None:
    backend, received = Backend(), Received()
    with start(backend, received):
        backend.signals.put('c')
        backend.signals.put('a')
        assert received.wait_for('a')
    assert received.channels == ['a']


def test_close_from_a_callback_ends_the_thread() -> None:
    backend, received = Backend(), Received()
    before = set(threading.enumerate())
    holder: list[listening.ListenerThread] = []

    def callback(channel: str) -> None:
        received(channel)
        holder[0].close()

    holder.append(start(backend, callback))
    backend.signals.put('a')
    assert received.wait_for('a')
    for thread in set(threading.enumerate()) - before:
        thread.join(WAIT)
    assert set(threading.enumerate()) - before == set()
    assert backend.connected.is_set() is False  # the session was closed


def test_a_single_string_is_not_a_list_of_channels() -> None:
    with pytest.raises(TypeError):
        listening.start('push.a', Received(), Backend().connect, 'fake')
