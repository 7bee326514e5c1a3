"""Side-by-side throughput of this server, upstream Zaqar and a bare Pecan
app, with ``zaqar-bench``, targets taking turns round by round.

Every target gets the same worker count, the same private Redis server
(its own database number each) and the same load. Upstream runs from a
scratch virtualenv holding PyPI's ``zaqar`` (never a dependency of this
project) under gunicorn with gevent workers, its best configuration here::

    python3 -m venv /tmp/upstream && /tmp/upstream/bin/pip install \\
        zaqar==23.0.1 gunicorn gevent
    python tools/perf/compare.py --upstream-venv /tmp/upstream \\
        --rounds 3 --time 10 --json-out results.json

Targets: ``redis``, ``sqlite``, ``postgresql`` (with ``--pg-dsn``; a
throw-away database), ``upstream`` (with ``--upstream-venv``),
``pools1`` and ``pools3`` (pooling, with one or three Redis servers of
their own as pools; use ``--queues`` to spread the load, and
``--pool-cpu`` to cap each pool's CPU so that the pools are the limit)
and ``bare``
(tools/perf/bare_pecan.py); over WebSocket, ``redis-ws``,
``sqlite-ws`` and ``upstream-ws`` (upstream's WebSocket server is a
single process, whatever ``--workers`` says), loaded with ``--pipeline``
requests in flight per connection. Scenarios: ``post-1`` and ``post-10``
(producers posting batches of 1 and 10) and ``claim-delete`` (consumers
claiming 10 at a time from a prefilled queue, deleting each message).

HTTP servers: ``TARGET@SERVER`` (``redis@uwsgi``, ``bare@gunicorn``...)
serves a target of ours under another server (``tools/perf/servers.py``:
``granian``, ``uwsgi``, ``uwsgi-http11``, ``gunicorn``) instead of
``zaqar-server``'s own; ``--no-keep-alive`` makes every request open its
own connection.

Prints a Markdown table of medians, the CPU the server processes spent
per request, and the ratios the performance document reports: against
upstream's median and against its best round. Upstream's rate is bimodal
under this load: in some rounds one of its gevent workers accepted all
the connections (marked "one worker": it then has one core of two).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from zaqar_testing.ports import free_port
from zaqar_testing.processes import Process

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent

SCENARIOS = {
    # name: (zaqar-bench arguments, the operation whose rates count)
    'post-1': (['--batch', '1', '--consumer-processes', '0',
                '--observer-processes', '0'], 'post'),
    'post-10': (['--batch', '10', '--consumer-processes', '0',
                 '--observer-processes', '0'], 'post'),
    'claim-delete': (['--batch', '10', '--producer-processes', '0',
                      '--observer-processes', '0'], 'claim'),
}


def wait_http(url: str, proc: Process, log: Path,
              timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    problem = f'not answering after {timeout} s'
    while time.monotonic() < deadline:
        if not proc.alive():
            problem = f'exited with {proc.returncode}'
            break
        try:
            # Our own loopback URL, never a user-supplied scheme.
            urllib.request.urlopen(url + '/v2/ping', timeout=1)  # noqa: S310
            return
        except urllib.error.HTTPError:
            return  # an answer, if not a 2xx one (no Client-ID)
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f'{url}: server {problem}; its log ends:\n'
                     f'{log.read_text(errors="replace")[-3000:]}')


@contextlib.contextmanager
def process(args: list[str], log: Path, **kwargs: Any) -> Iterator[Process]:
    """``args`` running, its output in ``log``, until the block ends."""
    proc = Process(args, log, **kwargs)
    try:
        yield proc
    finally:
        proc.stop(15)


def write_ini(path: Path, sections: dict[str, dict[str, object]]) -> None:
    lines = []
    for name, options in sections.items():
        lines.append(f'[{name}]')
        lines += [f'{k} = {v}' for k, v in options.items()]
    path.write_text('\n'.join(lines) + '\n')


def process_cpu(group: int) -> dict[int, float]:
    """CPU seconds (user and system) of each live process of a process
    group (a server's master and workers), by pid."""
    seconds = {}
    tick = os.sysconf('SC_CLK_TCK')
    for entry in Path('/proc').iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = (entry / 'stat').read_text().rsplit(')', 1)[1].split()
            if int(fields[2]) == group:
                seconds[int(entry.name)] = (int(fields[11]) +
                                            int(fields[12])) / tick
    return seconds


def group_cpu(group: int) -> float:
    """CPU seconds of the live processes of a process group."""
    return sum(process_cpu(group).values())


#: A round in which one worker spent more than this share of the workers'
#: CPU was served by that worker alone: with gunicorn's gevent workers,
#: the first to wake accepts every connection of a burst (seen in about
#: half the rounds), and upstream then has one core, not two.
ONE_WORKER_SHARE = 0.9


class Targets:
    """Servers to measure, started once for the whole comparison."""

    def __init__(self, work: Path, workers: int, stack: contextlib.ExitStack,
                 redis_port: int) -> None:
        self.work = work
        self.workers = workers
        self.stack = stack
        self.redis = f'redis://127.0.0.1:{redis_port}'
        # Targets of ours on Redis each get a database of their own;
        # upstream's are 2 and 4.
        self._databases = iter([1, 3, *range(5, 16)])
        self.urls: dict[str, str] = {}
        #: Percent of a core each pool's redis-server may use (None: all).
        self.pool_cpu: float | None = None
        #: target -> process group of its server
        self.groups: dict[str, int] = {}

    def _ours(self, name: str, stores: dict[str, dict], script: list[str]
              ) -> None:
        port = free_port()
        conf = self.work / f'{name}.conf'
        websocket = name.endswith('-ws')
        transport = {'drivers': {'transport': 'websocket'},
                     'drivers:transport:websocket': {
                         'bind': '127.0.0.1', 'port': port,
                         'workers': self.workers}} if websocket else {}
        if websocket and 'drivers' in stores:
            transport['drivers'].update(stores['drivers'])
        write_ini(conf, {
            'DEFAULT': {'auth_strategy': '',
                        'state_path': self.work / f'{name}-state',
                        **stores.pop('DEFAULT', {})},
            'drivers:transport:wsgi': {'bind': '127.0.0.1', 'port': port,
                                       'workers': self.workers},
            **stores, **transport})
        if 'drivers:message_store:sqlalchemy' in stores and \
                'postgresql' in stores['drivers:message_store:sqlalchemy'][
                    'uri']:
            subprocess.run([str(BIN / 'zaqar-manage'), '--config-file',
                            str(conf), 'db', 'upgrade'], check=True,
                           capture_output=True)
        log = self.work / f'{name}.log'
        proc = self.stack.enter_context(process(
            [*script, '--config-file', str(conf)], log))
        url = f'http://127.0.0.1:{port}'
        wait_http(url, proc, log)
        self.urls[name] = url.replace('http:', 'ws:') if websocket else url
        self.groups[name] = proc.pid

    def serve(self, name: str, stores: dict[str, dict]) -> None:
        """A zaqar-server target ``name`` on ``stores`` (sections of its
        configuration), which other targets may share."""
        self._ours(name, json.loads(json.dumps(stores, default=str)),
                   [str(BIN / 'zaqar-server')])

    def redis_store(self, db: int) -> dict[str, dict]:
        uri = f'{self.redis}?dbid={db}'
        return {'drivers': {'message_store': 'redis',
                            'management_store': 'redis'},
                'drivers:message_store:redis': {'uri': uri},
                'drivers:management_store:redis': {'uri': uri}}

    def start(self, name: str, args: argparse.Namespace) -> None:
        base, _, http_server = name.partition('@')
        server = [str(BIN / 'zaqar-server')]
        if http_server:
            server = [sys.executable, str(HERE / 'servers.py'), '--server',
                      http_server, '--app',
                      'bare' if base == 'bare' else 'zaqar']
        if base in ('redis', 'redis-ws'):
            self._ours(name, self.redis_store(next(self._databases)),
                       server)
        elif base in ('sqlite', 'sqlite-ws'):
            uri = f'sqlite:///{self.work / f"{name}.sqlite"}'
            self._ours(name, {
                'drivers:message_store:sqlalchemy': {'uri': uri},
                'drivers:management_store:sqlalchemy': {'uri': uri}},
                server)
        elif base == 'postgresql':
            uri = self.stack.enter_context(pg_database(args.pg_dsn))
            self._ours(name, {
                'drivers:message_store:sqlalchemy': {'uri': uri},
                'drivers:management_store:sqlalchemy': {'uri': uri}},
                server)
        elif base in ('pools1', 'pools3'):
            self._pooled(name, int(base[-1]), server)
        elif base == 'bare':
            self._ours(name, {}, server if http_server else [
                sys.executable, str(HERE / 'bare_pecan.py')])
        elif name == 'upstream':
            self._upstream(args.upstream_venv)
        elif name == 'upstream-ws':
            self._upstream_websocket(args.upstream_venv)
        else:
            raise SystemExit(f'unknown target {name}')

    def _pooled(self, name: str, count: int, script: list[str]) -> None:
        """Pooling on, the stores on the shared Redis, and ``count`` pools:
        Redis servers of their own, weight 1 each."""
        stores = self.redis_store(next(self._databases))
        stores['DEFAULT'] = {'admin_mode': True, 'pooling': True}
        self._ours(name, stores, script)
        for n in range(count):
            directory = self.work / f'{name}-pool{n}'
            directory.mkdir()
            port = self.stack.enter_context(
                redis_server(directory, self.pool_cpu))
            request = urllib.request.Request(  # noqa: S310 (http://)
                f'{self.urls[name]}/v2/pools/pool{n}', method='PUT',
                data=json.dumps({'uri': f'redis://127.0.0.1:{port}',
                                 'weight': 1}).encode(),
                headers={'Content-Type': 'application/json',
                         'X-Roles': 'admin', 'X-Project-Id': 'perf',
                         'Client-ID': str(uuid.uuid4())})
            with urllib.request.urlopen(  # noqa: S310
                    request, timeout=30) as answer:
                assert answer.status == 201, answer.status

    def _upstream_home(self, name: str, db: int,
                       transport: dict[str, dict]) -> Path:
        # Upstream reads ~/.zaqar/zaqar.conf; give it a home of its own.
        home = self.work / f'{name}-home'
        (home / '.zaqar').mkdir(parents=True, exist_ok=True)
        uri = f'{self.redis}?dbid={db}'
        write_ini(home / '.zaqar' / 'zaqar.conf', {
            'DEFAULT': {'auth_strategy': '', 'unreliable': 'True'},
            'drivers': {'message_store': 'redis',
                        'management_store': 'redis',
                        **transport.pop('drivers')},
            'drivers:message_store:redis': {'uri': uri},
            'drivers:management_store:redis': {'uri': uri}, **transport})
        return home

    def _upstream(self, venv: str) -> None:
        home = self._upstream_home('upstream', 2,
                                   {'drivers': {'transport': 'wsgi'}})
        port = free_port()
        proc = self.stack.enter_context(process(
            [str(Path(venv) / 'bin' / 'gunicorn'), '-w', str(self.workers),
             '-k', 'gevent', '-b', f'127.0.0.1:{port}',
             'zaqar.transport.wsgi.app:app'],
            self.work / 'upstream.log', env={**os.environ, 'HOME': str(home)},
            cwd=home))
        url = f'http://127.0.0.1:{port}'
        wait_http(url, proc, self.work / 'upstream.log')
        self.urls['upstream'] = url
        self.groups['upstream'] = proc.pid

    def _upstream_websocket(self, venv: str) -> None:
        port = free_port()
        home = self._upstream_home('upstream-ws', 4, {
            'drivers': {'transport': 'websocket'},
            'drivers:transport:websocket': {
                'bind': '127.0.0.1', 'port': port,
                'notification_bind': '127.0.0.1'}})
        log = self.work / 'upstream-ws.log'
        proc = self.stack.enter_context(process(
            [str(Path(venv) / 'bin' / 'zaqar-server')], log,
            env={**os.environ, 'HOME': str(home)}, cwd=home))
        # autobahn answers a plain GET with its status page.
        wait_http(f'http://127.0.0.1:{port}', proc, log)
        self.urls['upstream-ws'] = f'ws://127.0.0.1:{port}'
        self.groups['upstream-ws'] = proc.pid


#: Where --pool-cpu puts each pool's redis-server (cgroup v1 cpu).
CPU_CGROUPS = Path('/sys/fs/cgroup/cpu')


@contextlib.contextmanager
def cpu_capped(pid: int, name: str, percent: float) -> Iterator[None]:
    """Process ``pid`` limited to ``percent`` of one core (a cgroup of its
    own) until the block ends: a backend of small capacity, such as a
    Redis on a small remote host."""
    group = CPU_CGROUPS / f'zaqar-perf-{name}-{os.getpid()}'
    group.mkdir()
    try:
        (group / 'cpu.cfs_period_us').write_text('100000')
        (group / 'cpu.cfs_quota_us').write_text(str(int(percent * 1000)))
        (group / 'cgroup.procs').write_text(str(pid))
        yield
    finally:
        # A cgroup goes once its processes have left it.
        with contextlib.suppress(OSError):
            (CPU_CGROUPS / 'cgroup.procs').write_text(str(pid))
        with contextlib.suppress(OSError):
            group.rmdir()


@contextlib.contextmanager
def redis_server(work: Path, cpu_percent: float | None = None
                 ) -> Iterator[int]:
    port = free_port()
    with process(['redis-server', '--port', str(port), '--bind',
                  '127.0.0.1', '--save', '', '--appendonly', 'no',
                  '--dir', str(work)], work / 'redis.log') as proc, \
            (cpu_capped(proc.pid, work.name, cpu_percent) if cpu_percent
             else contextlib.nullcontext()):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), \
                    socket.create_connection(('127.0.0.1', port), 1) as s:
                s.sendall(b'PING\r\n')
                if s.recv(16).startswith(b'+PONG'):
                    break
            time.sleep(0.05)
        yield port


@contextlib.contextmanager
def pg_database(admin_dsn: str) -> Iterator[str]:
    import sqlalchemy as sa
    name = f'zaqar_perf_{uuid.uuid4().hex[:8]}'
    admin_url = sa.engine.make_url(admin_dsn).set(
        drivername='postgresql+psycopg2')
    admin = sa.create_engine(admin_url, isolation_level='AUTOCOMMIT')
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = admin_url.set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(
                'SELECT pg_terminate_backend(pid) FROM pg_stat_activity '
                'WHERE datname = :name'), {'name': name})
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        admin.dispose()


def bench(url: str, scenario: str, args: argparse.Namespace,
          round_no: int, group: int | None = None) -> dict:
    extra, _ = SCENARIOS[scenario]
    load = ['--producer-processes', str(args.processes),
            '--producer-workers', str(args.concurrency),
            '--consumer-processes', str(args.processes),
            '--consumer-workers', str(args.concurrency)]
    if scenario == 'claim-delete':
        # Enough backlog that consumers never run dry.
        load += ['--prefill', str(args.prefill)]
    where = ['--transport', 'ws', '--ws-url', url, '--pipeline',
             str(args.pipeline)] if url.startswith('ws') else ['--url', url]
    if not args.keep_alive:
        where.append('--no-keep-alive')
    command = [str(BIN / 'zaqar-bench'), *where, '--time',
               str(args.time), '--message-size', str(args.message_size),
               '--queue-prefix', f'{scenario}-{round_no}',
               '--queues', str(args.queues), '--json',
               '--quiet', *load, *extra]
    # The server's CPU by process, every half second: the workers' shares
    # are read over the timed part only (its last ``time`` seconds), as a
    # prefill may spread over workers that the timed load does not.
    samples = [(time.monotonic(), process_cpu(group) if group else {})]
    with subprocess.Popen(command, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as bench_run:
        deadline = time.monotonic() + args.time * 4 + 600
        while bench_run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
            samples.append((time.monotonic(),
                            process_cpu(group) if group else {}))
        if bench_run.poll() is None:
            bench_run.kill()
        stdout, stderr = bench_run.communicate()
    if bench_run.returncode != 0:
        raise SystemExit(f'zaqar-bench failed on {url}:\n{stderr}')
    run = json.loads(stdout)
    before, after = samples[0][1], samples[-1][1]
    # Setup (the prefill) included: a bound, compared alike.
    run['server_cpu_s'] = sum(after.values()) - sum(before.values()) \
        if group else None
    timed_from = samples[-1][0] - args.time
    start = next((cpu for at, cpu in samples if at >= timed_from), before)
    # The workers' shares (the master, the group's leader, left out).
    run['worker_cpu_s'] = sorted(
        (after[pid] - start.get(pid, 0.0) for pid in after
         if pid != group), reverse=True)
    return run


def one_worker(run: dict) -> bool:
    """Whether one worker did (nearly) all of the round's work."""
    shares = run.get('worker_cpu_s') or []
    return len(shares) > 1 and \
        shares[0] > ONE_WORKER_SHARE * sum(shares) > 0


def summarise(runs: list[dict], op: str) -> dict:
    stats = [r['ops'][op] for r in runs if op in r['ops']]

    def median(get) -> float:
        return statistics.median(get(s) for s in stats)

    cpu = [r['server_cpu_s'] / r['ops'][op]['requests']
           for r in runs if r.get('server_cpu_s') and op in r['ops'] and
           r['ops'][op]['requests']]
    return {
        'server_us_per_request': statistics.median(cpu) * 1e6 if cpu
        else None,
        'messages_per_s': median(lambda s: s['messages_per_s']),
        'requests_per_s': median(lambda s: s['requests_per_s']),
        'p50_ms': median(lambda s: s['latency_ms']['p50']),
        'p99_ms': median(lambda s: s['latency_ms']['p99']),
        'errors': sum(sum(v for k, v in s['errors'].items()
                          if k != 'by_status') for s in stats),
        'rounds': len(stats),
        'best_messages_per_s': max(s['messages_per_s'] for s in stats),
        'one_worker_rounds': sum(one_worker(r) for r in runs),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--targets', default='redis,sqlite,upstream,bare')
    parser.add_argument('--scenarios', default=','.join(SCENARIOS))
    parser.add_argument('--upstream-venv')
    parser.add_argument('--pg-dsn',
                        default='postgresql://postgres@127.0.0.1:5432/test')
    parser.add_argument('--workers', type=int, default=2,
                        help='server processes of every target')
    parser.add_argument('--processes', type=int, default=1,
                        help='zaqar-bench processes per role')
    parser.add_argument('--concurrency', type=int, default=16,
                        help='zaqar-bench workers per process')
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--time', type=float, default=10)
    parser.add_argument('--message-size', type=int, default=256)
    parser.add_argument('--pipeline', type=int, default=1,
                        help='requests in flight per WebSocket connection')
    parser.add_argument('--prefill', type=int, default=60000)
    parser.add_argument('--pool-cpu', type=float,
                        help='percent of a core each pool\'s redis-server '
                             'may use (a cgroup; needs root): makes the '
                             'pools the limit')
    parser.add_argument('--queues', type=int, default=1,
                        help='queues the load spreads over (pools place '
                             'each on one of them)')
    parser.add_argument('--no-keep-alive', dest='keep_alive',
                        action='store_false',
                        help='a new HTTP connection for every request')
    parser.add_argument('--json-out')
    args = parser.parse_args(argv)
    targets = args.targets.split(',')
    if any(t.startswith('upstream') for t in targets) and \
            not args.upstream_venv:
        parser.error('the upstream targets need --upstream-venv')
    if shutil.which('redis-server') is None:
        parser.error('redis-server is not installed')
    results: dict[str, dict[str, list[dict]]] = {}
    with tempfile.TemporaryDirectory(prefix='zaqar-perf-') as tmp, \
            contextlib.ExitStack() as stack:
        work = Path(tmp)
        port = stack.enter_context(redis_server(work))
        servers = Targets(work, args.workers, stack, port)
        servers.pool_cpu = args.pool_cpu
        for name in targets:
            servers.start(name, args)
        for round_no in range(args.rounds):
            for scenario in args.scenarios.split(','):
                for name in targets:
                    if name.startswith('bare') and scenario != 'post-1':
                        continue  # the ceiling is one constant answer
                    run = bench(servers.urls[name], scenario, args, round_no,
                                servers.groups.get(name))
                    results.setdefault(scenario, {}).setdefault(
                        name, []).append(run)
                    op = SCENARIOS[scenario][1]
                    got = run['ops'].get(op, {})
                    print(f'round {round_no + 1} {scenario:12} {name:10} '
                          f'{got.get("messages_per_s", 0):9.1f} msg/s '
                          f'p50 {got.get("latency_ms", {}).get("p50", 0)} '
                          f'p99 {got.get("latency_ms", {}).get("p99", 0)}'
                          f'{" (one worker)" if one_worker(run) else ""}',
                          file=sys.stderr, flush=True)
    summary = {scenario: {name: summarise(runs, SCENARIOS[scenario][1])
                          for name, runs in by_target.items()}
               for scenario, by_target in results.items()}
    print(markdown(summary))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(
            {'args': vars(args), 'summary': summary, 'runs': results},
            indent=1))
    return 0


def markdown(summary: dict) -> str:
    lines = ['| scenario | target | msg/s | req/s | p50 ms | p99 ms | errors '
             '| server us/req | vs upstream | vs upstream\'s best round '
             '| rounds on one worker | vs bare |', '|' + '---|' * 12]
    for scenario, by_target in summary.items():
        upstream = by_target.get('upstream', {}).get('messages_per_s')
        upstream_ws = by_target.get('upstream-ws', {}).get('messages_per_s')
        best = {name: by_target.get(name, {}).get('best_messages_per_s')
                for name in ('upstream', 'upstream-ws')}
        for name, s in by_target.items():
            # The ceiling under the same server.
            _, at, http_server = name.partition('@')
            bare = summary.get('post-1', {}).get(
                'bare' + at + http_server, {}).get('requests_per_s')
            reference = upstream_ws if name.endswith('-ws') else upstream
            vs_up = f'{s["messages_per_s"] / reference:.2f}x' \
                if reference and not name.startswith('upstream') else ''
            # Upstream at its best: the median against its fastest round.
            top = best['upstream-ws' if name.endswith('-ws') else 'upstream']
            vs_best = f'{s["messages_per_s"] / top:.2f}x' \
                if top and not name.startswith('upstream') else ''
            alone = f'{s["one_worker_rounds"]}/{s["rounds"]}' \
                if s['rounds'] else ''
            cpu = s.get('server_us_per_request')
            cpu_text = f'{cpu:,.0f}' if cpu else ''
            vs_bare = f'{s["requests_per_s"] / bare:.0%}' \
                if bare and scenario == 'post-1' and \
                not name.startswith('bare') else ''
            lines.append(
                f'| {scenario} | {name} | {s["messages_per_s"]:,.0f} | '
                f'{s["requests_per_s"]:,.0f} | {s["p50_ms"]:.1f} | '
                f'{s["p99_ms"]:.1f} | {s["errors"]} | {cpu_text} | {vs_up} | '
                f'{vs_best} | {alone} | {vs_bare} |')
    return '\n'.join(lines)


if __name__ == '__main__':
    sys.exit(main())
