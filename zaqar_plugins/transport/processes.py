"""What the pre-forked servers of both transports do in their workers."""

from __future__ import annotations

import ctypes
import gc
import os
import signal

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """Have the kernel kill this process when ``parent`` (the master that
    forked it) dies.

    SIGKILL: a worker of a dead master must let go of the port at once,
    whatever it is doing, so that a restart can bind it; with no master
    left, nobody would bound a graceful stop.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # it died before prctl took effect
        os.kill(os.getpid(), signal.SIGKILL)


def settle_heap() -> None:
    """Keep what the worker built to serve out of the collector's way.

    Its app, stores and the modules they import are some 140,000 objects
    that live as long as the worker. Every full collection went through
    them all: 50-60 ms, twice in ten seconds of loaded posts, each a pause
    for every request in the worker. Called once the worker is built;
    garbage of the build itself is collected first.
    """
    gc.collect()
    gc.freeze()
