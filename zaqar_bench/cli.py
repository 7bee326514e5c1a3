"""``zaqar-bench``: options, the run from start to end, exit status.

Exit status: 0 when the run completed (errors during it are reported, not
fatal); 1 when the server was unreachable or refused the setup, or a
process lost its results; 2 for bad options.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from zaqar_bench import report
from zaqar_bench import runner
from zaqar_bench import selfcheck
from zaqar_bench.api import make_api
from zaqar_bench.config import ROLES
from zaqar_bench.config import TRANSPORTS
from zaqar_bench.config import WS_ENCODINGS
from zaqar_bench.config import BenchConfig
from zaqar_bench.config import RoleSpec
from zaqar_bench.prepare import PrepareError
from zaqar_bench.prepare import prepare

_DEFAULTS = BenchConfig()


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f'must be at least 1: {value}')
    return number


def _count(value: str) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError(f'must not be negative: {value}')
    return number


def _seconds(value: str) -> float:
    number = float(value)
    if not number >= 0:
        raise argparse.ArgumentTypeError(f'must not be negative: {value}')
    return number


def build_parser() -> argparse.ArgumentParser:
    d = _DEFAULTS
    parser = argparse.ArgumentParser(
        prog='zaqar-bench',
        description='Load a Zaqar v2 server with producers (post), '
                    'consumers (claim + delete) and observers (list), '
                    'and report rates, latency percentiles and errors. '
                    '"zaqar-bench --self-check --help" measures the '
                    "bench's own cost instead.")
    add = parser.add_argument
    add('--url', default=d.url,
        help='server root for --transport http (default %(default)s)')
    add('--transport', choices=TRANSPORTS, default=d.transport,
        help='http: the REST API at --url; ws: the WebSocket API at '
             '--ws-url. Every request goes over it, queue creation and '
             'prefill included (default %(default)s)')
    add('--ws-url', default=d.ws_url, metavar='URL',
        help='WebSocket endpoint for --transport ws, ws:// or wss://, '
             'any path (default %(default)s)')
    add('--ws-encoding', choices=WS_ENCODINGS, default=d.ws_encoding,
        help='WebSocket requests as JSON text frames or MessagePack '
             'binary frames (default %(default)s)')
    add('--pipeline', type=_positive, default=d.pipeline, metavar='N',
        help='requests in flight per WebSocket connection: N loops share '
             "each worker's connection and its replies come back in "
             'order; --transport ws only (default %(default)s)')
    add('--no-keep-alive', dest='keep_alive', action='store_false',
        help='over HTTP, send "Connection: close" with every request, so '
             'that each one opens a connection (default: keep alive)')
    add('--project', default=d.project,
        help='X-Project-Id (default %(default)s)')
    add('--token', help='sent as X-Auth-Token; over WebSocket, each '
                        'connection first sends "authenticate" with it '
                        '(and without a token, nothing of the kind)')
    add('--time', type=_seconds, default=d.duration, dest='duration',
        metavar='SECONDS', help='length of the timed run; 0 only prepares '
                                '(default %(default)s)')
    add('--batch', type=_positive, default=d.batch,
        help='messages per post, and the claim and page limit; servers '
             'usually allow at most 20 (default %(default)s)')
    add('--message-size', type=_count, default=d.message_size,
        metavar='BYTES', help='length of the padding string in each '
                              'message body (default %(default)s)')
    add('--queues', type=_positive, default=d.queues,
        help='workers spread over this many queues (default %(default)s)')
    add('--queue-prefix', default=d.queue_prefix,
        help='queues are PREFIX-0..N-1 (default %(default)s)')
    add('--ttl', type=_positive, default=d.ttl,
        help='message TTL in seconds (default %(default)s)')
    add('--claim-ttl', type=_positive, default=d.claim_ttl,
        help='claim TTL in seconds (default %(default)s)')
    add('--claim-grace', type=_count, default=d.claim_grace,
        help='claim grace in seconds (default %(default)s)')
    add('--prefill', type=_count, default=d.prefill, metavar='N',
        help='post N messages into each queue before the timed run')
    add('--prefill-batch', type=_positive, default=d.prefill_batch,
        help='messages per prefill post (default %(default)s)')
    add('--prefill-connections', type=_positive,
        default=d.prefill_connections,
        help='concurrent prefill connections (default %(default)s)')
    add('--timeout', type=_seconds, default=d.timeout, metavar='SECONDS',
        help='a request unanswered this long counts as a timeout error '
             '(default %(default)s)')
    for role in ROLES:
        spec = d.roles[role]
        add(f'--{role}-processes', type=_count, default=spec.processes,
            help=f'{role} processes; 0 disables (default %(default)s)')
        add(f'--{role}-workers', type=_count, default=spec.workers,
            help=f'concurrent {role}s per process (default %(default)s)')
    add('--json', action='store_true',
        help='print exactly one JSON line with the results, nothing else '
             'on stdout')
    add('--quiet', action='store_true',
        help='no progress lines on stderr')
    add('--self-check', action='store_true',
        help="measure the bench's own CPU cost per request against a "
             'trivial server (options after it go to the self-check)')
    return parser


def config_from_args(args: argparse.Namespace) -> BenchConfig:
    return BenchConfig(
        url=args.url, transport=args.transport, ws_url=args.ws_url,
        ws_encoding=args.ws_encoding, pipeline=args.pipeline,
        keep_alive=args.keep_alive,
        project=args.project, token=args.token,
        duration=args.duration, batch=args.batch,
        message_size=args.message_size, queues=args.queues,
        queue_prefix=args.queue_prefix, ttl=args.ttl,
        claim_ttl=args.claim_ttl, claim_grace=args.claim_grace,
        prefill=args.prefill, prefill_batch=args.prefill_batch,
        prefill_connections=args.prefill_connections, timeout=args.timeout,
        roles={role: RoleSpec(getattr(args, f'{role}_processes'),
                              getattr(args, f'{role}_workers'))
               for role in ROLES})


def _error(message: str) -> None:
    print(f'zaqar-bench: {message}', file=sys.stderr)


def _show_prefill(posted: int, total: int) -> None:
    print(f'prefill: {posted}/{total} messages', file=sys.stderr,
          flush=True)


def _show_progress(elapsed: float, counters: runner.Counters) -> None:
    print(report.progress_line(elapsed, counters), file=sys.stderr,
          flush=True)


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(sys.argv[1:] if argv is None else argv)
    except KeyboardInterrupt:
        # During the run a first Ctrl-C only ends it early (see runner).
        _error('interrupted')
        return 130


def _main(argv: list[str]) -> int:
    if '--self-check' in argv:
        return selfcheck.main([a for a in argv if a != '--self-check'])
    args = build_parser().parse_args(argv)
    try:
        config = config_from_args(args)
        # Fail on a malformed URL before anything starts.
        make_api(config)
    except ValueError as exc:
        hint = (' (WebSocket: --transport ws --ws-url URL)'
                if args.url.startswith(('ws:', 'wss:')) else '')
        _error(f'{exc}{hint}')
        return 2
    if config.pipeline > 1 and config.transport != 'ws':
        # HTTP/1.1 pipelining is not implemented: refused, not ignored.
        _error('--pipeline needs --transport ws')
        return 2
    try:
        prefilled = asyncio.run(prepare(
            config, on_prefill=None if args.quiet else _show_prefill))
    except PrepareError as exc:
        _error(str(exc))
        return 1
    if prefilled and not args.quiet:
        _show_prefill(prefilled.messages, prefilled.messages)
    if config.duration > 0 and config.enabled_roles():
        try:
            result = runner.run(
                config, on_progress=None if args.quiet else _show_progress)
        except runner.RunError as exc:
            _error(str(exc))
            return 1
    else:
        result = runner.RunResult(ops={}, duration=0.0, cpu_seconds=0.0)
    summary = report.summarize(config, result, prefilled)
    if args.json:
        print(json.dumps(summary, separators=(',', ':')))
    else:
        print(report.table(summary))
    # Numbers from a process that crashed are missing: not a clean run.
    return 1 if result.failures else 0


if __name__ == '__main__':
    sys.exit(main())
