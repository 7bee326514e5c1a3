"""What workers of the pre-forked servers do: die with their master, and
keep what they built out of garbage collections."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from zaqar_plugins.transport import processes


def in_child(function) -> int:
    """Run ``function`` in a forked child; its exit status."""
    pid = os.fork()
    if pid == 0:  # the child
        try:
            os._exit(function())
        except BaseException:
            os._exit(99)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def test_a_worker_dies_with_its_master() -> None:
    from_worker = os.pipe()
    from_master = os.pipe()

    def master() -> int:
        # A master that forks a worker, waits until the worker is set up,
        # hands its pid over, then dies.
        parent = os.getpid()
        if os.fork() == 0:  # the worker
            processes.die_with_parent(parent)
            os.write(from_worker[1], str(os.getpid()).encode())
            time.sleep(30)
            os._exit(0)
        os.write(from_master[1], os.read(from_worker[0], 16))
        return 0

    assert in_child(master) == 0
    worker = int(os.read(from_master[0], 16))
    for fd in (*from_worker, *from_master):
        os.close(fd)
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and _alive(worker):
        time.sleep(0.02)
    if _alive(worker):
        os.kill(worker, signal.SIGKILL)
        pytest.fail('the worker outlived its master')


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie has ended)."""
    try:
        stat = Path(f'/proc/{pid}/stat').read_text()
    except OSError:
        return False
    return stat.rsplit(')', 1)[1].split()[0] != 'Z'


def test_a_settled_worker_leaves_its_build_out_of_collections() -> None:
    # In a child: freezing is for good, and the test process must not
    # keep its objects out of collections.
    def worker() -> int:
        import gc
        import weakref

        class Node:
            pass

        built = Node()
        built.me = built  # lives as long as the worker: a cycle kept
        garbage = Node()
        garbage.me = garbage
        gone = weakref.ref(garbage)
        del garbage
        gc.disable()  # only settle_heap collects, not an allocation
        processes.settle_heap()
        if gone() is not None:
            return 1  # the build's garbage was frozen with the rest
        tracked = {id(o) for g in range(3) for o in gc.get_objects(g)}
        if id(built) in tracked or gc.get_freeze_count() == 0:
            return 2  # collections would still go through it
        return 0

    assert in_child(worker) == 0
