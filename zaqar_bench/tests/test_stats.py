"""Latency histograms, per-operation counters and their merging."""

import math
import pickle
import random

import pytest

from zaqar_bench import stats
from zaqar_bench.stats import Histogram
from zaqar_bench.stats import OpStats


def exact_percentile(samples: list[float], q: float) -> float:
    """Nearest rank, the definition the histogram approximates."""
    ordered = sorted(samples)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def lognormal_latencies(n: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    # Around 5 ms with a long tail, like a loaded server.
    return [rng.lognormvariate(math.log(0.005), 0.8) for _ in range(n)]


@pytest.mark.parametrize('q', [0.01, 0.5, 0.9, 0.95, 0.99, 0.999])
def test_percentiles_are_within_half_a_percent(q: float) -> None:
    samples = lognormal_latencies(20000, seed=7)
    hist = Histogram()
    for s in samples:
        hist.add(s)
    exact = exact_percentile(samples, q)
    assert hist.percentile(q) == pytest.approx(exact, rel=0.0051)


def test_extremes_and_mean_are_exact() -> None:
    samples = lognormal_latencies(1000, seed=3)
    hist = Histogram()
    for s in samples:
        hist.add(s)
    assert hist.count == 1000
    assert hist.low == min(samples)
    assert hist.high == max(samples)
    assert hist.percentile(1.0) == max(samples)
    assert hist.mean == pytest.approx(sum(samples) / 1000)


def test_a_single_sample_is_reported_exactly() -> None:
    hist = Histogram()
    hist.add(0.0123)
    # Clamped to the exact extremes, so no bucket rounding shows.
    assert [hist.percentile(q) for q in (0.5, 0.95, 0.99)] == [0.0123] * 3


def test_an_empty_histogram_reports_zero() -> None:
    assert Histogram().percentile(0.99) == 0.0
    assert Histogram().mean == 0.0


def test_zero_latency_is_recorded_not_refused() -> None:
    hist = Histogram()
    hist.add(0.0)
    assert hist.count == 1
    assert hist.percentile(0.5) <= 1e-6


def test_merging_parts_equals_recording_everything_in_one() -> None:
    samples = lognormal_latencies(9000, seed=11)
    whole = Histogram()
    for s in samples:
        whole.add(s)
    parts = [Histogram() for _ in range(3)]
    for i, s in enumerate(samples):
        parts[i % 3].add(s)
    merged = Histogram()
    for part in parts:
        merged.merge(part)
    assert merged.counts == whole.counts
    assert (merged.count, merged.low, merged.high) == \
        (whole.count, whole.low, whole.high)
    for q in (0.5, 0.95, 0.99):
        assert merged.percentile(q) == whole.percentile(q)


def test_merging_processes_with_different_speeds_weights_by_count() -> None:
    # One fast process with many samples, one slow with few: the merged
    # median is the fast one's, the p99 the slow one's.
    fast, slow = Histogram(), Histogram()
    for _ in range(980):
        fast.add(0.001)
    for _ in range(20):
        slow.add(0.5)
    merged = Histogram()
    merged.merge(fast)
    merged.merge(slow)
    assert merged.percentile(0.5) == pytest.approx(0.001, rel=0.005)
    assert merged.percentile(0.99) == pytest.approx(0.5, rel=0.005)


def test_op_stats_survive_the_trip_between_processes() -> None:
    op = OpStats()
    op.record(201, 0.010, 10)
    op.record(503, 0.020)
    op.record_failure()
    # Pickled, as multiprocessing sends it.
    data = pickle.loads(pickle.dumps(op.to_dict()))  # noqa: S301
    back = OpStats.from_dict(data)
    assert back.to_dict() == op.to_dict()
    assert back.latency.percentile(0.99) == op.latency.percentile(0.99)


def test_record_counts_2xx_as_success_and_others_by_status() -> None:
    op = OpStats()
    op.record(201, 0.01, 10)
    op.record(204, 0.01, 0)  # an empty claim: success, no messages
    op.record(404, 0.01, 10)  # messages of a failure do not count
    op.record(503, 0.01)
    op.record(503, 0.01)
    op.record_failure()
    op.record_failure(stats.TIMEOUT_ERROR)
    assert (op.requests, op.ok, op.messages, op.empty) == (7, 2, 10, 1)
    assert op.errors == {'404': 1, '503': 2, 'connection': 1, 'timeout': 1}
    assert op.error_count == 5
    # Failures without a response have no latency to record.
    assert op.latency.count == 5


def test_merge_all_sums_each_operation() -> None:
    a = {'claim': OpStats(), 'delete': OpStats()}
    b = {'claim': OpStats(), 'delete': OpStats()}
    a['claim'].record(201, 0.01, 5)
    b['claim'].record(204, 0.02)
    b['claim'].record(500, 0.03)
    a['delete'].record(204, 0.01, 1)
    merged = stats.merge_all([a, b])
    claim = merged['claim']
    assert (claim.requests, claim.ok, claim.messages, claim.empty) == \
        (3, 2, 5, 1)
    assert claim.errors == {'500': 1}
    assert claim.latency.count == 3
    assert merged['delete'].messages == 1


def test_error_classes_group_statuses() -> None:
    classes = stats.error_classes({'404': 2, '409': 1, '503': 4,
                                   'connection': 3, 'timeout': 1,
                                   'protocol': 1, '302': 1})
    assert classes == {'4xx': 3, '5xx': 4, 'connection': 5, 'other': 1}
