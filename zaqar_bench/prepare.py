"""Everything before the timed run: reach the server, create the queues,
post the backlog.

All of it runs in the parent, in one event loop, before any worker process
starts, so none of it is timed or counted in the results. It goes over
the run's transport: with ``--transport ws`` the queues are created and
filled over WebSocket too, so a server with only a WebSocket endpoint can
be benchmarked.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from zaqar_bench.api import Api
from zaqar_bench.api import Connection
from zaqar_bench.api import make_api
from zaqar_bench.config import BenchConfig
from zaqar_bench.http import ProtocolError


class PrepareError(Exception):
    """The server cannot be benchmarked: unreachable or refusing us."""


@dataclass(frozen=True)
class PrefillResult:
    messages: int
    seconds: float


async def _call(conn: Connection, data: Any, what: str) -> Any:
    try:
        return await asyncio.wait_for(conn.request(data), 30)
    except (OSError, ProtocolError) as exc:
        raise PrepareError(f'{what}: {exc or type(exc).__name__}') from exc


def _refused(api: Api, what: str, response: Any) -> PrepareError:
    return PrepareError(f'{what}: {api.refusal(response)}')


async def prepare(config: BenchConfig,
                  on_prefill: Callable[[int, int], None] | None = None
                  ) -> PrefillResult | None:
    """Check the server answers, create the queues, then prefill them.

    Args:
        config: the run's options.
        on_prefill: called about once per second during the prefill with
            the messages posted so far and the total to post.

    Returns:
        What the prefill posted, or None when ``config.prefill`` is 0.

    Raises:
        PrepareError: unreachable, or answering with an error.
    """
    api = make_api(config)
    conn = api.connection()
    try:
        ping = api.ping()
        response = await _call(conn, ping, f'cannot reach {config.target}')
        if response.status >= 300:
            raise _refused(api, api.describe(ping), response)
        for name in config.queue_names():
            create = api.create_queue(name)
            response = await _call(conn, create, f'creating queue {name}')
            if response.status >= 300:
                raise _refused(api, api.describe(create), response)
    finally:
        await conn.wait_closed()
    if config.prefill <= 0:
        return None
    return await prefill(config, api, on_prefill)


async def prefill(config: BenchConfig, api: Api,
                  on_progress: Callable[[int, int], None] | None = None
                  ) -> PrefillResult:
    """Post ``config.prefill`` messages into every queue.

    Large batches over several connections at once, so a big backlog
    goes in as fast as the server takes it.

    Raises:
        PrepareError: a batch failed.
    """
    batches = [min(config.prefill_batch, config.prefill - done)
               for done in range(0, config.prefill, config.prefill_batch)]
    # Round-robin over the queues, so the connections spread over them.
    jobs = [(name, count) for count in batches
            for name in config.queue_names()]
    jobs.reverse()
    bodies: dict[tuple[str, int], Any] = {}
    total = config.prefill * config.queues
    posted = 0
    started = time.perf_counter()

    async def post_jobs() -> None:
        nonlocal posted
        conn = api.connection()
        try:
            while jobs:
                job = jobs.pop()
                data = bodies.get(job)
                if data is None:
                    data = bodies[job] = api.post_messages(
                        job[0], job[1], config.ttl, config.message_size)
                # No retries: a backlog must be exactly what was asked.
                what = f'prefilling {job[0]}'
                response = await _call(conn, data, what)
                if response.status >= 300:
                    raise _refused(api, what, response)
                posted += job[1]
        finally:
            await conn.wait_closed()

    async def report() -> None:
        while True:
            await asyncio.sleep(1)
            if on_progress is not None:
                on_progress(posted, total)

    reporter = asyncio.create_task(report())
    workers = max(1, min(config.prefill_connections, len(jobs)))
    try:
        await asyncio.gather(*(post_jobs() for _ in range(workers)))
    finally:
        reporter.cancel()
    return PrefillResult(messages=posted,
                         seconds=time.perf_counter() - started)
