"""Requests per second and server CPU per request of a running server,
for comparing its serving settings (threads, long polling's reserve, the
interface to granian) one against another::

    zaqar-server --config-file zaqar.conf &
    python tools/perf/serving.py --url http://127.0.0.1:8888 \\
        --pids $(pgrep -d, -f zaqar-server) --connections 16 --time 6

Each of ``--connections`` keep-alive connections posts one message, waits
for the answer and posts again; after a second of warm-up it counts the
answers for ``--time`` seconds and reads the CPU (user and system) that
the processes ``--pids`` and all their threads spent meanwhile, each
process apart (a worker left idle shows). One line per round.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from zaqar_bench import http  # noqa: E402

CLIENT_ID = '3b7a8c0e-1111-4bb5-9a3c-7a0f1e2d3c4b'
BODY = json.dumps({'messages': [{'ttl': 300, 'body': {
    'event': 'bench', 'padding': 'x' * 200}}]}).encode()


def cpu_seconds(pid: int) -> float:
    """CPU time of every thread of process ``pid``."""
    ticks = 0
    for tid in os.listdir(f'/proc/{pid}/task'):
        with open(f'/proc/{pid}/task/{tid}/stat') as stat:
            fields = stat.read().rsplit(')', 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf('SC_CLK_TCK')


async def round_(url: str, connections: int, seconds: float,
                 pids: list[int]) -> str:
    endpoint = http.Endpoint.from_url(url)
    request = http.encode_request(
        'POST', '/v2/queues/serving/messages', http.encode_headers({
            'Host': endpoint.host_header, 'X-Project-Id': 'serving',
            'Client-Id': CLIENT_ID, 'Content-Type': 'application/json'}),
        BODY)
    answered = 0
    running = True

    async def connection() -> None:
        nonlocal answered
        conn = http.Connection(endpoint)
        await conn.open()
        try:
            while running:
                response = await conn.request(request)
                if response.status != 201:
                    raise SystemExit(f'answered {response.status}: '
                                     f'{response.body[:200]!r}')
                answered += 1
        finally:
            conn.close()

    tasks = [asyncio.create_task(connection()) for _ in range(connections)]
    await asyncio.sleep(1)
    cpu0 = [cpu_seconds(pid) for pid in pids]
    count0, start = answered, time.monotonic()
    await asyncio.sleep(seconds)
    cpu1 = [cpu_seconds(pid) for pid in pids]
    count, elapsed = answered - count0, time.monotonic() - start
    running = False
    await asyncio.gather(*tasks)
    used = [b - a for a, b in zip(cpu0, cpu1, strict=True)]
    each = ', '.join(f'{u:.1f}' for u in used)
    return (f'{count / elapsed:8,.0f} req/s  {1e6 * sum(used) / count:5.0f}'
            f' µs server CPU/req  (CPU s by process: {each})')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--url', default='http://127.0.0.1:8888')
    parser.add_argument('--pids', required=True,
                        help='comma-separated pids of the server processes')
    parser.add_argument('--connections', type=int, default=16)
    parser.add_argument('--time', type=float, default=6)
    parser.add_argument('--rounds', type=int, default=2)
    args = parser.parse_args(argv)
    pids = [int(pid) for pid in args.pids.split(',')]
    for _ in range(args.rounds):
        print(asyncio.run(round_(args.url, args.connections, args.time,
                                 pids)), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
