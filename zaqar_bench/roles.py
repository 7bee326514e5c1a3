"""The producer, consumer and observer loops.

Each loop is one worker: one connection, one queue, one request at a
time, until the clock says stop. With ``--pipeline N`` (WebSocket only)
a worker's connection is shared by N such loops, so up to N requests are
in flight on it. A request is timed from just before its bytes are written
to just after its response is parsed. Responses are recorded as they
come; a request cancelled at the end of the run is not recorded at all.

The loops talk through ``api.Api`` and its connection: they do not know
the transport.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from collections.abc import Callable
from typing import Any

from zaqar_bench import stats as stats_mod
from zaqar_bench.api import Api
from zaqar_bench.api import Connection
from zaqar_bench.api import Response
from zaqar_bench.config import BenchConfig
from zaqar_bench.http import ProtocolError
from zaqar_bench.stats import OpStats

# Operations of each role; the last one moves the role's messages
# (consumed means deleted, not merely claimed).
ROLE_OPS: dict[str, tuple[str, ...]] = {
    'producer': ('post',),
    'consumer': ('claim', 'delete'),
    'observer': ('list',),
}

# After a failure without a response, so a refused port is not spun on.
ERROR_PAUSE = 0.05

_now = time.perf_counter


class Clock:
    """The timed window of one process, on ``time.perf_counter``."""

    def __init__(self, duration: float) -> None:
        self.start = _now()
        self.deadline = self.start + duration
        # When the last request was recorded: ends the measured window.
        self.last = self.start

    def running(self) -> bool:
        return _now() < self.deadline

    def stop(self) -> None:
        self.deadline = min(self.deadline, _now())


async def send(conn: Connection, data: Any, stats: OpStats,
               clock: Clock) -> tuple[Response, float] | None:
    """(response, seconds), or None after recording a failure."""
    started = _now()
    try:
        response = await conn.request(data)
    except TimeoutError:
        kind = stats_mod.TIMEOUT_ERROR
    except ProtocolError:
        kind = stats_mod.PROTOCOL_ERROR
    except OSError:
        kind = stats_mod.CONNECTION_ERROR
    else:
        clock.last = done = _now()
        return response, done - started
    clock.last = _now()
    stats.record_failure(kind)
    conn.close()
    await asyncio.sleep(ERROR_PAUSE)
    return None


async def producer(conn: Connection, api: Api, queue: str,
                   config: BenchConfig, ops: dict[str, OpStats],
                   clock: Clock) -> None:
    """Post batches of ``config.batch`` messages."""
    post = api.post_messages(queue, config.batch, config.ttl,
                             config.message_size)
    stats = ops['post']
    batch = config.batch
    while clock.running():
        sent = await send(conn, post, stats, clock)
        if sent is not None:
            # A 2xx post stored the whole batch; no need to parse it.
            stats.record(sent[0].status, sent[1], batch)


async def consumer(conn: Connection, api: Api, queue: str,
                   config: BenchConfig, ops: dict[str, OpStats],
                   clock: Clock) -> None:
    """Claim up to ``config.batch`` messages, then delete each one."""
    claim = api.claim(queue, config.batch, config.claim_ttl,
                      config.claim_grace)
    claims = ops['claim']
    deletes = ops['delete']
    while clock.running():
        sent = await send(conn, claim, claims, clock)
        if sent is None:
            continue
        response, seconds = sent
        todo: list[Any] = []
        if response.status == 201:
            try:
                todo = api.deletes(response, queue)
            except (ValueError, KeyError, TypeError, AttributeError,
                    ProtocolError):
                claims.record_failure(stats_mod.PROTOCOL_ERROR)
                continue
        # 204 is an empty queue: a success with no messages; keep polling.
        claims.record(response.status, seconds, len(todo))
        for delete in todo:
            if not clock.running():
                # Left claimed: the claim expires on the server.
                break
            sent = await send(conn, delete, deletes, clock)
            if sent is not None:
                deletes.record(sent[0].status, sent[1], 1)


async def observer(conn: Connection, api: Api, queue: str,
                   config: BenchConfig, ops: dict[str, OpStats],
                   clock: Clock) -> None:
    """Page through the queue, following ``next`` to an empty page, then
    start again from the first page (over WebSocket, which has no paging
    markers, every list is of the first page)."""
    first = api.list_messages(queue, config.batch)
    stats = ops['list']
    page = first
    while clock.running():
        sent = await send(conn, page, stats, clock)
        page = first
        if sent is None:
            continue
        response, seconds = sent
        count = 0
        if response.status == 200:
            try:
                count, following = api.page(response)
            except (ValueError, KeyError, TypeError, AttributeError,
                    ProtocolError):
                stats.record_failure(stats_mod.PROTOCOL_ERROR)
                continue
            if following is not None:
                page = following
        stats.record(response.status, seconds, count)


RoleLoop = Callable[[Connection, Api, str, BenchConfig,
                     dict[str, OpStats], Clock], Awaitable[None]]

ROLE_LOOPS: dict[str, RoleLoop] = {
    'producer': producer,
    'consumer': consumer,
    'observer': observer,
}
