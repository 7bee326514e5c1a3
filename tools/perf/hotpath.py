"""CPU per request of the WSGI app itself, without a server or sockets
to the client: the hot path as a profiler sees it::

    python tools/perf/hotpath.py --config-file zaqar.conf [--profile 25]

Calls the app built exactly as a server worker builds it (middleware,
Pecan, API, storage) in a loop, and prints the process CPU time per
message post, per claim+delete pair, and, for comparison, per request of
a bare Pecan app answering 201 (tools/perf/bare_pecan.py). With
``--profile N`` it prints cProfile's top N functions by own time for the
post loop.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bare_pecan  # noqa: E402

from zaqar_core import bootstrap  # noqa: E402
from zaqar_core.cmd import common  # noqa: E402
from zaqar_plugins.transport.wsgi import app as wsgi_app  # noqa: E402

CLIENT_ID = '3b7a8c0e-1111-4bb5-9a3c-7a0f1e2d3c4b'
BODY = json.dumps({'messages': [{'ttl': 300, 'body': {
    'event': 'bench', 'padding': 'x' * 200}}]}).encode()


def environ(method: str, path: str, query: str = '',
            body: bytes = b'') -> dict:
    return {
        'REQUEST_METHOD': method, 'PATH_INFO': path, 'QUERY_STRING': query,
        'SERVER_NAME': '127.0.0.1', 'SERVER_PORT': '8888',
        'SERVER_PROTOCOL': 'HTTP/1.1', 'HTTP_HOST': '127.0.0.1:8888',
        'wsgi.url_scheme': 'http', 'wsgi.input': io.BytesIO(body),
        'wsgi.errors': sys.stderr, 'wsgi.version': (1, 0),
        'wsgi.multithread': True, 'wsgi.multiprocess': True,
        'wsgi.run_once': False, 'CONTENT_LENGTH': str(len(body)),
        'CONTENT_TYPE': 'application/json', 'HTTP_CLIENT_ID': CLIENT_ID,
        'HTTP_X_PROJECT_ID': 'hotpath'}


def call(app, env: dict) -> tuple[str, bytes]:
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen['status'] = status

    body = b''.join(app(env, start_response))
    return seen['status'], body


def per_call(fn: Callable[[], None], n: int) -> float:
    """Microseconds of process CPU per call of ``fn``."""
    start = time.process_time()
    for _ in range(n):
        fn()
    return 1e6 * (time.process_time() - start) / n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--requests', type=int, default=3000)
    parser.add_argument('--profile', type=int, default=0, metavar='N')
    args, rest = parser.parse_known_args(argv)
    conf = common.parse_config(rest)
    bootstrap.resolve_embedded_defaults(conf)
    # (Older trees, measured for a before/after comparison, lack it.)
    getattr(bootstrap, 'upgrade_embedded_stores', lambda conf: None)(conf)
    app = wsgi_app.setup_app(conf, bootstrap.make_api(conf))
    bare = bare_pecan.make_app()

    def post() -> None:
        call(app, environ('POST', '/v2/queues/hot/messages', body=BODY))

    def claim_delete() -> None:
        status, body = call(app, environ(
            'POST', '/v2/queues/hot/claims', 'limit=1',
            b'{"ttl": 60, "grace": 60}'))
        if status.startswith('201'):
            path, _, query = json.loads(body)['messages'][0][
                'href'].partition('?')
            call(app, environ('DELETE', path, query))

    def bare_post() -> None:
        call(bare, environ('POST', '/v2/queues/hot/messages', body=BODY))

    for _ in range(300):  # warm up; leaves messages to claim
        post()
    n = args.requests
    print(f'bare Pecan request: {per_call(bare_post, n):6.0f} us CPU')
    print(f'message post:       {per_call(post, n):6.0f} us CPU')
    print(f'claim + delete:     {per_call(claim_delete, n // 2):6.0f} us '
          f'CPU (two requests)')
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(n):
            post()
        profiler.disable()
        pstats.Stats(profiler).sort_stats('tottime').print_stats(
            args.profile)
    return 0


if __name__ == '__main__':
    sys.exit(main())
