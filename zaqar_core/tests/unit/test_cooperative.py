"""Requests that lend their thread while their store answers
(zaqar_core.cooperative), on a real event loop and real sockets: a task
that waits for a socket lets the others run on its thread, and finds its
own state as it left it."""

from __future__ import annotations

import asyncio
import contextvars
import socket
import threading
import time
import weakref
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Iterator
from typing import TypeVar

import greenlet
import pytest
from oslo_context import context as oslo_context

from zaqar_core import cooperative
from zaqar_core.transport.gate import Gate

T = TypeVar('T')


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """A store's socket (read by the task) and the store's end."""
    ours, theirs = socket.socketpair()
    yield ours, theirs
    ours.close()
    theirs.close()


def run(main: Callable[[], Awaitable[T]], timeout: float = 10.0) -> T:
    """``asyncio.run(main())`` on a thread of its own: a deadlock (the
    thread blocked for good) fails the test instead of hanging it."""
    done: list = []

    def target() -> None:
        try:
            done.append((True, asyncio.run(main())))
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            done.append((False, exc))

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    assert done, f'the loop was still blocked after {timeout} s'
    ok, value = done[0]
    if not ok:
        raise value
    return value


def store_call(sock: socket.socket, log: list[str], name: str) -> bytes:
    """What a driver does: send, wait for the reply, read it."""
    log.append(f'{name} sent')
    cooperative.wait_readable(sock.fileno(), None)
    reply = sock.recv(100)
    log.append(f'{name} read {reply.decode()}')
    return reply


def test_a_waiting_task_lets_another_run_on_its_thread(pair) -> None:
    ours, theirs = pair
    log: list[str] = []

    async def main() -> list:
        slow = asyncio.ensure_future(cooperative.run(
            store_call, ours, log, 'slow'))
        await asyncio.sleep(0)  # the slow one sends and waits
        quick = await cooperative.run(lambda: log.append('quick') or 'q')
        theirs.send(b'ok')  # the store answers the slow one
        return [await slow, quick]

    assert run(main) == [b'ok', 'q']
    assert log == ['slow sent', 'quick', 'slow read ok']


def test_outside_a_task_nothing_switches(pair) -> None:
    ours, theirs = pair
    theirs.send(b'at once')
    log: list[str] = []
    # A plain call (another server, a thread of long polling's): the
    # read blocks as it always did.
    assert store_call(ours, log, 'plain') == b'at once'
    assert log == ['plain sent', 'plain read at once']


def test_the_gate_slot_is_given_up_while_waiting(pair) -> None:
    # With one slot, a second request entering the gate while the first
    # waits would block the thread that the first needs: a deadlock.
    ours, theirs = pair
    gate = Gate(1)
    log: list[str] = []

    def request(name: str, sock: socket.socket | None) -> str:
        with gate.working():
            if sock is not None:
                store_call(sock, log, name)
            log.append(f'{name} done')
        return name

    async def main() -> list:
        first = asyncio.ensure_future(cooperative.run(request, 'a', ours))
        await asyncio.sleep(0)
        second = await asyncio.wait_for(
            cooperative.run(request, 'b', None), 5)
        theirs.send(b'!')
        return [await asyncio.wait_for(first, 5), second]

    assert run(main) == ['a', 'b']
    assert log == ['a sent', 'b done', 'a read !', 'a done']
    # Every slot is back: two can enter one after the other.
    for _ in range(2):
        with gate.working():
            pass


def test_a_task_that_stepped_out_gives_its_slot_up_once(pair) -> None:
    # Long polling steps out of the gate; a store call inside must not
    # give the same slot up again, or the gate lets two in for one.
    ours, theirs = pair
    gate = Gate(1)
    log: list[str] = []

    def request() -> str:
        with gate.working(), gate.stepped_out():
            store_call(ours, log, 'a')
        return 'a'

    def another() -> None:
        with gate.working():
            log.append('another in')

    async def main() -> bool:
        first = asyncio.ensure_future(cooperative.run(request))
        await asyncio.sleep(0)  # it stepped out, and waits for its store
        with gate.working():  # the one slot, which it gave up
            other = threading.Thread(target=another)
            other.start()
            other.join(0.3)
            kept_out = other.is_alive()
        other.join(5)
        theirs.send(b'!')
        await asyncio.wait_for(first, 5)
        return kept_out

    assert run(main) is True
    assert log == ['a sent', 'another in', 'a read !']


def test_the_task_gets_its_request_context_back(pair) -> None:
    ours, theirs = pair
    seen: list[str] = []

    def request(name: str, sock: socket.socket | None) -> None:
        oslo_context.RequestContext(request_id=name).update_store()
        if sock is not None:
            cooperative.wait_readable(sock.fileno(), None)
            sock.recv(10)
        seen.append(f'{name}: {oslo_context.get_current().request_id}')

    async def main() -> None:
        first = asyncio.ensure_future(cooperative.run(
            request, 'req-a', ours))
        await asyncio.sleep(0)
        await cooperative.run(request, 'req-b', None)
        theirs.send(b'!')
        await first

    run(main)
    assert seen == ['req-b: req-b', 'req-a: req-a']


def test_a_cancelled_task_finishes_its_store_calls(pair) -> None:
    # The worker stops while a request waits for its store: the request
    # ends on the thread, its later calls included, not halfway through.
    ours, theirs = pair
    log: list[str] = []

    tasks: list[greenlet.greenlet] = []

    def two_calls() -> None:
        tasks.append(greenlet.getcurrent())
        for _ in range(2):
            cooperative.wait_readable(ours.fileno(), None)
            log.append(ours.recv(4).decode())

    async def main() -> None:
        waiting = asyncio.ensure_future(cooperative.run(two_calls))
        await asyncio.sleep(0)
        threading.Timer(0.2, theirs.send, [b'one.two.']).start()
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        tasks.append(await cooperative.run(greenlet.getcurrent))

    run(main)
    assert log == ['one.', 'two.']
    # It would never lend its thread again: the next request gets another.
    assert tasks[1] is not tasks[0]


def test_tasks_waiting_at_once_are_bounded(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Each holds a store connection: past the bound, a task blocks.
    monkeypatch.setattr(cooperative, 'MAX_WAITING', 2)
    pairs = [socket.socketpair() for _ in range(3)]
    log: list[str] = []
    try:
        async def main() -> list:
            tasks = []
            for n, (ours, _) in enumerate(pairs[:2]):
                tasks.append(asyncio.ensure_future(cooperative.run(
                    store_call, ours, log, f't{n}')))
                await asyncio.sleep(0)
            # The third blocks the thread: the loop runs nothing else
            # until its reply came and it read it.
            threading.Timer(0.2, pairs[2][1].send, [b'3']).start()
            asyncio.get_running_loop().call_soon(log.append, 'loop ran')
            third = await cooperative.run(store_call, pairs[2][0], log, 't2')
            for _, theirs in pairs[:2]:
                theirs.send(b'.')
            return [third, *[await task for task in tasks]]

        assert run(main) == [b'3', b'.', b'.']
        assert log[:5] == ['t0 sent', 't1 sent', 't2 sent', 't2 read 3',
                           'loop ran']
    finally:
        for ours, theirs in pairs:
            ours.close()
            theirs.close()


def test_an_error_in_a_task_reaches_its_caller(pair) -> None:
    ours, theirs = pair

    def failing() -> None:
        cooperative.wait_readable(ours.fileno(), None)
        raise ValueError(ours.recv(10).decode())

    async def main() -> None:
        theirs.send(b'broken')
        await cooperative.run(failing)

    with pytest.raises(ValueError, match='broken'):
        run(main)


def test_a_wait_ends_when_its_time_runs_out(pair) -> None:
    # As a blocking read would time out: a store that never answers does
    # not hold the request for good.
    ours, _ = pair
    log: list[str] = []

    def request() -> bool:
        return cooperative.wait_readable(ours.fileno(), 0.2)

    async def main() -> list:
        started = time.monotonic()
        waiting = asyncio.ensure_future(cooperative.run(request))
        await asyncio.sleep(0)
        log.append('others ran')
        timed_out = await waiting
        return [timed_out, time.monotonic() - started]

    timed_out, waited = run(main)
    assert timed_out is False
    assert 0.15 < waited < 5
    assert log == ['others ran']


def test_the_next_request_reuses_an_idle_task() -> None:
    # A greenlet per request would map a fresh frame stack each time.
    async def main() -> list:
        return [await cooperative.run(greenlet.getcurrent)
                for _ in range(3)]

    first, *others = run(main)
    assert isinstance(first, cooperative.Task)
    assert others == [first, first]


class Payload:
    """A request's argument or result, whose life a weakref tells."""


def test_an_idle_task_keeps_nothing_of_its_last_request() -> None:
    # A task waiting for its next request must not hold the last one's
    # environ or response (a response may be megabytes).
    seen: list[weakref.ref] = []
    request = contextvars.ContextVar('request', default='none')

    def handle(argument: Payload) -> Payload:
        result = Payload()
        seen.extend([weakref.ref(argument), weakref.ref(result)])
        return result

    def whose() -> str:
        value = request.get()
        request.set('set by a request')
        return value

    async def main() -> list:
        await cooperative.run(handle, Payload())  # both dropped at once
        left = [ref() for ref in seen]
        return [left, await cooperative.run(whose),
                await cooperative.run(whose)]

    # Nor does the next request see the context the last one set.
    assert run(main) == [[None, None], 'none', 'none']
