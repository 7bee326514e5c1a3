"""How much the bench itself costs: runs against a trivial server.

``python -m zaqar_bench.selfcheck`` (or ``zaqar-bench --self-check``)
starts a server that answers every request with the same small 201, then

1. runs the bench's producers against it, and reports the bench's CPU
   time per request (process CPU time / requests) and its request rate;
2. runs ``wrk`` (when installed) with the same connection count, request
   and body against the same server, and reports its rate and CPU time
   per request.

With ``--transport ws`` the server is a WebSocket one written with the
``websockets`` library, answering each request with a 201 reply that
echoes the request as Zaqar does (so the bench reads replies as large as
real ones). wrk does not speak WebSocket; the reference instead is the
``websockets`` library's own client sending the same frames over the same
number of connections, one at a time on each (``websockets_client``).
Both report CPU time per request; the rate is usually the server's
(pure Python), so compare the CPU, not the rates.

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
from zaqar_bench.api import HttpApi
from zaqar_bench.api import WsApi
from zaqar_bench.api import make_api
from zaqar_bench.config import TRANSPORTS
from zaqar_bench.config import WS_ENCODINGS
from zaqar_bench.config import BenchConfig
from zaqar_bench.config import RoleSpec
from zaqar_bench.http import Endpoint
from zaqar_testing.ports import free_port

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


WS_REPLY_BODY = {'message_ids': ['1']}


def ws_reply(request: str | bytes) -> str | bytes:
    """The trivial WebSocket reply to ``request``: a 201 echoing it (built
    by concatenation: the server does not decode the request)."""
    if isinstance(request, str):
        return ('{"request": ' + request + ', "body": {"message_ids": '
                '["1"]}, "headers": {"status": 201}}')
    import msgpack
    # A map of three: the request (already MessagePack), body, headers.
    return (b'\x83' + msgpack.packb('request') + request
            + msgpack.packb('body') + msgpack.packb(WS_REPLY_BODY)
            + msgpack.packb('headers') + msgpack.packb({'status': 201}))


def serve_ws(host: str, port: int) -> None:
    """Run the trivial WebSocket server on ``host:port`` until killed."""
    from websockets.asyncio.server import serve as ws_serve

    async def answer(connection: Any) -> None:
        async for request in connection:
            await connection.send(ws_reply(request))

    async def main() -> None:
        async with ws_serve(answer, host, port, reuse_port=True,
                            compression=None, max_size=None,
                            ping_interval=None) as server:
            await server.serve_forever()

    asyncio.run(main())


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
    """The constant responder in ``processes`` processes on one port:
    HTTP, or WebSocket when ``transport`` is ``ws``."""

    def __init__(self, processes: int = 1, host: str = '127.0.0.1',
                 transport: str = 'http') -> None:
        self.host = host
        self.port = free_port(host=host)
        self.transport = transport
        target = serve_ws if transport == 'ws' else serve
        ctx = multiprocessing.get_context('spawn')
        self.procs = [ctx.Process(target=target, args=(host, self.port),
                                  daemon=True) for _ in range(processes)]

    @property
    def url(self) -> str:
        scheme = 'ws' if self.transport == 'ws' else 'http'
        return f'{scheme}://{self.host}:{self.port}'

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
    api = HttpApi(Endpoint.from_url(config.url), config.project)
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


def _websockets_client(url: str, payload: bytes, binary: bool,
                       connections: int, seconds: float,
                       channel: Any) -> None:
    """In its own process: the ``websockets`` library's client sending
    ``payload`` on ``connections`` connections, one request at a time on
    each, for ``seconds``; puts (requests, CPU seconds) on ``channel``."""
    from websockets.asyncio.client import connect

    message: str | bytes = payload if binary else payload.decode()

    async def loop(deadline: float, counts: list[int]) -> None:
        async with connect(url, compression=None, max_size=None,
                           ping_interval=None) as ws:
            while time.perf_counter() < deadline:
                await ws.send(message)
                # Reads the status as a client must (the library decodes
                # the text frame to str; the bench does not).
                reply = await ws.recv()
                if binary:
                    import msgpack
                    msgpack.unpackb(reply)
                else:
                    json.loads(reply)
                counts.append(1)

    async def main() -> tuple[int, float]:
        counts: list[int] = []
        start = time.process_time()
        deadline = time.perf_counter() + seconds
        await asyncio.gather(*(loop(deadline, counts)
                               for _ in range(connections)))
        return len(counts), time.process_time() - start

    channel.put(asyncio.run(main()))


def measure_websockets_client(server: TrivialServer, config: BenchConfig,
                              connections: int) -> dict[str, Any] | None:
    """The reference for ``ws``: the websockets library's client, same
    connections, request and duration, in a process of its own."""
    try:
        import websockets  # noqa: F401
    except ImportError:
        return None
    api = make_api(config)
    assert isinstance(api, WsApi)
    request = api.post_messages(f'{config.queue_prefix}-0', config.batch,
                                config.ttl, config.message_size)
    ctx = multiprocessing.get_context('spawn')
    channel = ctx.Queue()
    server_cpu = server.cpu()
    proc = ctx.Process(target=_websockets_client, args=(
        config.ws_url, request.payload, api.binary, connections,
        config.duration, channel), daemon=True)
    started = time.perf_counter()
    proc.start()
    count, cpu = channel.get(timeout=config.duration + 60)
    proc.join()
    seconds = time.perf_counter() - started
    server_cpu = _delta(server_cpu, server.cpu())
    return {
        'requests': count,
        # Over its timed loops (the process start is not counted).
        'requests_per_s': round(count / config.duration, 1),
        'cpu_s': round(cpu, 3),
        'cpu_us_per_request': round(cpu / max(count, 1) * 1e6, 2),
        'seconds': config.duration,
        'server_cpu_cores': _per_second(server_cpu, seconds),
    }


def _delta(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else after - before


def _per_second(cpu: float | None, seconds: float) -> float | None:
    return None if cpu is None else round(cpu / seconds, 2)


def self_check(duration: float = 3.0, connections: int = 8,
               batch: int = 10, message_size: int = 1024,
               server_processes: int = 1, use_wrk: bool = True,
               rounds: int = 3, transport: str = 'http',
               ws_encoding: str = 'json',
               pipeline: int = 1) -> dict[str, Any]:
    """Both measurements against one trivial server, ``rounds`` times
    alternating; see the module doc.

    Args:
        use_wrk: run the reference tool (wrk for http, the websockets
            client for ws).

    Returns:
        The settings, every round, and per tool the median of each number
        over the rounds (``bench``, ``wrk``; ``wrk`` is None when it is
        not installed or not wanted; for ws ``wrk`` is always None and
        ``websockets_client`` takes its place, ``bench_vs_reference``
        compares CPU per request).
    """
    runs = []
    ws = transport == 'ws'
    with TrivialServer(server_processes, transport=transport) as server:
        config = BenchConfig(
            duration=duration, batch=batch,
            message_size=message_size, queues=1, transport=transport,
            ws_encoding=ws_encoding, pipeline=pipeline,
            roles={'producer': RoleSpec(1, connections)},
            **({'ws_url': server.url} if ws else {'url': server.url}))
        for _ in range(rounds):
            bench = measure_bench(server, config)
            wrk = measure_wrk(server, config, connections) \
                if use_wrk and not ws else None
            ratio = (round(bench['requests_per_s'] / wrk['requests_per_s'],
                           3) if wrk and wrk['requests_per_s'] else None)
            row = {'bench': bench, 'wrk': wrk, 'bench_vs_wrk': ratio}
            if ws:
                ref = (measure_websockets_client(server, config, connections)
                       if use_wrk else None)
                row['websockets_client'] = ref
                # < 1: the bench spends less CPU per request.
                row['cpu_vs_reference'] = round(
                    bench['cpu_us_per_request'] / ref['cpu_us_per_request'],
                    3) if ref and ref['cpu_us_per_request'] else None
            runs.append(row)
    ratios = [r['bench_vs_wrk'] for r in runs if r['bench_vs_wrk']]
    check = {'transport': transport, 'connections': connections,
             'batch': batch, 'message_size': message_size,
             'seconds': duration, 'server_processes': server_processes,
             'cpus': os.cpu_count(), 'rounds': runs,
             'bench': _medians([r['bench'] for r in runs]),
             'wrk': _medians([r['wrk'] for r in runs if r['wrk']]),
             'bench_vs_wrk': statistics.median(ratios) if ratios else None}
    if ws:
        cpu_ratios = [r['cpu_vs_reference'] for r in runs
                      if r['cpu_vs_reference']]
        check.update(
            ws_encoding=ws_encoding, pipeline=pipeline,
            websockets_client=_medians([r['websockets_client'] for r in runs
                                        if r['websockets_client']]),
            cpu_vs_reference=statistics.median(cpu_ratios)
            if cpu_ratios else None)
    return check


def _medians(measures: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Each number's median over the rounds (a shared machine is noisy)."""
    if not measures:
        return None
    return {key: statistics.median(values) if values else None
            for key in measures[0]
            for values in [[m[key] for m in measures
                            if m[key] is not None]]}


def _cores(value: float | None) -> str:
    return 'n/a' if value is None else f'{value:.2f}'


def _describe(check: dict[str, Any]) -> str:
    bench, wrk = check['bench'], check['wrk']
    ws = check['transport'] == 'ws'
    if ws:
        what = (f"trivial WebSocket 201 server (websockets library, "
                f"{check['server_processes']} process), "
                f"{check['connections']} connections"
                + (f" x pipeline {check['pipeline']}"
                   if check['pipeline'] > 1 else '')
                + f", {check['ws_encoding']} message_post of")
    else:
        what = (f"trivial 201 server ({check['server_processes']} "
                f"process), {check['connections']} connections, POST of")
    lines = [
        f"self-check: {what} "
        f"{check['batch']} x {check['message_size']} B messages, "
        f"{len(check['rounds'])} rounds of {check['seconds']:g} s, "
        f"{check['cpus']} CPUs; medians:",
        f"  zaqar-bench: {bench['requests_per_s']:>10,.0f} req/s   "
        f"{bench['cpu_us_per_request']:6.1f} us CPU/request   "
        f"p50 {bench['p50_ms']:.2f} ms  p99 {bench['p99_ms']:.2f} ms   "
        f"server {_cores(bench['server_cpu_cores'])} cores"]
    if ws:
        ref = check['websockets_client']
        if ref is None:
            lines.append('  websockets client: not run')
        else:
            lines.append(
                f"  websockets:  {ref['requests_per_s']:>10,.0f} req/s   "
                f"{ref['cpu_us_per_request']:6.1f} us CPU/request   "
                f"server {_cores(ref['server_cpu_cores'])} cores")
            each = ', '.join(f"{r['cpu_vs_reference']:.0%}"
                             for r in check['rounds'])
            lines.append(f"  zaqar-bench spends "
                         f"{check['cpu_vs_reference']:.0%} of the "
                         "websockets client's CPU per request "
                         f"(rounds: {each}); wrk does not speak WebSocket")
    elif wrk is None:
        lines.append('  wrk: not run (install it with apt-get install wrk)')
    else:
        lines.append(
            f"  wrk:         {wrk['requests_per_s']:>10,.0f} req/s   "
            f"{wrk['cpu_us_per_request']:6.1f} us CPU/request   "
            f"server {_cores(wrk['server_cpu_cores'])} cores")
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
    parser.add_argument('--no-wrk', action='store_true',
                        help='skip the reference tool (wrk, or the '
                             'websockets client for ws)')
    parser.add_argument('--transport', choices=TRANSPORTS, default='http',
                        help='http: against wrk; ws: a WebSocket server, '
                             "against the websockets library's client "
                             '(default %(default)s)')
    parser.add_argument('--ws-encoding', choices=WS_ENCODINGS,
                        default='json')
    parser.add_argument('--pipeline', type=int, default=1,
                        help='requests in flight per connection, ws only '
                             '(the reference client sends one at a time)')
    parser.add_argument('--json', action='store_true',
                        help='one JSON line instead of text')
    args = parser.parse_args(argv)
    if args.pipeline < 1 or (args.pipeline > 1 and args.transport != 'ws'):
        parser.error('--pipeline must be 1, or more with --transport ws')
    check = self_check(args.time, args.connections, args.batch,
                       args.message_size, args.server_processes,
                       not args.no_wrk, args.rounds, args.transport,
                       args.ws_encoding, args.pipeline)
    if args.json:
        print(json.dumps(check, separators=(',', ':')))
    else:
        print(_describe(check))
    return 0


if __name__ == '__main__':
    sys.exit(main())
