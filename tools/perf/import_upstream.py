"""How long ``zaqar-manage import-upstream`` takes, on a deployment that
upstream Zaqar 23.0.1 itself wrote (default: 1,000,000 messages in 10,000
queues): the figure in doc/source/admin/upgrades.rst.

::

    python tools/perf/import_upstream.py [--queues 10000] \\
        [--messages 1000000] [--into sqlite|redis|postgresql]

Upstream's message store is a private ``redis-server`` and its management
store an SQLite file, filled through upstream's own storage layer
(:mod:`upstream_fill`, in upstream's virtualenv, see
:mod:`zaqar_testing.upstream`). This project's stores are an SQLite file
(``--into sqlite``, the embedded default), another private Redis, or a
throwaway PostgreSQL database. The import runs twice: the second run
writes nothing, and says how long checking that takes. Everything runs on
loopback and is removed at the end.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from zaqar_testing import upstream  # noqa: E402
from zaqar_testing.databases import DatabaseFactory  # noqa: E402
from zaqar_testing.redis_servers import RedisServer  # noqa: E402
from zaqar_testing.zaqar_servers import write_config  # noqa: E402

MANAGE = Path(sys.executable).parent / 'zaqar-manage'


def ours(kind: str, work: Path, databases: DatabaseFactory,
         redis_uri: str) -> dict:
    if kind == 'redis':
        driver, uri = 'redis', redis_uri
    elif kind == 'sqlite':
        driver, uri = 'sqlalchemy', f'sqlite:///{work / "ours.sqlite"}'
    else:
        driver, uri = 'sqlalchemy', databases.create(kind).uri
    return {'DEFAULT': {'auth_strategy': ''},
            'drivers': {'message_store': driver, 'management_store': driver},
            f'drivers:message_store:{driver}': {'uri': uri},
            f'drivers:management_store:{driver}': {'uri': uri}}


def cpu() -> str:
    """The processor's model name, as /proc/cpuinfo gives it."""
    with open('/proc/cpuinfo') as info:
        for line in info:
            if line.startswith('model name'):
                return line.partition(':')[2].strip()
    return 'unknown processor'


def timed(command: list[str]) -> tuple[float, str]:
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True,
                            check=False)
    took = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(f'{command[0]} failed:\n{result.stdout}\n'
                         f'{result.stderr}')
    return took, result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--queues', type=int, default=10000)
    parser.add_argument('--messages', type=int, default=1000000)
    parser.add_argument('--into', default='sqlite',
                        choices=('sqlite', 'redis', 'postgresql'))
    args = parser.parse_args()
    venv = upstream.upstream_venv()
    with tempfile.TemporaryDirectory(prefix='import-bench-') as tmp:
        work = Path(tmp)
        source = RedisServer(work / 'upstream-redis').start()
        target = RedisServer(work / 'our-redis').start()
        databases = DatabaseFactory(work / 'db')
        try:
            up = upstream.UpstreamZaqar(
                venv, work / 'upstream', message_uri=source.uri,
                management_uri=f'sqlite:///{work / "upstream.sqlite"}')
            up.migrate()
            took, out = timed([str(venv / 'bin' / 'python'),
                               str(ROOT / 'tools/perf/upstream_fill.py'),
                               str(up.conf_path), str(args.queues),
                               str(args.messages)])
            print(out.strip().splitlines()[-1])
            used = source.client().info('memory')['used_memory_human']
            print(f'upstream Redis holds {used}')
            conf = work / 'ours.conf'
            write_config(conf, ours(args.into, work, databases, target.uri))
            command = [str(MANAGE), '--config-file', str(conf),
                       'import-upstream', '--from-config-file',
                       str(up.conf_path), '--no-progress']
            first, out = timed(command)
            print(out.strip())
            second, out = timed(command)
            print(out.strip().splitlines()[-1])
            print(f'\n{args.messages:,} messages in {args.queues:,} queues '
                  f'into {args.into}: import {first:.0f} s '
                  f'({args.messages / first:,.0f} msg/s), run again '
                  f'{second:.0f} s; {cpu()}, '
                  f'{len(os.sched_getaffinity(0))} cores')
        finally:
            databases.drop_all()
            target.stop()
            source.stop()


if __name__ == '__main__':
    main()
