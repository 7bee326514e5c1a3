"""Logging of a background task that fails again and again (a store is
down): one line when it starts failing, a summary at most once a
:data:`SUMMARY_INTERVAL`, one line when it recovers; never one per
attempt.

A storage failure is expected (the store is down: the line says why);
anything else gets its traceback, once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from zaqar_core.storage import errors as storage_errors

#: Seconds between two summaries of the same failure.
SUMMARY_INTERVAL = 60.0


class RepeatedFailures:
    """The failure state of one background task, and its log lines.

    Args:
        log: where the lines go.
        what: the task, as the subject of a sentence ("Outbox delivery").
        summary_interval: seconds between summaries while it fails.
        clock: seconds, monotonic (a test's clock, say).
    """

    def __init__(self, log: logging.Logger | logging.LoggerAdapter,
                 what: str, summary_interval: float = SUMMARY_INTERVAL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.log = log
        self.what = what
        self.summary_interval = summary_interval
        self.clock = clock
        self._lock = threading.Lock()
        self.count = 0  # failures since the last success
        self._since = 0.0
        self._summarised = 0.0

    @property
    def failing(self) -> bool:
        return self.count > 0

    def failed(self, exc: BaseException) -> None:
        """Count a failure; log it if it is the first, or if a summary is
        due."""
        now = self.clock()
        with self._lock:
            self.count += 1
            count = self.count
            if count == 1:
                self._since = self._summarised = now
            elif now - self._summarised >= self.summary_interval:
                self._summarised = now
            else:
                return
            since = self._since
        if count > 1:
            self.log.warning('%s failing for %d s, %d times: %s', self.what,
                             now - since, count, _one_line(exc))
        elif isinstance(exc, storage_errors.StorageError):
            self.log.warning('%s failed: %s', self.what, _one_line(exc))
        else:
            self.log.error('%s failed: %s', self.what, _one_line(exc),
                           exc_info=exc)

    def succeeded(self) -> None:
        """End a run of failures, logging the recovery."""
        with self._lock:
            count, self.count = self.count, 0
            since = self._since
        if count:
            self.log.info('%s recovered after %d failures (%d s)',
                          self.what, count, self.clock() - since)


def _one_line(exc: BaseException) -> str:
    return ' '.join(str(exc).split()) or type(exc).__name__
