"""What the operator watches during an import: counts, rate and the time
left, on one redrawn line on a terminal, or a line every few seconds
when the output is a file or a pipe (a log, a CI job)."""

from __future__ import annotations

import time
from typing import TextIO

_BAR = 24


def _fmt_duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f'{seconds // 3600}h{seconds % 3600 // 60:02d}m'
    return f'{seconds // 60}m{seconds % 60:02d}s'


class Progress:
    """Messages and queues done out of their totals (an upper bound:
    upstream's indexes hold expired entries too)."""

    def __init__(self, out: TextIO, *, queues: int, messages: int,
                 every: float | None = None, enabled: bool = True) -> None:
        self._out = out
        self._tty = out.isatty()
        self._every = every if every is not None else (
            0.2 if self._tty else 5.0)
        self._enabled = enabled
        self.queues_total = queues
        self.messages_total = messages
        self.queues = 0
        self.messages = 0
        self._start = time.monotonic()
        self._shown = 0.0

    def add(self, *, messages: int = 0, queues: int = 0) -> None:
        self.messages += messages
        self.queues += queues
        now = time.monotonic()
        if now - self._shown >= self._every:
            self._shown = now
            self._show(now)

    def line(self, now: float | None = None) -> str:
        elapsed = (now or time.monotonic()) - self._start
        rate = self.messages / elapsed if elapsed > 0 else 0.0
        total = max(self.messages_total, 1)
        share = min(self.messages / total, 1.0)
        bar = '#' * int(share * _BAR)
        left = ''
        if rate > 0 and self.messages < self.messages_total:
            rest = (self.messages_total - self.messages) / rate
            left = f', about {_fmt_duration(rest)} left'
        return (f'[{bar:<{_BAR}}] {share:6.1%} messages '
                f'{self.messages:,}/{self.messages_total:,}, queues '
                f'{self.queues:,}/{self.queues_total:,}, {rate:,.0f} msg/s, '
                f'{_fmt_duration(elapsed)} elapsed{left}')

    def _show(self, now: float) -> None:
        if not self._enabled:
            return
        if self._tty:
            print(f'\r{self.line(now)}', end='', file=self._out, flush=True)
        else:
            print(self.line(now), file=self._out, flush=True)

    def finish(self) -> None:
        if not self._enabled:
            return
        now = time.monotonic()
        if self._tty:
            print(f'\r{self.line(now)}', file=self._out, flush=True)
        else:
            print(self.line(now), file=self._out, flush=True)
