"""Scale behaviour: post, claim and delete latency as one queue grows
from 10 to a million messages and as a project grows from 1 to ten
thousand queues, per backend; and Redis memory per stored message::

    cd tools/perf && python scale.py --targets redis,postgresql,sqlite \\
        --time 8 --json-out scale.json --plot ../../doc/source/admin/scale.svg
    python scale.py --json-in scale.json --plot scale.svg   # no rerun

Each target is a ``zaqar-server`` started as in compare.py, on fresh
storage for each sweep. The messages sweep fills one queue step by step
(``--messages``: 10, 1,000, 100,000, 1,000,000 by default, so the largest
is filled once) and measures it at every step; the queues sweep adds
queues of ``--queue-messages`` messages each to a project (``--queues``:
1, 100, 10,000) and measures the first of them at every step.

The queues are created and filled by ``zaqar-bench`` (its prefill). A
measurement drives zaqar-bench's own client (its HTTP connections,
requests and latency histograms) for ``--time`` seconds in ``--clients``
concurrent loops, each posting one message to the measured queue,
claiming one and deleting it: a light load, so latency reflects the cost
of each request rather than queueing behind others, and a queue that
keeps its size and is never found empty (the stored count before and
after each measurement is recorded). Per point: p50 and p99 of each
operation and each p50 over the same operation's p50 at the sweep's
smallest point. ``--plot`` draws the p50s (matplotlib, not a dependency:
``pip install matplotlib`` into the virtualenv to use it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

from compare import BIN
from compare import Targets
from compare import redis_server

from zaqar_bench import roles
from zaqar_bench.api import Api
from zaqar_bench.api import Connection
from zaqar_bench.api import make_api
from zaqar_bench.cli import build_parser as bench_parser
from zaqar_bench.cli import config_from_args
from zaqar_bench.config import BenchConfig
from zaqar_bench.report import op_summary
from zaqar_bench.stats import OpStats

PROJECT = 'zaqar-scale'
# Messages outlive the longest sweep (the million is posted once).
TTL = 7200
OPS = ('post', 'claim', 'delete')
#: Sweep -> the label of its x axis.
SWEEPS = {'messages': 'messages in the queue',
          'queues': 'queues in the project'}
#: The measured queue of each sweep (zaqar-bench names PREFIX-0...).
MEASURED = {'messages': 'big', 'queues': 'q1'}


def bench(url: str, prefix: str, args: argparse.Namespace, *,
          queues: int = 1, prefill: int = 0,
          project: str = PROJECT) -> dict:
    """``zaqar-bench`` creating ``queues`` queues and posting ``prefill``
    messages into each, without a timed run."""
    command = [str(BIN / 'zaqar-bench'), '--url', url, '--project', project,
               '--queue-prefix', prefix, '--queues', str(queues),
               '--time', '0', '--message-size', str(args.message_size),
               '--ttl', str(TTL), '--prefill', str(prefill),
               '--prefill-connections', '8', '--json', '--quiet']
    result = subprocess.run(command, capture_output=True, text=True,
                            check=False)
    if result.returncode != 0:
        raise SystemExit(f'zaqar-bench failed:\n{result.stderr[-3000:]}')
    return json.loads(result.stdout)


async def cycle(conn: Connection, api: Api, queue: str,
                config: BenchConfig, ops: dict[str, OpStats],
                clock: roles.Clock) -> None:
    """Post one message, claim one, delete it, until the clock stops.

    Every cycle removes what it adds and claims only after its own post,
    so the queue keeps its size and a claim never finds it empty. (A
    producer and consumers running freely drift one way or the other: a
    10-message queue grows by hundreds or empties, and claims that find
    nothing are cheaper.)
    """
    post = api.post_messages(queue, 1, config.ttl, config.message_size)
    claim = api.claim(queue, 1, config.claim_ttl, config.claim_grace)
    while clock.running():
        # Each cycle is finished past the deadline: the size stays exact.
        sent = await roles.send(conn, post, ops['post'], clock)
        if sent is None:
            continue
        ops['post'].record(sent[0].status, sent[1], 1)
        sent = await roles.send(conn, claim, ops['claim'], clock)
        if sent is None:
            continue
        response, seconds = sent
        todo = api.deletes(response, queue) if response.status == 201 \
            else []
        ops['claim'].record(response.status, seconds, len(todo))
        for delete in todo:
            sent = await roles.send(conn, delete, ops['delete'], clock)
            if sent is not None:
                ops['delete'].record(sent[0].status, sent[1], 1)


async def run_cycles(config: BenchConfig, queue: str,
                     clients: int) -> dict:
    ops = {op: OpStats() for op in OPS}
    # One client (Client-ID) and connection each, as zaqar-bench's workers.
    apis = [make_api(config) for _ in range(clients)]
    conns = [api.connection() for api in apis]
    await asyncio.gather(*(conn.open() for conn in conns))
    clock = roles.Clock(config.duration)
    try:
        await asyncio.wait_for(asyncio.gather(*(
            cycle(conn, api, queue, config, ops, clock)
            for api, conn in zip(apis, conns, strict=True))),
            config.duration + 120)
    finally:
        for conn in conns:
            await conn.wait_closed()
    seconds = clock.last - clock.start
    return {op: op_summary(stats, seconds) for op, stats in ops.items()}


def measure(url: str, project: str, queue: str, args: argparse.Namespace,
            seconds: float | None = None) -> dict:
    """``--clients`` cycles on ``queue`` for ``seconds`` (``--time``):
    each operation's zaqar-bench summary."""
    seconds = args.time if seconds is None else seconds
    # zaqar-bench's own options, so its defaults hold (claim TTL, grace).
    config = config_from_args(bench_parser().parse_args([
        '--url', url, '--project', project, '--time', str(seconds),
        '--message-size', str(args.message_size), '--ttl', str(TTL)]))
    return asyncio.run(run_cycles(config, queue, args.clients))


def latency(ops: dict) -> dict:
    out = {}
    for op, stats in ops.items():
        errors = sum(v for k, v in stats['errors'].items()
                     if k != 'by_status')
        out[op] = {'p50_ms': stats['latency_ms']['p50'],
                   'p99_ms': stats['latency_ms']['p99'],
                   'requests': stats['requests'],
                   'empty': stats['empty'], 'errors': errors}
    return out


def stored(url: str, project: str, queue: str) -> int:
    """Messages in ``queue``, claimed or not (its stats)."""
    request = urllib.request.Request(  # noqa: S310 (our http:// URL)
        f'{url}/v2/queues/{queue}/stats',
        headers={'Client-ID': str(uuid.uuid4()), 'X-Project-Id': project})
    with urllib.request.urlopen(request, timeout=120) as answer:  # noqa: S310
        return json.load(answer)['messages']['total']


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


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def point(url: str, args: argparse.Namespace, sweep: str, size: int,
          project: str) -> dict:
    """The sweep's queue measured ``--repeat`` times: each operation's
    median p50 and p99 over the runs, with the queue's size around them.
    """
    queue = MEASURED[sweep] + '-0'
    # Unrecorded cycles first: a fresh server's first requests (its
    # workers' connections and caches) and the tail of a fill would
    # otherwise count against whichever point comes first.
    measure(url, project, queue, args, args.warmup)
    before = stored(url, project, queue)
    # Several runs and their median: a burst of other work on the
    # machine spoils one run, not the point.
    runs = [latency(measure(url, project, queue, args))
            for _ in range(args.repeat)]
    ops = {}
    for op in runs[0]:
        ops[op] = {key: statistics.median(r[op][key] for r in runs)
                   for key in ('p50_ms', 'p99_ms')}
        ops[op].update({key: sum(r[op][key] for r in runs)
                        for key in ('requests', 'empty', 'errors')})
        ops[op]['runs_p50_ms'] = [r[op]['p50_ms'] for r in runs]
        ops[op]['runs_p99_ms'] = [r[op]['p99_ms'] for r in runs]
    result = {'size': size, 'stored_before': before,
              'stored_after': stored(url, project, queue), 'ops': ops}
    log(f'  {sweep} {size:>9,}: ' + '  '.join(
        f'{op} {s["p50_ms"]:.2f}/{s["p99_ms"]:.2f} ms'
        for op, s in ops.items())
        + f'  (stored {before:,} -> {result["stored_after"]:,})')
    return result


def message_sweep(name: str, url: str, args: argparse.Namespace,
                  redis_port: int | None) -> dict:
    points = []
    fills = []
    level = 0
    for size in args.messages:
        todo = size - level
        if todo > 0:
            log(f'{name}: filling the queue to {size:,} messages')
            memory = redis_memory(redis_port) if redis_port else None
            fill = bench(url, MEASURED['messages'], args, prefill=todo)
            fills.append({'to': size, 'messages': todo,
                          'seconds': (fill['prefill'] or {}).get('seconds')})
            if redis_port and memory is not None:
                fills[-1]['redis_bytes'] = redis_memory(redis_port) - memory
        points.append(point(url, args, 'messages', size, PROJECT))
        level = points[-1]['stored_after']
    out: dict = {'points': points, 'fills': fills}
    if redis_port and fills:
        # The largest fill: the fewest bytes of overhead per message.
        big = max(fills, key=lambda f: f['messages'])
        out['redis_bytes_per_message'] = round(
            big['redis_bytes'] / big['messages'])
    return out


def queue_sweep(name: str, url: str, args: argparse.Namespace) -> dict:
    project = PROJECT + '-queues'
    points = []
    fills = []
    created = 0
    for count in args.queues:
        if count > created:
            log(f'{name}: {count:,} queues of {args.queue_messages} '
                f'messages')
            # New queues under a prefix of their own (q1-0, q100-0...):
            # zaqar-bench prefills every queue it names.
            fill = bench(url, f'q{count}', args, queues=count - created,
                         prefill=args.queue_messages, project=project)
            fills.append({'to': count, 'queues': count - created,
                          'seconds': (fill['prefill'] or {}).get('seconds')})
            created = count
        points.append(point(url, args, 'queues', count, project))
    return {'points': points, 'fills': fills}


@contextlib.contextmanager
def target(name: str, args: argparse.Namespace
           ) -> Iterator[tuple[str, int | None]]:
    """(URL, port of its redis-server or None): ``name`` on storage of
    its own, until the block ends."""
    with tempfile.TemporaryDirectory(prefix='zaqar-scale-') as tmp, \
            contextlib.ExitStack() as stack:
        work = Path(tmp)
        port = stack.enter_context(redis_server(work))
        servers = Targets(work, args.workers, stack, port)
        servers.start(name, args)
        yield servers.urls[name], port if name == 'redis' else None


def add_ratios(results: dict) -> None:
    """Each point's p50 over its sweep's first point's, per operation,
    and the largest of those per target and operation."""
    for by_sweep in results.values():
        worst: dict[str, float] = {}
        for sweep in SWEEPS:
            points = by_sweep.get(sweep, {}).get('points', [])
            if not points:
                continue
            first = points[0]['ops']
            for p in points:
                for op, s in p['ops'].items():
                    base = first.get(op, {}).get('p50_ms')
                    s['ratio'] = round(s['p50_ms'] / base, 2) \
                        if base else None
                    if s['ratio'] is not None:
                        worst[op] = max(worst.get(op, 0.0), s['ratio'])
        by_sweep['max_ratio'] = worst


def table(results: dict) -> str:
    lines = [f'{"target":<11}{"sweep":<9}{"size":>10}{"stored":>20}  '
             + ''.join(f'{op + " p50/p99 ms":>21}{"x":>6}' for op in OPS)
             + f'{"empty":>7}']
    for name, by_sweep in results.items():
        for sweep in SWEEPS:
            for p in by_sweep.get(sweep, {}).get('points', []):
                stored_text = f'{p["stored_before"]:,}-{p["stored_after"]:,}'
                row = (f'{name:<11}{sweep:<9}{p["size"]:>10,}'
                       f'{stored_text:>20}  ')
                for op in OPS:
                    s = p['ops'].get(op)
                    row += (f'{s["p50_ms"]:>10.2f} / {s["p99_ms"]:>7.2f}'
                            f'{s["ratio"] or 0:>6.2f}' if s
                            else f'{"-":>21}{"":>6}')
                claim = p['ops'].get('claim')
                empty = claim['empty'] / claim['requests'] \
                    if claim and claim['requests'] else 0
                lines.append(row + f'{empty:>7.0%}')
    lines.append('')
    lines.append('largest p50 ratio to the smallest point (both sweeps):')
    for name, by_sweep in results.items():
        worst = by_sweep.get('max_ratio', {})
        lines.append(f'  {name:<11}' + '  '.join(
            f'{op} {worst[op]:.2f}x' for op in OPS if op in worst))
        if 'redis_bytes_per_message' in by_sweep.get('messages', {}):
            lines.append(f'  {"":<11}Redis memory per message: '
                         f'{by_sweep["messages"]["redis_bytes_per_message"]}'
                         f' bytes')
    return '\n'.join(lines)


def plot(data: dict, path: str) -> None:
    """Two panels of p50 latency: against messages in the queue and
    against queues in the project; a colour per target, a line style
    per operation."""
    try:
        import matplotlib
    except ImportError:
        raise SystemExit(
            '--plot needs matplotlib, which is not a dependency of this '
            'project; install it into the virtualenv for this tool only: '
            '.venv/bin/pip install matplotlib') from None
    matplotlib.use('svg')
    from matplotlib import pyplot as plt
    # Text as text, not glyph outlines: a much smaller SVG; and fixed
    # element ids, so that a redrawn figure differs only where it should.
    plt.rcParams.update({'svg.fonttype': 'none', 'svg.hashsalt': 'scale',
                         'font.size': 9})
    colours = {'redis': '#d62728', 'postgresql': '#1f77b4',
               'sqlite': '#2ca02c'}
    styles = {'post': ('-', 'o'), 'claim': ('--', 's'),
              'delete': (':', '^')}
    results = data['results']
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6), sharey=True)
    for ax, sweep in zip(axes, SWEEPS, strict=True):
        for name, by_sweep in results.items():
            points = by_sweep.get(sweep, {}).get('points', [])
            for op in OPS:
                xs = [p['size'] for p in points if op in p['ops']]
                ys = [p['ops'][op]['p50_ms'] for p in points
                      if op in p['ops']]
                if not xs:
                    continue
                line, marker = styles[op]
                ax.plot(xs, ys, linestyle=line, marker=marker,
                        markersize=4, color=colours.get(name),
                        label=f'{name} {op}')
        ax.set_xscale('log')
        ax.set_yscale('log')
        ax.set_xlabel(SWEEPS[sweep])
        ax.grid(True, which='both', alpha=0.3)
    axes[0].set_ylabel('p50 latency, ms')
    # Plain numbers on the log axes, not powers of ten.
    formatter = matplotlib.ticker.FuncFormatter(lambda v, _: f'{v:g}')
    for ax in axes:
        ax.yaxis.set_major_formatter(formatter)
        ax.yaxis.set_minor_formatter(formatter)
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(
            lambda v, _: f'{v:,.0f}'))
    axes[1].legend(loc='center left', bbox_to_anchor=(1.02, 0.5),
                   frameon=False)
    fig.suptitle(f'zaqar-core at scale: p50 latency, {data["machine"]}\n'
                 f'{data["command"]}', fontsize=9)
    fig.tight_layout()
    fig.savefig(path, metadata={'Date': None})
    plt.close(fig)


def machine() -> str:
    model = ''
    with contextlib.suppress(OSError):
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'):
                name = line.split(':', 1)[1].replace('(R)', '')
                model = f' ({" ".join(name.split())})'
                break
    return f'{os.cpu_count()} cores{model}'


def sizes(text: str) -> list[int]:
    return sorted(int(v.replace('_', '')) for v in text.split(','))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--targets', default='redis,postgresql,sqlite')
    parser.add_argument('--pg-dsn',
                        default='postgresql://postgres@127.0.0.1:5432/test')
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--messages', type=sizes,
                        default=[10, 1_000, 100_000, 1_000_000],
                        help='sizes of the measured queue, comma-separated')
    parser.add_argument('--queues', type=sizes, default=[1, 100, 10_000],
                        help='queues in the project, comma-separated')
    parser.add_argument('--queue-messages', type=int, default=10,
                        help='messages in each queue of the queues sweep')
    parser.add_argument('--sweeps', default=','.join(SWEEPS))
    parser.add_argument('--message-size', type=int, default=256)
    parser.add_argument('--time', type=float, default=10,
                        help='seconds of each measurement')
    parser.add_argument('--repeat', type=int, default=3,
                        help='measurements per point (their median)')
    parser.add_argument('--warmup', type=float, default=2,
                        help='unrecorded seconds before each measurement')
    parser.add_argument('--clients', type=int, default=3,
                        help='concurrent post-claim-delete cycles')
    parser.add_argument('--json-out')
    parser.add_argument('--json-in',
                        help='print and plot these results; run nothing')
    parser.add_argument('--plot', metavar='FILE.svg',
                        help='draw the p50 latencies (needs matplotlib)')
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    if args.json_in:
        data = json.loads(Path(args.json_in).read_text())
    else:
        # What the figure's title quotes: the options that shape the run.
        shown = []
        skip = {'--json-out', '--plot', '--pg-dsn'}
        words = iter(argv)
        for word in words:
            if word.split('=')[0] in skip:
                if '=' not in word:
                    next(words, None)
                continue
            shown.append(word)
        data = {'command': shlex.join(['scale.py', *shown]),
                'machine': machine(), 'args': vars(args), 'results': {}}
        for name in args.targets.split(','):
            by_sweep = data['results'][name] = {}
            for sweep in args.sweeps.split(','):
                with target(name, args) as (url, redis_port):
                    if sweep == 'messages':
                        by_sweep[sweep] = message_sweep(name, url, args,
                                                        redis_port)
                    else:
                        by_sweep[sweep] = queue_sweep(name, url, args)
            log(json.dumps({name: by_sweep}))
        add_ratios(data['results'])
        if args.json_out:
            Path(args.json_out).write_text(json.dumps(data, indent=1))
    print(table(data['results']))
    if args.plot:
        plot(data, args.plot)
    return 0


if __name__ == '__main__':
    sys.exit(main())
