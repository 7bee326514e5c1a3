"""Counters and latency histograms that merge across processes.

Each process records into its own ``OpStats`` (one per operation), sends
them to the parent as plain dicts, and the parent adds them up. Latencies
go into a histogram of logarithmic buckets 1% wide: recording is one
``log`` and one dict update, memory stays bounded however long the run,
merging is adding counts, and a percentile read from it is within 0.5% of
the exact value.
"""

from __future__ import annotations

import math
from typing import Any

# Bucket i holds latencies in [BASE**i, BASE**(i+1)) seconds; reporting
# the geometric middle of a bucket is off by at most sqrt(BASE) - 1.
BASE = 1.01
_SCALE = 1 / math.log(BASE)
# Below this a latency is clamped (log(0) is undefined): 100 ns.
_FLOOR = 1e-7

# Keys under which failures without an HTTP status are counted.
CONNECTION_ERROR = 'connection'
TIMEOUT_ERROR = 'timeout'
PROTOCOL_ERROR = 'protocol'


class Histogram:
    """Latencies in seconds, in log buckets; exact min, max and sum."""

    __slots__ = ('counts', 'count', 'total', 'low', 'high')

    def __init__(self) -> None:
        self.counts: dict[int, int] = {}
        self.count = 0
        self.total = 0.0
        self.low = math.inf
        self.high = 0.0

    def add(self, seconds: float) -> None:
        seconds = max(seconds, _FLOOR)
        bucket = math.floor(math.log(seconds) * _SCALE)
        counts = self.counts
        counts[bucket] = counts.get(bucket, 0) + 1
        self.count += 1
        self.total += seconds
        if seconds < self.low:
            self.low = seconds
        if seconds > self.high:
            self.high = seconds

    def merge(self, other: Histogram) -> None:
        for bucket, n in other.counts.items():
            self.counts[bucket] = self.counts.get(bucket, 0) + n
        self.count += other.count
        self.total += other.total
        self.low = min(self.low, other.low)
        self.high = max(self.high, other.high)

    def percentile(self, q: float) -> float:
        """The latency under which a fraction ``q`` of samples fall.

        Nearest rank (the smallest sample with at least ``q`` of all
        samples at or below it), read from its bucket and clamped to the
        exact extremes. 0.0 when empty.
        """
        if not self.count:
            return 0.0
        rank = max(1, math.ceil(q * self.count))
        # The first and last ranks are known exactly.
        if rank == 1:
            return self.low
        if rank >= self.count:
            return self.high
        seen = 0
        for bucket in sorted(self.counts):
            seen += self.counts[bucket]
            if seen >= rank:
                middle = BASE ** (bucket + 0.5)
                return min(max(middle, self.low), self.high)
        return self.high

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {'counts': self.counts, 'count': self.count,
                'total': self.total,
                'low': self.low if self.count else None,
                'high': self.high}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Histogram:
        hist = cls()
        hist.counts = {int(k): v for k, v in data['counts'].items()}
        hist.count = data['count']
        hist.total = data['total']
        hist.low = math.inf if data['low'] is None else data['low']
        hist.high = data['high']
        return hist


class OpStats:
    """What one operation (``post``, ``claim``...) did.

    ``requests`` counts every completed attempt, successful or not; an
    attempt cut off by the end of the run is not counted at all. Latency
    is recorded for every HTTP response, whatever its status; failures
    without a response count only under ``errors['connection']``.
    """

    __slots__ = ('requests', 'ok', 'messages', 'empty', 'errors', 'latency')

    def __init__(self) -> None:
        self.requests = 0
        self.ok = 0
        # Messages moved by successful requests of this operation.
        self.messages = 0
        # Successful requests that found nothing (claim 204, empty page).
        self.empty = 0
        # HTTP status (as a string) or CONNECTION_ERROR -> count.
        self.errors: dict[str, int] = {}
        self.latency = Histogram()

    def record(self, status: int, seconds: float, messages: int = 0) -> None:
        """One HTTP response; only a 2xx counts its ``messages``."""
        self.requests += 1
        self.latency.add(seconds)
        if 200 <= status < 300:
            self.ok += 1
            self.messages += messages
            if not messages:
                self.empty += 1
        else:
            key = str(status)
            self.errors[key] = self.errors.get(key, 0) + 1

    def record_failure(self, kind: str = CONNECTION_ERROR) -> None:
        """One attempt that got no HTTP response."""
        self.requests += 1
        self.errors[kind] = self.errors.get(kind, 0) + 1

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def merge(self, other: OpStats) -> None:
        self.requests += other.requests
        self.ok += other.ok
        self.messages += other.messages
        self.empty += other.empty
        for key, n in other.errors.items():
            self.errors[key] = self.errors.get(key, 0) + n
        self.latency.merge(other.latency)

    def to_dict(self) -> dict[str, Any]:
        return {'requests': self.requests, 'ok': self.ok,
                'messages': self.messages, 'empty': self.empty,
                'errors': dict(self.errors),
                'latency': self.latency.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OpStats:
        stats = cls()
        stats.requests = data['requests']
        stats.ok = data['ok']
        stats.messages = data['messages']
        stats.empty = data['empty']
        stats.errors = dict(data['errors'])
        stats.latency = Histogram.from_dict(data['latency'])
        return stats


def merge_all(parts: list[dict[str, OpStats]]) -> dict[str, OpStats]:
    """Operation name -> the sum of that operation over all parts."""
    merged: dict[str, OpStats] = {}
    for part in parts:
        for op, stats in part.items():
            merged.setdefault(op, OpStats()).merge(stats)
    return merged


def error_classes(errors: dict[str, int]) -> dict[str, int]:
    """Error counts grouped as ``4xx``, ``5xx``, ``connection``, ``other``.

    ``connection`` gathers every failure without an HTTP status (refused,
    reset, timed out, unparsable); ``other`` is any non-2xx status outside
    4xx/5xx (a redirect, say).
    """
    classes = {'4xx': 0, '5xx': 0, CONNECTION_ERROR: 0, 'other': 0}
    for key, n in errors.items():
        if not key.isdigit():
            classes[CONNECTION_ERROR] += n
        elif 400 <= int(key) < 600:
            classes[key[0] + 'xx'] += n
        else:
            classes['other'] += n
    return classes
