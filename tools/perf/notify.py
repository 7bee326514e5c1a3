"""Notification delivery rate and latency, against a running server::

    python tools/perf/notify.py --url http://127.0.0.1:8888 \\
        --messages 2000 --subscribers 1

Starts a webhook receiver on loopback, subscribes it (``--subscribers``
times, under different paths) to a fresh queue, posts ``--messages``
messages one per request from ``--producers`` threads, and reports the
post rate, the delivery rate (first post to last delivery) and the
latency from post to delivery (p50/p99).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import statistics
import sys
import time
import uuid
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from zaqar_testing.receivers import Receiver  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--url', default='http://127.0.0.1:8888')
    parser.add_argument('--messages', type=int, default=2000)
    parser.add_argument('--subscribers', type=int, default=1)
    parser.add_argument('--producers', type=int, default=8)
    args = parser.parse_args()
    headers = {'Client-ID': str(uuid.uuid4()),
               'X-Project-Id': uuid.uuid4().hex}
    queue = f'{args.url}/v2/queues/notify-bench'
    with Receiver() as hook:
        for n in range(args.subscribers):
            resp = requests.post(f'{queue}/subscriptions', headers=headers,
                                 json={'subscriber': f'{hook.url}/{n}'},
                                 timeout=10)
            resp.raise_for_status()
        session = requests.Session()
        session.headers.update(headers)

        def post(n: int) -> None:
            resp = session.post(f'{queue}/messages', timeout=30, json={
                'messages': [{'body': {'n': n, 'at': time.time()}}]})
            resp.raise_for_status()

        start = time.time()
        with concurrent.futures.ThreadPoolExecutor(args.producers) as pool:
            list(pool.map(post, range(args.messages)))
        posted = time.time() - start
        total = args.messages * args.subscribers
        hook.wait_count(total, timeout=600)
        done = time.time() - start
        arrived = hook.delivered[:total]
    latencies = sorted(
        (r.at - json.loads(r.body)['body']['at']) * 1000 for r in arrived)
    print(f'posted {args.messages} messages in {posted:.1f} s '
          f'({args.messages / posted:.0f}/s)')
    print(f'delivered {total} notifications in {done:.1f} s '
          f'({total / done:.0f}/s)')
    print(f'post to delivery: p50 {statistics.median(latencies):.1f} ms, '
          f'p99 {latencies[int(len(latencies) * 0.99) - 1]:.1f} ms')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
