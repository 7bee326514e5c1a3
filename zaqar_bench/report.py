"""What a run prints: progress lines, the summary as JSON, the table.

``summarize`` turns a run into one plain dict; ``--json`` prints it as a
single line and the table is drawn from the same dict, so both always
agree.
"""

from __future__ import annotations

from typing import Any

from zaqar_bench import roles
from zaqar_bench.config import BenchConfig
from zaqar_bench.prepare import PrefillResult
from zaqar_bench.runner import Counters
from zaqar_bench.runner import RunResult
from zaqar_bench.stats import OpStats
from zaqar_bench.stats import error_classes

OPS = ('post', 'claim', 'delete', 'list')
PERCENTILES = {'p50': 0.50, 'p95': 0.95, 'p99': 0.99}


def _rate(count: float, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else 0.0


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def op_summary(stats: OpStats, seconds: float) -> dict[str, Any]:
    """One operation's counts, rates, latency (ms) and errors."""
    hist = stats.latency
    latency = {name: _ms(hist.percentile(q))
               for name, q in PERCENTILES.items()}
    latency.update(mean=_ms(hist.mean), max=_ms(hist.high))
    errors: dict[str, Any] = error_classes(stats.errors)
    errors['by_status'] = dict(sorted(stats.errors.items()))
    return {'requests': stats.requests, 'ok': stats.ok,
            'empty': stats.empty,
            'requests_per_s': _rate(stats.requests, seconds),
            'messages': stats.messages,
            'messages_per_s': _rate(stats.messages, seconds),
            'latency_ms': latency, 'errors': errors}


def summarize(config: BenchConfig, result: RunResult,
              prefill: PrefillResult | None) -> dict[str, Any]:
    """The whole run as plain data (what ``--json`` prints)."""
    seconds = result.duration
    ops = {op: op_summary(result.ops[op], seconds)
           for op in OPS if op in result.ops}
    role_totals = {}
    for role in config.enabled_roles() if ops else ():
        mine = [result.ops[op] for op in roles.ROLE_OPS[role]
                if op in result.ops]
        requests = sum(s.requests for s in mine)
        # The role's last operation moves its messages (see ROLE_OPS).
        last = result.ops.get(roles.ROLE_OPS[role][-1])
        messages = last.messages if last else 0
        spec = config.roles[role]
        role_totals[role] = {
            'processes': spec.processes, 'workers': spec.workers,
            'requests': requests,
            'requests_per_s': _rate(requests, seconds),
            'messages': messages,
            'messages_per_s': _rate(messages, seconds),
            'errors': sum(s.error_count for s in mine)}
    requests = result.requests
    return {
        'url': config.target,
        'transport': config.transport,
        # Encoding and requests in flight per connection (WebSocket).
        'ws_encoding': config.ws_encoding if config.transport == 'ws'
        else None,
        'pipeline': config.pipeline,
        'project': config.project,
        'queues': config.queues,
        'queue_prefix': config.queue_prefix,
        'batch': config.batch,
        'message_size': config.message_size,
        'duration_s': round(seconds, 3),
        'nominal_duration_s': config.duration,
        'prefill': None if prefill is None else {
            'messages': prefill.messages,
            'seconds': round(prefill.seconds, 3),
            'messages_per_s': _rate(prefill.messages, prefill.seconds)},
        'roles': role_totals,
        'ops': ops,
        'client': {
            'cpu_s': round(result.cpu_seconds, 3),
            # Cores the bench kept busy: what it took from the server.
            'cpu_cores': round(result.cpu_seconds / seconds, 3)
            if seconds else 0.0,
            'cpu_us_per_request': round(
                result.cpu_seconds / requests * 1e6, 1) if requests else None,
        },
        'failures': result.failures,
    }


def progress_line(elapsed: float, counters: Counters) -> str:
    """``[  3s] producer 812 req/s 8120 msg/s | ... | errors 0``."""
    parts = []
    errors = 0
    for role in sorted(counters, key=lambda r: list(roles.ROLE_OPS).index(r)):
        ops = counters[role]
        requests = sum(v[0] for v in ops.values())
        moved = ops.get(roles.ROLE_OPS[role][-1], (0, 0, 0))[1]
        errors += sum(v[2] for v in ops.values())
        parts.append(f'{role} {requests / elapsed:,.0f} req/s '
                     f'{moved / elapsed:,.0f} msg/s')
    return (f'[{elapsed:5.1f}s] ' + ' | '.join(parts)
            + f' | errors {errors}')


def table(summary: dict[str, Any]) -> str:
    """The summary for people: per operation, per role, bench cost."""
    over = ''
    if summary['transport'] == 'ws':
        over = f" over WebSocket ({summary['ws_encoding']}"
        if summary['pipeline'] > 1:
            over += f", pipeline {summary['pipeline']}"
        over += ')'
    lines = [
        f"zaqar-bench: {summary['duration_s']:.1f} s against "
        f"{summary['url']}{over} (project {summary['project']}, "
        f"{summary['queues']} queue(s), batch {summary['batch']}, "
        f"{summary['message_size']} B padding)"]
    prefill = summary['prefill']
    if prefill:
        lines.append(f"prefill: {prefill['messages']} messages in "
                     f"{prefill['seconds']:.2f} s "
                     f"({prefill['messages_per_s']:,.0f} msg/s)")
    if not summary['ops']:
        lines.append('no timed run (--time 0 or every role disabled)')
        return '\n'.join(lines)
    lines.append('')
    head = (f"{'op':<8}{'requests':>10}{'req/s':>10}{'msg/s':>10}"
            f"{'empty':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
            f"{'4xx':>6}{'5xx':>6}{'conn':>6}")
    lines.append(head)
    for op, s in summary['ops'].items():
        lat, err = s['latency_ms'], s['errors']
        lines.append(
            f"{op:<8}{s['requests']:>10}{s['requests_per_s']:>10.1f}"
            f"{s['messages_per_s']:>10.1f}{s['empty']:>8}"
            f"{lat['p50']:>9.2f}{lat['p95']:>9.2f}{lat['p99']:>9.2f}"
            f"{err['4xx']:>6}{err['5xx']:>6}{err['connection']:>6}")
    lines.append('')
    lines.append(f"{'role':<10}{'procs':>6}{'workers':>8}{'requests':>10}"
                 f"{'req/s':>10}{'messages':>10}{'msg/s':>10}"
                 f"{'errors':>8}")
    for role, r in summary['roles'].items():
        lines.append(
            f"{role:<10}{r['processes']:>6}{r['workers']:>8}"
            f"{r['requests']:>10}{r['requests_per_s']:>10.1f}"
            f"{r['messages']:>10}{r['messages_per_s']:>10.1f}"
            f"{r['errors']:>8}")
    client = summary['client']
    lines.append('')
    per_request = client['cpu_us_per_request']
    lines.append(
        f"bench CPU: {client['cpu_s']:.2f} s "
        f"({client['cpu_cores'] * 100:.0f}% of one core)"
        + (f", {per_request:.1f} us per request" if per_request else ''))
    detail = [f'{op} {code} x{n}' for op, s in summary['ops'].items()
              for code, n in s['errors']['by_status'].items()]
    if detail:
        lines.append('errors: ' + ', '.join(detail))
    for failure in summary['failures']:
        lines.append(f'FAILED: {failure}')
    return '\n'.join(lines)
