#!/usr/bin/env python3
"""Runs the tempest plugin (``zaqar_tempest_plugin``) against the
functional stack.

Usage::

    python tools/tempest.py [--python .venv/bin/python] [--regex R]
                            [--concurrency N] [tempest run options...]

It brings the stack up (``tools/stack.py up``: Keystone and a fresh
zaqar-server), writes a tempest workspace in ``.stack/tempest`` (its
``etc/tempest.conf`` with the stack's admin credentials, for tempest's
dynamic credentials, and ``.stestr.conf``), and runs ``tempest run``
there. The exit code is tempest's. Logs: ``.stack/tempest/logs``.

Standard library only; tempest itself runs from the project's virtualenv
(where ``pip install -e . -r test-requirements.txt`` put it).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from zaqar_testing import stack  # noqa: E402
from zaqar_testing.ci import IN_CI  # noqa: E402

WORKSPACE = stack.STACK / 'tempest'
DEFAULT_REGEX = '^zaqar_tempest_plugin'
TOTAL = re.compile(r'^ - (Passed|Failed|Skipped): (\d+)$')


def tempest_conf(state: dict[str, Any]) -> str:
    """tempest.conf for the stack; the ``[messaging]`` limits are the
    server's defaults, which the stack's zaqar.conf keeps."""
    admin = state['credentials']['admin']
    return f"""\
# Written by tools/tempest.py; rewritten on every run.
[DEFAULT]
log_dir = {WORKSPACE / 'logs'}
log_file = tempest.log
use_stderr = False

[oslo_concurrency]
lock_path = {WORKSPACE / 'lock'}

[auth]
use_dynamic_credentials = True
create_isolated_networks = False
admin_username = {admin['username']}
admin_password = {admin['password']}
admin_project_name = {admin['project_name']}
admin_domain_name = Default

[identity]
uri_v3 = {state['keystone']['auth_url']}
auth_version = v3
region = {stack.REGION}
v3_endpoint_type = public
admin_role = admin
default_domain_id = default

[identity-feature-enabled]
security_compliance = False

[service_available]
zaqar = True
cinder = False
glance = False
neutron = False
nova = False
swift = False

[validation]
run_validation = False

[service_clients]
http_timeout = 60

[messaging]
catalog_type = messaging
endpoint_type = public
max_queues_per_page = 20
max_queue_metadata = 65536
max_messages_per_page = 20
max_messages_per_claim_or_pop = 20
max_subscriptions_per_page = 20
max_message_ttl = 1209600
max_message_delay = 900
max_messages_post_size = 262144
max_claim_ttl = 43200
max_claim_grace = 43200
# The stack configures [trustee] in zaqar.conf.
trust_notifications = True
notification_timeout = 30
# The stack's zaqar.conf has admin_mode and pooling; SQLite files it
# reaches, one per pool a test registers.
pool_uris = {','.join(f'sqlite:///{stack.POOL_DIR}/tempest-{n}.sqlite'
                      for n in (1, 2, 3))}
"""


def prepare_workspace(state: dict[str, Any], python: str) -> Path:
    """Writes the workspace; returns its tempest.conf."""
    for sub in ('etc', 'logs', 'lock'):
        (WORKSPACE / sub).mkdir(parents=True, exist_ok=True)
    conf = WORKSPACE / 'etc' / 'tempest.conf'
    stack.write_private(conf, tempest_conf(state))
    # Written each time: the tempest it points at is the one of this
    # run's virtualenv (tox's or a developer's).
    located = subprocess.run(
        [python, '-c', 'import os, tempest; '
                       'print(os.path.dirname(tempest.__file__))'],
        capture_output=True, text=True, check=False)
    if located.returncode:
        raise stack.StackError(f'{python} cannot import tempest: pip install '
                               f'-r test-requirements.txt into its venv')
    tempest_dir = Path(located.stdout.strip())
    (WORKSPACE / '.stestr.conf').write_text(
        f'[DEFAULT]\ntest_path={tempest_dir / "test_discover"}\n'
        f'top_dir={tempest_dir.parent}\n')
    return conf


def run_tempest(python: str, conf: Path, regex: str, concurrency: int,
                extra: list[str]) -> tuple[int, dict[str, int]]:
    """``tempest run`` in the workspace, its output passed through; its
    exit code and the totals it printed (passed, failed, skipped)."""
    script = Path(python).parent / 'tempest'
    argv = [str(script)] if script.exists() else \
        [python, '-m', 'tempest.cmd.main']
    argv += ['run', '--config-file', str(conf), '--regex', regex,
             '--concurrency', str(concurrency), *extra]
    env = dict(os.environ, TEMPEST_CONFIG_DIR=str(conf.parent),
               TEMPEST_CONFIG=conf.name)
    stack.log(f'running: {" ".join(argv)}')
    totals = {'passed': 0, 'failed': 0, 'skipped': 0}
    with subprocess.Popen(argv, cwd=WORKSPACE, env=env, text=True,
                          stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT) as process:
        assert process.stdout is not None
        for line in process.stdout:
            sys.stdout.write(line)
            # subunit-trace's summary: " - Passed: 107"
            found = TOTAL.match(line)
            if found:
                totals[found[1].lower()] = int(found[2])
    sys.stdout.flush()
    return process.returncode, totals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog='tools/tempest.py', description=__doc__.split('\n\n')[0],
        epilog='Other options go to "tempest run".')
    parser.add_argument('--python', help="the project venv's python "
                                         '(as for tools/stack.py up)')
    parser.add_argument('--regex', default=DEFAULT_REGEX,
                        help=f'tests to run (default: {DEFAULT_REGEX})')
    parser.add_argument('--concurrency', type=int, default=2,
                        help='test workers (default: 2)')
    parser.add_argument('--down', action='store_true',
                        help='stop the stack afterwards (for CI)')
    args, extra = parser.parse_known_args(argv)
    started = time.monotonic()
    try:
        code, totals = up_and_run(args, extra)
    except stack.StackError as exc:
        stack.log(f'error: {exc}')
        code, totals = 1, {}
    finally:
        if args.down:
            stack.down()
    stack.log(f'tempest exited {code} after {time.monotonic() - started:.0f}'
              f' s (logs: {WORKSPACE / "logs"})')
    # Last, in the plain form CI reads.
    print(f'tempest: {totals.get("passed", 0)} passed, '
          f'{totals.get("failed", 0)} failed, '
          f'{totals.get("skipped", 0)} skipped', flush=True)
    if code == 0 and not totals.get('passed'):
        stack.log('error: no test ran')
        return 1
    if code == 0 and totals.get('skipped') and IN_CI:
        # Every test of the plugin can run against the stack: a skip
        # means a feature or a service went missing.
        stack.log('error: tests were skipped (CI=true)')
        return 1
    return code



def up_and_run(args: argparse.Namespace,
               extra: list[str]) -> tuple[int, dict[str, int]]:
    """Brings the stack up, then runs tempest while holding it in use.

    Raises:
        StackError: the stack could not be brought up, or went down
            before tempest started.
    """
    stack.up(args.python)
    with stack.running() as state:
        python = state['zaqar']['python']
        conf = prepare_workspace(state, python)
        return run_tempest(python, conf, args.regex, args.concurrency,
                           extra)

if __name__ == '__main__':
    sys.exit(main())
