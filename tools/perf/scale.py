"""Scale behaviour: post and claim latency on a small queue, on one queue
holding a million messages, and in a project with ten thousand queues,
per backend; and Redis memory per stored message::

    python tools/perf/scale.py --targets redis,postgresql,sqlite \\
        --messages 1000000 --queues 10000 --json-out scale.json

Each target is a ``zaqar-server`` started as in compare.py. Latency comes
from ``zaqar-bench`` runs with a light load (producers and consumers at
the same time), so it reflects the cost of each request rather than
queueing behind others.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from compare import BIN
from compare import Targets
from compare import redis_server

PROJECT = 'zaqar-scale'


def bench(url: str, prefix: str, args: argparse.Namespace, *,
          queues: int = 1, prefill: int = 0, time: float | None = None,
          project: str = PROJECT) -> dict:
    command = [str(BIN / 'zaqar-bench'), '--url', url, '--project', project,
               '--queue-prefix', prefix, '--queues', str(queues),
               '--time', str(args.time if time is None else time),
               '--batch', '10', '--message-size', str(args.message_size),
               '--ttl', '7200', '--prefill', str(prefill),
               '--prefill-connections', '8',
               '--producer-processes', '1', '--producer-workers', '2',
               '--consumer-processes', '1', '--consumer-workers', '2',
               '--observer-processes', '0', '--json', '--quiet']
    result = subprocess.run(command, capture_output=True, text=True,
                            check=False)
    if result.returncode != 0:
        raise SystemExit(f'zaqar-bench failed:\n{result.stderr[-3000:]}')
    return json.loads(result.stdout)


def latency(run: dict) -> dict:
    return {op: {'p50_ms': run['ops'][op]['latency_ms']['p50'],
                 'p99_ms': run['ops'][op]['latency_ms']['p99'],
                 'requests_per_s': run['ops'][op]['requests_per_s']}
            for op in ('post', 'claim') if op in run['ops']}


def redis_memory(port: int) -> int:
    with socket.create_connection(('127.0.0.1', port)) as sock:
        sock.sendall(b'INFO memory\r\n')
        data = b''
        while b'used_memory:' not in data or not data.endswith(b'\r\n'):
            data += sock.recv(65536)
    for line in data.decode().splitlines():
        if line.startswith('used_memory:'):
            return int(line.split(':')[1])
    raise RuntimeError('no used_memory in INFO')


def measure(name: str, url: str, args: argparse.Namespace,
            redis_port: int | None) -> dict:
    out: dict = {}
    print(f'{name}: small queue', file=sys.stderr, flush=True)
    out['small'] = latency(bench(url, 'small', args, prefill=2000))
    print(f'{name}: filling one queue with {args.messages:,} messages',
          file=sys.stderr, flush=True)
    before = redis_memory(redis_port) if redis_port else None
    fill = bench(url, 'big', args, prefill=args.messages, time=0)
    out['fill_s'] = fill.get('prefill', {}).get('seconds')
    if redis_port:
        used = redis_memory(redis_port) - before
        out['redis_bytes_per_message'] = round(used / args.messages)
    out['one_big_queue'] = latency(bench(url, 'big', args))
    print(f'{name}: {args.queues:,} queues', file=sys.stderr, flush=True)
    bench(url, 'many', args, queues=args.queues, prefill=10, time=0,
          project=PROJECT + '-many')
    out['many_queues'] = latency(bench(url, 'many', args, queues=16,
                                       project=PROJECT + '-many'))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--targets', default='redis,postgresql,sqlite')
    parser.add_argument('--pg-dsn',
                        default='postgresql://postgres@127.0.0.1:5432/test')
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--messages', type=int, default=1_000_000)
    parser.add_argument('--queues', type=int, default=10_000)
    parser.add_argument('--message-size', type=int, default=256)
    parser.add_argument('--time', type=float, default=10)
    parser.add_argument('--json-out')
    args = parser.parse_args(argv)
    results = {}
    for name in args.targets.split(','):
        # One target at a time, each on fresh storage.
        with tempfile.TemporaryDirectory(prefix='zaqar-scale-') as tmp, \
                contextlib.ExitStack() as stack:
            work = Path(tmp)
            port = stack.enter_context(redis_server(work))
            servers = Targets(work, args.workers, stack, port)
            servers.start(name, args)
            results[name] = measure(name, servers.urls[name], args,
                                    port if name == 'redis' else None)
            print(json.dumps({name: results[name]}), file=sys.stderr)
    print(json.dumps(results, indent=1))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(
            {'args': vars(args), 'results': results}, indent=1))
    return 0


if __name__ == '__main__':
    sys.exit(main())
