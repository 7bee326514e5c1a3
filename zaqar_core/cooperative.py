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

#: Idle tasks a thread keeps for its next requests, at most.
IDLE_KEPT = MAX_WAITING


class Task(greenlet.greenlet):
    """Runs requests for :func:`run`, one after another, and then waits
    among a thread's idle tasks for the next: a new greenlet per request
    would cost a fresh Python frame stack each (a system call to map it,
    one to unmap it, and their page faults)."""

    def __init__(self) -> None:
        super().__init__(self._serve)
        self.slots: list[threading.Semaphore] = []
        self.detached = False
        self.outcome: Any = None

    def _serve(self, job: list[tuple[Callable[..., Any], tuple]]) -> None:
        # ``job`` holds the request; emptied, and the outcome handed over
        # in an attribute rather than through switch(), an idle task
        # keeps nothing of its last request alive.
        parent = self.parent
        while True:
            fn, args = job.pop()
            try:
                self.outcome = fn(*args)
            except Exception as exc:  # noqa: BLE001 - raised by run()
                self.outcome = _Failed(exc)
            del fn, args
            job = parent.switch()


class _Failed:
    """The outcome of a request that raised ``error``."""

    __slots__ = ('error',)

    def __init__(self, error: Exception) -> None:
        self.error = error


class _Wait:
    """What a task hands the loop: wait for ``fd`` to be readable, for at
    most ``timeout`` seconds (None: for as long as it takes)."""

    __slots__ = ('fd', 'timeout')

    def __init__(self, fd: int, timeout: float | None) -> None:
        self.fd = fd
        self.timeout = timeout


class _Tasks(threading.local):
    """A thread's tasks: how many wait for their stores, and the idle."""

    def __init__(self) -> None:
        self.waiting = 0
        self.idle: list[Task] = []


_tasks = _Tasks()


def wait_readable(fd: int, timeout: float | None) -> bool:
    """Wait until ``fd`` is readable, for at most ``timeout`` seconds:
    inside a task that may, by lending the thread to other tasks;
    otherwise not at all (the caller's read then blocks, with its own
    timeout). False when the time ran out."""
    task = greenlet.getcurrent()
    if task.__class__ is not Task or task.detached or \
            _tasks.waiting >= MAX_WAITING:
        return True
    context = oslo_context.get_current()  # its thread's; others run
    for slot in task.slots:
        slot.release()
    _tasks.waiting += 1
    try:
        return task.parent.switch(_Wait(fd, timeout))
    finally:
        _tasks.waiting -= 1
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
    idle = _tasks.idle
    task = idle.pop() if idle else Task()
    task.gr_context = contextvars.copy_context()
    step = task.switch([(fn, args)])
    if step.__class__ is _Wait:
        await _lend(task, step)
    outcome, task.outcome = task.outcome, None
    if len(idle) < IDLE_KEPT:
        idle.append(task)
    if outcome.__class__ is _Failed:
        raise outcome.error
    return outcome


async def _lend(task: Task, step: _Wait) -> None:
    """Serve the other tasks until ``task``'s request is done."""
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
            # call; it is not kept.
            task.detached = True
            task.switch(True)
            raise
        finally:
            loop.remove_reader(step.fd)
            if timer is not None:
                timer.cancel()
        step = task.switch(readable)


def _done(ready: asyncio.Future, readable: bool) -> None:
    if not ready.done():
        ready.set_result(readable)
