"""Processes, a synchronized start, live progress and merged results.

The parent starts every process (spawned, so each begins with a clean
interpreter and no inherited event loop or sockets). Each process opens
its workers' connections and reports ready; when all are ready the parent
sets a start time slightly in the future and releases them, so they all
begin the timed window together. During the run each process sends its
counters once per second; at the deadline its workers stop issuing
requests, those in flight finish (or are cancelled after a grace period
and not counted), and it sends its final statistics back to be merged.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import queue as queue_mod
import signal
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from zaqar_bench import roles
from zaqar_bench.api import Connection
from zaqar_bench.api import make_api
from zaqar_bench.config import BenchConfig
from zaqar_bench.stats import OpStats
from zaqar_bench.stats import merge_all

# Seconds a process may take to start and connect.
STARTUP_TIMEOUT = 60.0
# Lead time between releasing the processes and the common start.
START_DELAY = 0.2
# Requests in flight at the deadline get this long to finish.
DRAIN_SECONDS = 5.0
PROGRESS_INTERVAL = 1.0

# role, process index within the role
ProcessKey = tuple[str, int]
# role -> op -> (requests, messages, errors) so far, over all processes
Counters = dict[str, dict[str, tuple[int, int, int]]]


class RunError(Exception):
    """The run could not start (a process failed before the start)."""


@dataclass
class RunResult:
    """The merged outcome of a run.

    Attributes:
        ops: operation -> its statistics over every process.
        duration: seconds from the common start to the last recorded
            request (the nominal duration if nothing was recorded).
        cpu_seconds: CPU time (user + system) the worker processes spent
            during the run.
        failures: tracebacks of processes that crashed or never reported;
            their statistics are missing from ``ops``.
    """

    ops: dict[str, OpStats]
    duration: float
    cpu_seconds: float
    failures: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(s.requests for s in self.ops.values())


@dataclass(frozen=True)
class _Shared:
    """What the parent shares with every process."""

    channel: Any  # multiprocessing.Queue of (kind, key, payload)
    go: Any  # multiprocessing.Event: released for the start
    stop: Any  # multiprocessing.Event: stop early (Ctrl-C)
    start_at: Any  # multiprocessing.Value('d'): the common start, epoch


def run(config: BenchConfig,
        on_progress: Callable[[float, Counters], None] | None = None
        ) -> RunResult:
    """Run the timed part of a benchmark and merge what every process saw.

    Args:
        config: the run's options.
        on_progress: called about once per second with the seconds since
            the start and the counters so far, per role and operation.

    Raises:
        RunError: a process failed before the common start.
    """
    ctx = multiprocessing.get_context('spawn')
    shared = _Shared(channel=ctx.Queue(), go=ctx.Event(), stop=ctx.Event(),
                     start_at=ctx.Value('d', 0.0, lock=False))
    keys = [(role, i) for role in config.enabled_roles()
            for i in range(config.roles[role].processes)]
    procs = {key: ctx.Process(target=_process_main,
                              args=(key, config, shared), daemon=True,
                              name=f'zaqar-bench-{key[0]}-{key[1]}')
             for key in keys}
    for proc in procs.values():
        proc.start()
    try:
        _await_ready(procs, shared)
        start = time.time() + START_DELAY
        shared.start_at.value = start
        shared.go.set()
        results, failures = _collect(config, procs, shared, start,
                                     on_progress)
    finally:
        # Releases processes still waiting for the start (if the parent
        # failed or was interrupted before it): they see stop and end.
        shared.stop.set()
        shared.go.set()
        for proc in procs.values():
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
                proc.join()
    ends = [r['finished'] for r in results.values() if r['recorded']]
    duration = (max(ends) - start) if ends else config.duration
    return RunResult(
        ops=merge_all([{op: OpStats.from_dict(d)
                        for op, d in r['ops'].items()}
                       for r in results.values()]),
        duration=max(duration, 1e-9),
        cpu_seconds=sum(r['cpu'] for r in results.values()),
        failures=failures)


def _await_ready(procs: dict[ProcessKey, Any], shared: _Shared) -> None:
    waiting = set(procs)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while waiting:
        try:
            kind, key, payload = shared.channel.get(timeout=0.5)
        except queue_mod.Empty:
            dead = [k for k in waiting if not procs[k].is_alive()]
            if dead:
                raise RunError(f'process {dead[0]} exited before the start '
                               f'(exit code {procs[dead[0]].exitcode})'
                               ) from None
            if time.monotonic() > deadline:
                raise RunError('processes not ready after '
                               f'{STARTUP_TIMEOUT:.0f} s') from None
            continue
        if kind == 'ready':
            waiting.discard(key)
        elif kind == 'error':
            raise RunError(f'process {key} failed to start:\n{payload}')


def _collect(config: BenchConfig, procs: dict[ProcessKey, Any],
             shared: _Shared, start: float,
             on_progress: Callable[[float, Counters], None] | None
             ) -> tuple[dict[ProcessKey, dict], list[str]]:
    results: dict[ProcessKey, dict] = {}
    failures: list[str] = []
    snapshots: dict[ProcessKey, dict[str, tuple[int, int, int]]] = {}
    elapsed = shown = 0.0
    # Just after the processes' own reports, which are on the second.
    next_tick = start + PROGRESS_INTERVAL * 1.2
    # Every process ends by itself; this is a backstop for a stuck one.
    give_up = start + config.duration + DRAIN_SECONDS + 30
    pending = set(procs)
    while pending:
        now = time.time()
        if now > give_up:
            failures.extend(f'process {k} sent no result' for k in pending)
            break
        try:
            kind, key, payload = shared.channel.get(
                timeout=max(0.05, min(next_tick, give_up) - now))
        except queue_mod.Empty:
            kind = None
        except KeyboardInterrupt:
            # The first Ctrl-C stops early and reports what was done;
            # a second one gives up on the results.
            if shared.stop.is_set():
                raise
            shared.stop.set()
            continue
        if kind == 'progress':
            seconds, snapshots[key] = payload
            elapsed = max(elapsed, seconds)
        elif kind == 'result':
            results[key] = payload
            pending.discard(key)
        elif kind == 'error':
            failures.append(f'process {key} failed:\n{payload}')
            pending.discard(key)
        elif kind is None:
            dead = [k for k in pending if not procs[k].is_alive()]
            for k in dead:
                failures.append(f'process {k} died (exit code '
                                f'{procs[k].exitcode}) without a result')
                pending.discard(k)
        if on_progress is not None and time.time() >= next_tick:
            if shown < elapsed <= config.duration:
                on_progress(elapsed, _by_role(snapshots))
                shown = elapsed
            while next_tick <= time.time():
                next_tick += PROGRESS_INTERVAL
    return results, failures


def _by_role(snapshots: dict[ProcessKey, dict[str, tuple[int, int, int]]]
             ) -> Counters:
    counters: Counters = {}
    for (role, _), ops in snapshots.items():
        mine = counters.setdefault(role, {})
        for op, values in ops.items():
            old = mine.get(op, (0, 0, 0))
            mine[op] = (old[0] + values[0], old[1] + values[1],
                        old[2] + values[2])
    return counters


def _snapshot(ops: dict[str, OpStats]) -> dict[str, tuple[int, int, int]]:
    return {op: (s.requests, s.messages, s.error_count)
            for op, s in ops.items()}


# --- inside each process ------------------------------------------------


def _process_main(key: ProcessKey, config: BenchConfig,
                  shared: _Shared) -> None:
    # Ctrl-C reaches the whole process group: the parent decides.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        asyncio.run(_process(key, config, shared))
    except Exception:
        shared.channel.put(('error', key, traceback.format_exc()))


async def _process(key: ProcessKey, config: BenchConfig,
                   shared: _Shared) -> None:
    role, index = key
    spec = config.roles[role]
    ops = {op: OpStats() for op in roles.ROLE_OPS[role]}
    # One client (Client-ID) and connection per worker.
    apis = [make_api(config) for _ in range(spec.workers)]
    conns = [api.connection() for api in apis]
    # Connect up front so the timed window starts warm; a worker whose
    # connection failed retries (and counts the error) in the run.
    await asyncio.gather(*(c.open() for c in conns), return_exceptions=True)
    shared.channel.put(('ready', key, None))
    # Blocking is fine: nothing runs on this loop until the start.
    if not shared.go.wait(STARTUP_TIMEOUT + 10) or shared.stop.is_set():
        return
    await asyncio.sleep(max(0.0, shared.start_at.value - time.time()))
    cpu_start = time.process_time()
    clock = roles.Clock(config.duration)
    loop_fn = roles.ROLE_LOOPS[role]
    first = index * spec.workers
    # --pipeline N: N loops share each worker's connection (WebSocket).
    lanes = max(1, config.pipeline)
    tasks = [asyncio.create_task(loop_fn(
                conn, api, config.queue_for(first + n), config, ops, clock))
             for n, (api, conn) in enumerate(zip(apis, conns, strict=True))
             for _ in range(lanes)]
    ticker = asyncio.create_task(
        _tick(key, config, shared, ops, clock, conns, tasks))
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    ticker.cancel()
    cpu = time.process_time() - cpu_start
    # A WebSocket close handshake takes a round trip (ws.CLOSE_TIMEOUT at
    # most); after the CPU reading, so the bench's cost is the run's.
    await asyncio.gather(*(conn.wait_closed() for conn in conns),
                         return_exceptions=True)
    crashes = [''.join(traceback.format_exception(o)) for o in outcomes
               if isinstance(o, Exception)]
    if crashes:
        raise RuntimeError('a worker crashed:\n' + crashes[0])
    recorded = any(s.requests for s in ops.values())
    shared.channel.put(('result', key, {
        'ops': {op: s.to_dict() for op, s in ops.items()},
        'cpu': cpu,
        'recorded': recorded,
        # Wall clock of the last recorded request, on the parent's scale.
        'finished': shared.start_at.value + (clock.last - clock.start),
    }))


async def _tick(key: ProcessKey, config: BenchConfig, shared: _Shared,
                ops: dict[str, OpStats], clock: roles.Clock,
                conns: list[Connection], tasks: list[asyncio.Task]) -> None:
    """Progress, early stop, request timeouts and the drain limit."""
    drain_until = None
    ticks = 0
    while True:
        # Four checks per progress report: stop and timeouts react fast.
        await asyncio.sleep(PROGRESS_INTERVAL / 4)
        ticks += 1
        now = time.monotonic()
        for conn in conns:
            since = conn.busy_since
            if since is not None and now - since > config.timeout:
                conn.abort(TimeoutError('no response after '
                                        f'{config.timeout:g} s'))
        if shared.stop.is_set():
            clock.stop()
        if clock.running():
            if ticks % 4 == 0:
                shared.channel.put(('progress', key, (
                    time.perf_counter() - clock.start, _snapshot(ops))))
        elif drain_until is None:
            drain_until = now + DRAIN_SECONDS
        elif now > drain_until:
            # Still in flight: dropped, never recorded.
            for task in tasks:
                task.cancel()
            return
