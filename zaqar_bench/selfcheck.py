"""How much the bench itself costs: runs against a trivial server.

``python -m zaqar_bench.selfcheck`` (or ``zaqar-bench --self-check``)
starts a server that answers every request with the same small 201, then

1. runs the bench's producers against it, and reports the bench's CPU
   time per request (process CPU time / requests) and its request rate;
2. runs ``wrk`` (when installed) with the same connection count, request
   and body against the same server, and reports its rate and CPU time
   per request.

The server does almost nothing per request, so whichever side runs out of
CPU first sets the rate: close to wrk's rate means the bench can drive a
server at least as fast as a C load generator can, on this machine. The
CPU time per request is what the bench takes from a real server sharing
the machine: compare it with that server's own CPU time per request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

from zaqar_bench import runner
from zaqar_bench.api import Api
from zaqar_bench.config import BenchConfig
from zaqar_bench.config import RoleSpec
from zaqar_bench.http import Endpoint

_BODY = b'{"resources": ["/v2/queues/bench-0/messages/1"]}'
RESPONSE = (b'HTTP/1.1 201 Created\r\n'
            b'Content-Type: application/json\r\n'
            b'Location: /v2/queues/bench-0/messages?ids=1\r\n'
            b'Content-Length: %d\r\n\r\n' % len(_BODY)) + _BODY


class _ConstantProtocol(asyncio.Protocol):
    """Answers each request (head plus Content-Length body) with RESPONSE."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        answers = 0
        while True:
            end = buf.find(b'\r\n\r\n')
            if end < 0:
                break
            head = bytes(buf[:end]).lower()
            at = head.find(b'\r\ncontent-length:')
            length = 0
            if at >= 0:
                stop = head.find(b'\r\n', at + 17)
                length = int(head[at + 17:stop if stop > 0 else len(head)])
            if len(buf) < end + 4 + length:
                break
            del buf[:end + 4 + length]
            answers += 1
        if answers:
            assert self.transport is not None
            self.transport.write(RESPONSE * answers)


def serve(host: str, port: int) -> None:
    """Run the trivial server on ``host:port`` until killed."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            _ConstantProtocol, host, port, reuse_port=True, backlog=1024)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _process_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) of a process, from /proc if present."""
    try:
        with open(f'/proc/{pid}/stat') as fh:
            fields = fh.read().rsplit(')', 1)[1].split()
    except OSError:
        return None
    ticks = os.sysconf('SC_CLK_TCK')
    # utime and stime are fields 14 and 15 of the whole line.
    return (int(fields[11]) + int(fields[12])) / ticks


class TrivialServer:
    """The constant responder in ``processes`` processes on one port."""

    def __init__(self, processes: int = 1, host: str = '127.0.0.1') -> None:
        self.host = host
        self.port = _free_port(host)
        ctx = multiprocessing.get_context('spawn')
        self.procs = [ctx.Process(target=serve, args=(host, self.port),
                                  daemon=True) for _ in range(processes)]

    @property
    def url(self) -> str:
        return f'http://{self.host}:{self.port}'

    def __enter__(self) -> TrivialServer:
        for proc in self.procs:
            proc.start()
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection((self.host, self.port), 1).close()
                return self
            except OSError:
                dead = not all(p.is_alive() for p in self.procs)
                if dead or time.monotonic() > deadline:
                    self.__exit__()
                    raise
                time.sleep(0.05)

    def __exit__(self, *exc_info: Any) -> None:
        for proc in self.procs:
            proc.kill()
            proc.join()

    def cpu(self) -> float | None:
        values = [_process_cpu(p.pid) for p in self.procs if p.pid]
        return None if None in values else sum(values)  # type: ignore


def measure_bench(server: TrivialServer, config: BenchConfig
                  ) -> dict[str, Any]:
    """The bench's producers against the trivial server."""
    server_cpu = server.cpu()
    result = runner.run(config)
    server_cpu = _delta(server_cpu, server.cpu())
    post = result.ops['post']
    return {
        'requests': post.requests,
        'errors': post.error_count,
        'seconds': round(result.duration, 3),
        'requests_per_s': round(post.requests / result.duration, 1),
        'cpu_s': round(result.cpu_seconds, 3),
        'cpu_us_per_request': round(
            result.cpu_seconds / max(post.requests, 1) * 1e6, 2),
        'p50_ms': round(post.latency.percentile(0.5) * 1000, 3),
        'p99_ms': round(post.latency.percentile(0.99) * 1000, 3),
        'server_cpu_cores': _per_second(server_cpu, result.duration),
    }


def _wrk_script(config: BenchConfig) -> str:
    api = Api(Endpoint.from_url(config.url), config.project)
    request = api.post_messages(f'{config.queue_prefix}-0', config.batch,
                                config.ttl, config.message_size)
    head, body = request.split(b'\r\n\r\n', 1)
    lines = ['wrk.method = "POST"',
             f'wrk.body = [==[{body.decode()}]==]']
    for line in head.decode().split('\r\n')[1:]:
        name, value = line.split(': ', 1)
        if name.lower() not in ('host', 'content-length'):
            lines.append(f'wrk.headers["{name}"] = "{value}"')
    return '\n'.join(lines) + '\n'


def measure_wrk(server: TrivialServer, config: BenchConfig,
                connections: int) -> dict[str, Any] | None:
    """wrk, one thread, same connections, request and duration."""
    wrk = shutil.which('wrk')
    if wrk is None:
        return None
    # wrk takes whole seconds only.
    seconds = max(1, round(config.duration))
    with tempfile.NamedTemporaryFile('w', suffix='.lua') as script:
        script.write(_wrk_script(config))
        script.flush()
        target = f'{server.url}/v2/queues/{config.queue_prefix}-0/messages'
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        server_cpu = server.cpu()
        out = subprocess.run(
            [wrk, '-t1', f'-c{connections}', f'-d{seconds}s',
             '-s', script.name, target],
            capture_output=True, text=True, check=True,
            timeout=seconds + 30).stdout
        server_cpu = _delta(server_cpu, server.cpu())
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    rate = float(re.search(r'Requests/sec:\s+([\d.]+)', out).group(1))
    count = int(re.search(r'(\d+) requests in', out).group(1))
    cpu = (after.ru_utime - before.ru_utime
           + after.ru_stime - before.ru_stime)
    return {
        'requests': count,
        'requests_per_s': rate,
        'cpu_s': round(cpu, 3),
        'cpu_us_per_request': round(cpu / max(count, 1) * 1e6, 2),
        'seconds': seconds,
        'server_cpu_cores': _per_second(server_cpu, seconds),
    }


def _delta(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else after - before


def _per_second(cpu: float | None, seconds: float) -> float | None:
    return None if cpu is None else round(cpu / seconds, 2)


def self_check(duration: float = 3.0, connections: int = 8,
               batch: int = 10, message_size: int = 1024,
               server_processes: int = 1, use_wrk: bool = True,
               rounds: int = 3) -> dict[str, Any]:
    """Both measurements against one trivial server, ``rounds`` times
    alternating; see the module doc.

    Returns:
        The settings, every round, and per tool the median of each number
        over the rounds (``bench``, ``wrk``; ``wrk`` is None when it is
        not installed or not wanted).
    """
    runs = []
    with TrivialServer(server_processes) as server:
        config = BenchConfig(
            url=server.url, duration=duration, batch=batch,
            message_size=message_size, queues=1,
            roles={'producer': RoleSpec(1, connections)})
        for _ in range(rounds):
            bench = measure_bench(server, config)
            wrk = measure_wrk(server, config, connections) if use_wrk \
                else None
            ratio = (round(bench['requests_per_s'] / wrk['requests_per_s'],
                           3) if wrk and wrk['requests_per_s'] else None)
            runs.append({'bench': bench, 'wrk': wrk, 'bench_vs_wrk': ratio})
    ratios = [r['bench_vs_wrk'] for r in runs if r['bench_vs_wrk']]
    return {'connections': connections, 'batch': batch,
            'message_size': message_size, 'seconds': duration,
            'server_processes': server_processes, 'cpus': os.cpu_count(),
            'rounds': runs,
            'bench': _medians([r['bench'] for r in runs]),
            'wrk': _medians([r['wrk'] for r in runs if r['wrk']]),
            'bench_vs_wrk': statistics.median(ratios) if ratios else None}


def _medians(measures: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Each number's median over the rounds (a shared machine is noisy)."""
    if not measures:
        return None
    return {key: statistics.median(values) if values else None
            for key in measures[0]
            for values in [[m[key] for m in measures
                            if m[key] is not None]]}


def _describe(check: dict[str, Any]) -> str:
    bench, wrk = check['bench'], check['wrk']
    lines = [
        f"self-check: trivial 201 server ({check['server_processes']} "
        f"process), {check['connections']} connections, POST of "
        f"{check['batch']} x {check['message_size']} B messages, "
        f"{len(check['rounds'])} rounds of {check['seconds']:g} s, "
        f"{check['cpus']} CPUs; medians:",
        f"  zaqar-bench: {bench['requests_per_s']:>10,.0f} req/s   "
        f"{bench['cpu_us_per_request']:6.1f} us CPU/request   "
        f"p50 {bench['p50_ms']:.2f} ms  p99 {bench['p99_ms']:.2f} ms   "
        f"server {bench['server_cpu_cores']} cores"]
    if wrk is None:
        lines.append('  wrk: not run (install it with apt-get install wrk)')
    else:
        lines.append(
            f"  wrk:         {wrk['requests_per_s']:>10,.0f} req/s   "
            f"{wrk['cpu_us_per_request']:6.1f} us CPU/request   "
            f"server {wrk['server_cpu_cores']} cores")
        each = ', '.join(f"{r['bench_vs_wrk']:.0%}" for r in check['rounds'])
        lines.append(f"  zaqar-bench reaches {check['bench_vs_wrk']:.0%} "
                     f"of wrk's rate (rounds: {each})")
    return '\n'.join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog='zaqar-bench --self-check',
        description="Measure zaqar-bench's own cost per request, and its "
                    'top rate against wrk, on a trivial local server.')
    parser.add_argument('--time', type=float, default=3.0,
                        help='seconds per measurement (default %(default)s)')
    parser.add_argument('--connections', type=int, default=8,
                        help='connections for both tools (default '
                             '%(default)s)')
    parser.add_argument('--batch', type=int, default=10)
    parser.add_argument('--message-size', type=int, default=1024)
    parser.add_argument('--server-processes', type=int, default=1)
    parser.add_argument('--rounds', type=int, default=3,
                        help='alternating measurements; medians are '
                             'reported (default %(default)s)')
    parser.add_argument('--no-wrk', action='store_true')
    parser.add_argument('--json', action='store_true',
                        help='one JSON line instead of text')
    args = parser.parse_args(argv)
    check = self_check(args.time, args.connections, args.batch,
                       args.message_size, args.server_processes,
                       not args.no_wrk, args.rounds)
    if args.json:
        print(json.dumps(check, separators=(',', ':')))
    else:
        print(_describe(check))
    return 0


if __name__ == '__main__':
    sys.exit(main())
