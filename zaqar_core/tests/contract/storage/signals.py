"""Signals between the processes sharing a data store.

Besides ``stores``, :class:`SignalContract` needs a ``stores_elsewhere``
fixture: how another process opens the same stores, as the pair
``(make_stores, uri)`` of :mod:`.processes`.
"""

from __future__ import annotations

import multiprocessing
import threading
from typing import Any

import pytest

from zaqar_core.storage.stores import Stores
from zaqar_core.tests.contract.storage.processes import StoresFactory

#: Seconds a signal may take to arrive before a test fails; generous, for
#: busy hosts (no test asserts on elapsed time).
WAIT = 5.0
#: Seconds another process may take to start and listen.
START = 60.0

CHANNEL = 'push.' + '0123456789abcdef' * 2
OTHER_CHANNEL = 'push.' + 'fedcba9876543210' * 2
BAD_CHANNELS = ['', 'x' * 65, 'a b', 'a:b', 'a/b', 'é', 'push.\n', '"',
                'a*', None, 42]


class Received:
    """A callback that records the channels it is called with."""

    def __init__(self) -> None:
        self.channels: list[str] = []
        self._changed = threading.Condition()

    def __call__(self, channel: str) -> None:
        with self._changed:
            self.channels.append(channel)
            self._changed.notify_all()

    def wait_for(self, channel: str, timeout: float = WAIT) -> bool:
        """Whether ``channel`` arrives (or has) within ``timeout``."""
        with self._changed:
            return self._changed.wait_for(
                lambda: channel in self.channels, timeout)


def arrives(stores: Stores, received: Received, channel: str = CHANNEL
            ) -> bool:
    """Signal ``channel`` every 0.1 s until ``received`` has it, for up to
    WAIT seconds: a listener that is reconnecting misses signals."""
    for _ in range(int(WAIT / 0.1)):
        stores.signals.notify(channel)
        if received.wait_for(channel, 0.1):
            return True
    return False


def _listen_in_process(make_stores: StoresFactory, uri: str, channel: str,
                       results: Any) -> None:
    """Child process body: report 'listening', then whether a signal of
    ``channel`` came (or the exception that stopped it)."""
    try:
        stores = make_stores(uri)
        try:
            came = threading.Event()
            with stores.signals.listen([channel], lambda _: came.set()):
                results.put('listening')
                results.put(came.wait(WAIT))
        finally:
            stores.close()
    except BaseException as exc:
        results.put(exc)


class SignalContract:
    """notify() wakes the listeners of a channel, in every process."""

    def test_a_signal_reaches_a_listener_of_its_channel(
            self, stores: Stores) -> None:
        received = Received()
        with stores.signals.listen([CHANNEL], received):
            stores.signals.notify(CHANNEL)
            assert received.wait_for(CHANNEL)

    def test_a_listener_hears_each_of_its_channels(self, stores: Stores
                                                   ) -> None:
        received = Received()
        with stores.signals.listen([CHANNEL, OTHER_CHANNEL], received):
            stores.signals.notify(OTHER_CHANNEL)
            assert received.wait_for(OTHER_CHANNEL)
            stores.signals.notify(CHANNEL)
            assert received.wait_for(CHANNEL)

    def test_other_channels_are_not_delivered(self, stores: Stores) -> None:
        received, other = Received(), Received()
        with stores.signals.listen([CHANNEL], received), \
                stores.signals.listen([OTHER_CHANNEL], other):
            stores.signals.notify(OTHER_CHANNEL)
            stores.signals.notify(CHANNEL)
            assert received.wait_for(CHANNEL)
            assert other.wait_for(OTHER_CHANNEL)  # it was sent
        assert set(received.channels) == {CHANNEL}
        assert set(other.channels) == {OTHER_CHANNEL}

    def test_channel_names_are_case_sensitive(self, stores: Stores
                                              ) -> None:
        upper, lower = Received(), Received()
        with stores.signals.listen(['Push.A'], upper), \
                stores.signals.listen(['push.a'], lower):
            stores.signals.notify('push.a')
            stores.signals.notify('Push.A')
            assert lower.wait_for('push.a')
            assert upper.wait_for('Push.A')
        assert set(upper.channels) == {'Push.A'}
        assert set(lower.channels) == {'push.a'}

    def test_every_listener_of_a_channel_gets_it(self, stores: Stores
                                                 ) -> None:
        first, second = Received(), Received()
        with stores.signals.listen([CHANNEL], first), \
                stores.signals.listen([CHANNEL], second):
            stores.signals.notify(CHANNEL)
            assert first.wait_for(CHANNEL)
            assert second.wait_for(CHANNEL)

    def test_close_stops_callbacks(self, stores: Stores) -> None:
        closed, still_open = Received(), Received()
        listener = stores.signals.listen([CHANNEL], closed)
        with stores.signals.listen([CHANNEL], still_open):
            listener.close()
            stores.signals.notify(CHANNEL)
            assert still_open.wait_for(CHANNEL)
        assert closed.channels == []

    def test_close_is_idempotent(self, stores: Stores) -> None:
        listener = stores.signals.listen([CHANNEL], Received())
        listener.close()
        listener.close()

    def test_no_thread_is_left_after_close(self, stores: Stores) -> None:
        before = set(threading.enumerate())
        first = stores.signals.listen([CHANNEL], Received())
        second = stores.signals.listen([CHANNEL, OTHER_CHANNEL], Received())
        assert set(threading.enumerate()) - before
        first.close()
        second.close()
        assert set(threading.enumerate()) - before == set()

    @pytest.mark.parametrize('channel', BAD_CHANNELS)
    def test_a_bad_channel_name_raises_value_error(
            self, stores: Stores, channel: Any) -> None:
        with pytest.raises(ValueError):
            stores.signals.notify(channel)
        with pytest.raises(ValueError):
            stores.signals.listen([CHANNEL, channel], Received())

    def test_listening_to_no_channel_raises_value_error(
            self, stores: Stores) -> None:
        with pytest.raises(ValueError):
            stores.signals.listen([], Received())

    def test_the_longest_name_works(self, stores: Stores) -> None:
        # Longer than some backends' own names (PostgreSQL's 63 bytes).
        longest = 'Az09_.-' * 9 + 'z'
        received = Received()
        with stores.signals.listen([longest], received):
            stores.signals.notify(longest)
            assert received.wait_for(longest)

    def test_a_failing_callback_does_not_stop_later_signals(
            self, stores: Stores) -> None:
        received = Received()

        def failing_once(channel: str) -> None:
            received(channel)
            if len(received.channels) == 1:
                raise RuntimeError('callback failed')

        with stores.signals.listen([CHANNEL, OTHER_CHANNEL], failing_once):
            stores.signals.notify(CHANNEL)
            assert received.wait_for(CHANNEL)
            stores.signals.notify(OTHER_CHANNEL)
            assert received.wait_for(OTHER_CHANNEL)

    def test_latency_is_a_number_of_seconds(self, stores: Stores) -> None:
        assert 0 <= stores.signals.latency <= 1

    def test_a_listener_in_another_process_gets_the_signal(
            self, stores: Stores,
            stores_elsewhere: tuple[StoresFactory, str]) -> None:
        make_stores, uri = stores_elsewhere
        # spawn: a forked child would share the parent's connections.
        context = multiprocessing.get_context('spawn')
        results = context.Queue()
        process = context.Process(
            target=_listen_in_process,
            args=(make_stores, uri, CHANNEL, results))
        process.start()
        try:
            outcome = results.get(timeout=START)
            if isinstance(outcome, BaseException):
                raise outcome
            stores.signals.notify(CHANNEL)
            outcome = results.get(timeout=START)
            if isinstance(outcome, BaseException):
                raise outcome
            assert outcome is True, 'no signal reached the other process'
        finally:
            process.join(START)
            if process.is_alive():
                process.kill()
