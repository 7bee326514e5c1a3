"""Waiting for something that happens in another process or thread."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest

_T = TypeVar('_T')


def eventually(check: Callable[[], _T], timeout: float = 10.0,
               what: str | None = None, interval: float = 0.1) -> _T:
    """Poll ``check`` until it returns something true or ``timeout``
    seconds pass; return its last result.

    With ``what``, a timeout fails the test saying what it waited for
    (rather than returning a false result for the caller to assert on).
    The default timeout is generous: it bounds a wait on a loaded
    machine, it is not a performance claim.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            break
        time.sleep(interval)
    if what is not None:
        pytest.fail(f'timed out after {timeout:g} s waiting for {what}',
                    pytrace=False)
    return result
