"""Requests that lend their thread to others while their store answers.

A transport that runs requests one at a time on an event loop's thread
(``zaqar-server``'s bridge) leaves its process idle while a request waits
for a store's reply: with two workers on two cores, posts of ten messages
to Redis left 13% of the CPU idle at full load, and a third worker took
that up (doc/source/admin/performance.rst, "Requests that lend their
thread"). Threads would too, but handing each request to one cost more
than the idle time they fill.

Here the transport runs each request as a :class:`Task`, a greenlet on the
loop's thread, through :func:`run`. A store driver about to block on a
socket for its reply calls :func:`wait_readable` first: inside a task, the
task steps back to the loop, which serves other requests and resumes it
once the socket is readable, on the same thread. Anywhere else (another
server, a thread of long polling's, a background thread) it returns at
once and the driver blocks, as before.

A task keeps across the switch what is kept per thread on a request's
path: oslo.context's current context (log lines name its request). It
gives up what would hold the others back: its
:class:`~zaqar_core.transport.gate.Gate` slot, taken again on return. Any
other lock held across a store call would deadlock the thread (the next
task waits for it, the holder waits for the thread), so a request's path
holds none there.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable
from typing import Any
from typing import TypeVar

import greenlet
from oslo_context import context as oslo_context

T = TypeVar('T')

#: Tasks of one thread waiting for their stores at once, at most; each
#: holds a store connection meanwhile. Beyond it a task blocks its thread.
MAX_WAITING = 64


class Task(greenlet.greenlet):
    """A request run by :func:`run`."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        super().__init__(fn)
        self.slots: list[threading.Semaphore] = []
        self.detached = False


class _Wait:
    """What a task hands the loop: wait for ``fd`` to be readable, for at
    most ``timeout`` seconds (None: for as long as it takes)."""

    __slots__ = ('fd', 'timeout')

    def __init__(self, fd: int, timeout: float | None) -> None:
        self.fd = fd
        self.timeout = timeout


class _Waiting(threading.local):
    count = 0


_waiting = _Waiting()


def wait_readable(fd: int, timeout: float | None) -> bool:
    """Wait until ``fd`` is readable, for at most ``timeout`` seconds:
    inside a task that may, by lending the thread to other tasks;
    otherwise not at all (the caller's read then blocks, with its own
    timeout). False when the time ran out."""
    task = greenlet.getcurrent()
    if task.__class__ is not Task or task.detached or \
            _waiting.count >= MAX_WAITING:
        return True
    context = oslo_context.get_current()  # its thread's; others run
    for slot in task.slots:
        slot.release()
    _waiting.count += 1
    try:
        return task.parent.switch(_Wait(fd, timeout))
    finally:
        _waiting.count -= 1
        for slot in task.slots:
            slot.acquire()
        if context is not None:
            context.update_store()


def held(slot: threading.Semaphore) -> None:
    """The running task (if any) took ``slot``: it gives it up while it
    waits."""
    task = greenlet.getcurrent()
    if task.__class__ is Task:
        task.slots.append(slot)


def released(slot: threading.Semaphore) -> None:
    """The running task (if any) gave ``slot`` back."""
    task = greenlet.getcurrent()
    if task.__class__ is Task:
        task.slots.remove(slot)


async def run(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` as a task of the running loop: other tasks run
    while it waits for its store."""
    task = Task(fn)
    task.gr_context = contextvars.copy_context()
    step = task.switch(*args)
    if step.__class__ is not _Wait:
        return step  # it never waited
    loop = asyncio.get_running_loop()
    while step.__class__ is _Wait:
        ready = loop.create_future()
        loop.add_reader(step.fd, _done, ready, True)
        timer = (None if step.timeout is None else
                 loop.call_later(step.timeout, _done, ready, False))
        try:
            readable = await ready
        except BaseException:
            # Cancelled (the worker stops): the task finishes on this
            # thread, blocking, rather than stop halfway through a store
            # call.
            task.detached = True
            task.switch(True)
            raise
        finally:
            loop.remove_reader(step.fd)
            if timer is not None:
                timer.cancel()
        step = task.switch(readable)
    return step


def _done(ready: asyncio.Future, readable: bool) -> None:
    if not ready.done():
        ready.set_result(readable)
