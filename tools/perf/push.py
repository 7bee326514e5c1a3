"""Push latency across server processes: messages posted over REST to one
zaqar-server reach WebSocket connections of another.

Starts a private redis-server (or uses an SQLite file), a REST server and
a WebSocket server on the same stores, opens ``--sockets`` connections,
each subscribed to a queue of its own, then posts ``--messages`` messages
one at a time over REST, round-robin over the queues, and times each from
the post's answer to its push::

    python tools/perf/push.py --store redis --sockets 16 --messages 2000

Prints the rate posted, the pushes received and the latency percentiles
(post answered to push received, so the post's own time is not counted).
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
import websocket
from compare import BIN
from compare import process
from compare import redis_server
from compare import write_ini

from zaqar_testing.ports import free_port
from zaqar_testing.processes import Process


def wait_up(url: str, proc: Process, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not proc.alive():
            break
        with contextlib.suppress(requests.RequestException):
            requests.get(url, timeout=1)
            return
        time.sleep(0.2)
    raise SystemExit(f'{url} not up:\n{log.read_text()[-3000:]}')


def stores(args: argparse.Namespace, work: Path,
           stack: contextlib.ExitStack) -> dict[str, dict[str, object]]:
    if args.store == 'sqlite':
        uri = f'sqlite:///{work / "zaqar.sqlite"}'
        driver = 'sqlalchemy'
    else:
        port = stack.enter_context(redis_server(work))
        uri = f'redis://127.0.0.1:{port}'
        driver = 'redis'
    return {'drivers': {'message_store': driver, 'management_store': driver},
            f'drivers:message_store:{driver}': {'uri': uri},
            f'drivers:management_store:{driver}': {'uri': uri}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--store', choices=('redis', 'sqlite'),
                        default='redis')
    parser.add_argument('--sockets', type=int, default=16)
    parser.add_argument('--messages', type=int, default=2000)
    parser.add_argument('--workers', type=int, default=2)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix='zaqar-push-') as tmp, \
            contextlib.ExitStack() as stack:
        work = Path(tmp)
        base = stores(args, work, stack)
        http_port, ws_port = free_port(), free_port()
        for name, transport in (('rest', 'wsgi'), ('ws', 'websocket')):
            conf = work / f'{name}.conf'
            write_ini(conf, {
                **base,
                'DEFAULT': {'auth_strategy': '',
                            'state_path': work / f'{name}-state'},
                'drivers': {**base['drivers'], 'transport': transport},
                'drivers:transport:wsgi': {'bind': '127.0.0.1',
                                           'port': http_port,
                                           'workers': args.workers},
                'drivers:transport:websocket': {'bind': '127.0.0.1',
                                                'port': ws_port,
                                                'workers': args.workers}})
            log = work / f'{name}.log'
            proc = stack.enter_context(process(
                [str(BIN / 'zaqar-server'), '--config-file', str(conf)],
                log))
            port = http_port if name == 'rest' else ws_port
            wait_up(f'http://127.0.0.1:{port}/', proc, log)
        result = measure(args, f'http://127.0.0.1:{http_port}',
                         f'ws://127.0.0.1:{ws_port}')
    print(json.dumps(result))
    return 0


def measure(args: argparse.Namespace, http_url: str, ws_url: str) -> dict:
    project = uuid.uuid4().hex
    headers = {'Client-ID': str(uuid.uuid4()), 'X-Project-ID': project}
    queues = [f'push{i}' for i in range(args.sockets)]
    received: dict[int, float] = {}
    lock = threading.Lock()
    sockets = []
    for queue in queues:
        ws = websocket.create_connection(ws_url, timeout=30)
        ws.send(json.dumps({'action': 'subscription_create',
                            'headers': headers,
                            'body': {'queue_name': queue, 'ttl': 3600}}))
        reply = json.loads(ws.recv())
        assert reply['headers']['status'] == 201, reply
        sockets.append(ws)

    def read(ws: websocket.WebSocket) -> None:
        ws.settimeout(5)
        with contextlib.suppress(websocket.WebSocketException, OSError):
            while frame := ws.recv():
                push = json.loads(frame)
                with lock:
                    received[push['body']['n']] = time.monotonic()

    readers = [threading.Thread(target=read, args=(ws,), daemon=True)
               for ws in sockets]
    for reader in readers:
        reader.start()
    time.sleep(1)  # every socket's settle window over
    session = requests.Session()
    session.headers.update(headers)
    answered: dict[int, float] = {}
    start = time.monotonic()
    for n in range(args.messages):
        queue = queues[n % len(queues)]
        resp = session.post(f'{http_url}/v2/queues/{queue}/messages',
                            json={'messages': [{'body': {'n': n}}]})
        resp.raise_for_status()
        answered[n] = time.monotonic()
    posted_in = time.monotonic() - start
    deadline = time.monotonic() + 30
    while len(received) < args.messages and time.monotonic() < deadline:
        time.sleep(0.1)
    for ws in sockets:
        ws.close()
    latencies = sorted((received[n] - answered[n]) * 1000
                       for n in received if n in answered)

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1,
                                   int(p * len(latencies)))], 2)

    return {'store': args.store, 'sockets': args.sockets,
            'posted': args.messages,
            'posts_per_s': round(args.messages / posted_in, 1),
            'pushed': len(received),
            'latency_ms': {'p50': pct(0.5), 'p90': pct(0.9),
                           'p99': pct(0.99),
                           'mean': round(statistics.mean(latencies), 2)}}


if __name__ == '__main__':
    sys.exit(main())
