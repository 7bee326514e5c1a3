"""Long polling across server processes: how soon a consumer waiting on one
``zaqar-server`` gets a message posted through another on the same store::

    python tools/perf/long_polling.py --targets redis,sqlite,postgresql \\
        --waiters 1,50 --rounds 20

For each target, two servers (``--workers`` processes each) share one
store. ``--waiters`` consumers wait at once on the first (a claim with
``wait``, each on a queue of its own); a producer then posts one message
to each of their queues through the second, one after the other. The
delay of a waiter is from the post's answer to the claim's answer. Each
round starts its waiters again.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests
from compare import Targets
from compare import pg_database
from compare import redis_server

HEADERS = {'X-Project-Id': 'lp', 'Content-Type': 'application/json'}


def stores(targets: Targets, name: str, args: argparse.Namespace,
           stack: contextlib.ExitStack) -> dict[str, dict]:
    if name == 'redis':
        return targets.redis_store(1)
    if name == 'sqlite':
        uri = f'sqlite:///{targets.work / "lp.sqlite"}'
    elif name == 'postgresql':
        uri = stack.enter_context(pg_database(args.pg_dsn))
    else:
        raise SystemExit(f'unknown target {name}')
    return {'drivers:message_store:sqlalchemy': {'uri': uri},
            'drivers:management_store:sqlalchemy': {'uri': uri}}


def one_round(consumer: str, producer: str, waiters: int) -> list[float]:
    session = requests.Session()
    headers = dict(HEADERS, **{'Client-ID': str(uuid.uuid4())})
    queues = [f'q{uuid.uuid4().hex[:12]}' for _ in range(waiters)]
    answered: dict[str, float] = {}
    failures: list[str] = []

    def wait(queue: str) -> None:
        response = requests.post(
            f'{consumer}/v2/queues/{queue}/claims?wait=20', headers=headers,
            json={'ttl': 60, 'grace': 60}, timeout=60)
        answered[queue] = time.monotonic()
        if response.status_code != 201:
            failures.append(f'{queue}: {response.status_code}')
    threads = [threading.Thread(target=wait, args=(q,)) for q in queues]
    for thread in threads:
        thread.start()
    # Every waiter in place, and every process told that some wait.
    time.sleep(1.5)
    posted: dict[str, float] = {}
    for queue in queues:
        response = session.post(f'{producer}/v2/queues/{queue}/messages',
                                headers=headers, json={'messages': [
                                    {'body': queue, 'ttl': 300}]},
                                timeout=30)
        posted[queue] = time.monotonic()
        response.raise_for_status()
    for thread in threads:
        thread.join(60)
    if failures:
        raise SystemExit(f'waiters failed: {failures[:5]}')
    return [max(0.0, answered[q] - posted[q]) for q in queues]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--targets', default='redis,sqlite,postgresql')
    parser.add_argument('--pg-dsn',
                        default='postgresql://postgres@127.0.0.1:5432/test')
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--waiters', default='1,50',
                        help='Comma-separated: consumers waiting at once.')
    parser.add_argument('--rounds', type=int, default=20)
    parser.add_argument('--json-out')
    args = parser.parse_args(argv)
    results: dict[str, dict[str, dict[str, float]]] = {}
    for name in args.targets.split(','):
        with tempfile.TemporaryDirectory(prefix='zaqar-lp-') as tmp, \
                contextlib.ExitStack() as stack:
            work = Path(tmp)
            port = stack.enter_context(redis_server(work))
            targets = Targets(work, args.workers, stack, port)
            store = stores(targets, name, args, stack)
            for side in ('consumer', 'producer'):
                targets.serve(side, store)
            results[name] = {}
            for count in map(int, args.waiters.split(',')):
                delays: list[float] = []
                for _ in range(args.rounds):
                    delays += one_round(targets.urls['consumer'],
                                        targets.urls['producer'], count)
                ms = [d * 1000 for d in delays]
                results[name][str(count)] = {
                    'samples': len(ms),
                    'p50_ms': round(statistics.median(ms), 1),
                    'p99_ms': round(percentile(ms, 0.99), 1),
                    'max_ms': round(max(ms), 1)}
                print(f'{name:<11} waiters={count:<4} '
                      f'{json.dumps(results[name][str(count)])}',
                      file=sys.stderr, flush=True)
    print(json.dumps(results, indent=1))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(
            {'args': vars(args), 'results': results}, indent=1))
    return 0


if __name__ == '__main__':
    sys.exit(main())
