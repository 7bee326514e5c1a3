"""Instructions per request of the WSGI app itself, counted by callgrind:
the same count on every run, whatever else the machine is doing, so a
change of a few percent shows (timings here move by ten)::

    python tools/perf/instructions.py --config-file zaqar.conf
    python tools/perf/instructions.py --config-file zaqar.conf \\
        --scenario post-10 --requests 300

Builds the app as a server worker does (see hotpath.py), warms it up,
then runs the scenario under ``valgrind --tool=callgrind`` with counting
switched on only around the measured loop (``callgrind_control``), and
prints instructions per iteration: a post of one message, a post of ten,
or a post of ten with the claim of them and their ten deletes. The
storage is the configured one; its server's own work is not counted.
Needs valgrind (Debian's package).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import hotpath  # noqa: E402

POST_10 = json.dumps({'messages': [{'ttl': 300, 'body': {
    'event': 'bench', 'padding': 'x' * 200}}] * 10}).encode()


def scenarios(app) -> dict:
    def post_1() -> None:
        hotpath.call(app, hotpath.environ(
            'POST', '/v2/queues/hot/messages', body=hotpath.BODY))

    def post_10() -> None:
        hotpath.call(app, hotpath.environ(
            'POST', '/v2/queues/hot/messages', body=POST_10))

    def claim_delete() -> None:
        post_10()
        _, body = hotpath.call(app, hotpath.environ(
            'POST', '/v2/queues/hot/claims', 'limit=10',
            b'{"ttl": 60, "grace": 60}'))
        for message in json.loads(body)['messages']:
            path, _, query = message['href'].partition('?')
            hotpath.call(app, hotpath.environ('DELETE', path, query))

    return {'post-1': post_1, 'post-10': post_10,
            'claim-delete': claim_delete}


def tool(name: str) -> str:
    """The full path of valgrind's program ``name``."""
    found = shutil.which(name)
    if found is None:
        raise SystemExit(f'{name} is not installed (Debian: valgrind)')
    return found


def measured(rest: list[str], scenario: str, requests: int) -> None:
    """In the process under callgrind: warm up, then count."""
    from zaqar_core import bootstrap
    from zaqar_core.cmd import common
    from zaqar_plugins.transport.wsgi import app as wsgi_app
    conf = common.parse_config(rest)
    bootstrap.resolve_embedded_defaults(conf)
    bootstrap.upgrade_embedded_stores(conf)
    run = scenarios(wsgi_app.setup_app(conf, bootstrap.make_api(conf)))[
        scenario]
    for _ in range(200):
        run()
    control, me = tool('callgrind_control'), str(os.getpid())
    subprocess.run([control, '-i', 'on', me], check=True,
                   capture_output=True)
    for _ in range(requests):
        run()
    subprocess.run([control, '-i', 'off', me], check=True,
                   capture_output=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--scenario', default='post-1',
                        choices=['post-1', 'post-10', 'claim-delete'])
    parser.add_argument('--requests', type=int, default=600,
                        help='iterations counted')
    parser.add_argument('--inside', action='store_true',
                        help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args(argv)
    if args.inside:
        measured(rest, args.scenario, args.requests)
        return 0
    with tempfile.TemporaryDirectory(prefix='zaqar-callgrind-') as tmp:
        out = subprocess.run(
            [tool('valgrind'), '--tool=callgrind', '--instr-atstart=no',
             f'--callgrind-out-file={tmp}/callgrind.out', sys.executable,
             __file__, '--inside', '--scenario', args.scenario,
             '--requests', str(args.requests), *rest],
            capture_output=True, text=True, check=False)
    counted = re.findall(r'Collected : (\d+)', out.stderr)
    if out.returncode != 0 or not counted:
        raise SystemExit(f'callgrind failed:\n{out.stderr[-3000:]}')
    print(f'{args.scenario}: {int(counted[-1]) // args.requests:,} '
          f'instructions per iteration')
    return 0


if __name__ == '__main__':
    sys.exit(main())
