#!/usr/bin/env python3
"""Runs the Rally task of ``rally-jobs/`` against the functional stack.

Usage::

    python tools/rally.py [--times N] [--concurrency N] [--no-up]
                          [--python .venv/bin/python] [--task FILE]

Steps:

1. ``tools/stack.py``'s ``up`` (Keystone and this checkout's
   zaqar-server; skip it with ``--no-up`` when the stack already runs).
   Steps 4 and 5 hold the stack in use (``stack.running()``), so that
   nobody's ``up`` or ``down`` restarts it under the task.
2. A virtualenv ``.stack/rally-venv`` with the pinned :data:`RALLY_PINS`
   from PyPI, made once and reinstalled only when the pins change.
3. Rally's own state in ``.stack/rally/``: ``rally.conf``, its SQLite
   database, the environment spec and the HTML report.
4. An ``existing@openstack`` environment (``zaqar-stack``) from the
   stack's admin credentials, recreated on every run (the stack's ports
   and passwords may have changed), and ``rally env check``.
5. ``rally task start rally-jobs/zaqar.yaml`` with the in-tree plugins of
   ``rally-jobs/plugins``; then ``rally task detailed`` (per workload: the
   table of atomic actions and their durations, success rate),
   ``rally task sla-check`` and ``rally task report --html-static``.

Exits 0 when every workload ran and every SLA passed, 2 when an SLA
failed, 1 when something else went wrong. Needs only the standard
library.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from zaqar_testing import stack  # noqa: E402

ROOT = stack.ROOT
RALLY_VENV = stack.STACK / 'rally-venv'
RALLY_DIR = stack.STACK / 'rally'
#: What the Rally virtualenv holds (all install on Python 3.11); a change
#: reinstalls it.
RALLY_PINS = ('rally==5.1.1', 'rally-openstack==4.1.0',
              'python-zaqarclient==4.7.0')
TASK = ROOT / 'rally-jobs' / 'zaqar.yaml'
PLUGINS = ROOT / 'rally-jobs' / 'plugins'
ENV_NAME = 'zaqar-stack'

EXIT_OK, EXIT_ERROR, EXIT_SLA = 0, 1, 2


class RallyError(Exception):
    """A step failed; the message says which and why."""


def log(message: str) -> None:
    print(f'rally.py: {message}', file=sys.stderr, flush=True)


def clean_env() -> dict[str, str]:
    """The environment without OS_* variables: Rally must use the spec,
    not whatever cloud the caller's shell points at."""
    return {k: v for k, v in os.environ.items() if not k.startswith('OS_')}


def run(argv: list[str], what: str, capture: bool = False,
        check: bool = True) -> subprocess.CompletedProcess:
    log(f'$ {shlex.join(argv)}')
    result = subprocess.run(argv, cwd=ROOT, env=clean_env(), text=True,
                            capture_output=capture, check=False,
                            stdin=subprocess.DEVNULL)
    if check and result.returncode != 0:
        output = ''
        if capture:
            output = '\n' + (result.stdout + result.stderr)[-3000:]
        raise RallyError(f'{what} failed (exit {result.returncode}){output}')
    return result


# -- the Rally virtualenv and state ----------------------------------------

def rally_bin() -> str:
    return str(RALLY_VENV / 'bin' / 'rally')


def rally_conf() -> Path:
    """rally.conf: the database and the log in ``.stack/rally/``."""
    conf = RALLY_DIR / 'rally.conf'
    stack.write_private(conf, f"""\
# Written by tools/rally.py on every run.
[DEFAULT]
log_file = {RALLY_DIR / 'rally.log'}

[database]
connection = sqlite:///{RALLY_DIR / 'rally.sqlite'}
""")
    return conf


def env_spec(state: dict) -> Path:
    """The ``existing@openstack`` spec: the stack's admin; Rally's users
    context makes temporary projects and users (role ``member``)."""
    admin = state['credentials']['admin']
    spec = {'existing@openstack': {
        'auth_url': state['keystone']['auth_url'],
        'region_name': state['keystone'].get('region', 'RegionOne'),
        'endpoint_type': 'public',
        'admin': {
            'username': admin['username'], 'password': admin['password'],
            'project_name': admin['project_name'],
            'user_domain_name': 'Default',
            'project_domain_name': 'Default'},
    }}
    path = RALLY_DIR / 'env-spec.json'
    stack.write_private(path, json.dumps(spec, indent=2) + '\n')
    return path


class Rally:
    """``rally --config-file .stack/rally/rally.conf ...``."""

    def __init__(self, conf: Path) -> None:
        self.base = [rally_bin(), '--config-file', str(conf),
                     '--plugin-paths', str(PLUGINS)]

    def __call__(self, *args: str, what: str | None = None,
                 capture: bool = False, check: bool = True
                 ) -> subprocess.CompletedProcess:
        return run([*self.base, *args], what or f'rally {args[0]} {args[1]}',
                   capture=capture, check=check)


def recreate_env(rally: Rally, spec: Path) -> None:
    envs = json.loads(rally('env', 'list', '--json', capture=True).stdout
                      or '[]')
    if any(env.get('name') == ENV_NAME for env in envs):
        rally('env', 'delete', ENV_NAME, '--force')
    rally('env', 'create', '--name', ENV_NAME, '--spec', str(spec),
          '--no-use')
    rally('env', 'check', ENV_NAME, '--detailed')


# -- the task --------------------------------------------------------------

TASK_ID = re.compile(r'Task\s+([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-'
                     r'[0-9a-f]{4}-[0-9a-f]{12})')


#: Lines of ``rally task start`` worth showing as it runs; all of them go
#: to ``.stack/rally/task-start.log``.
PROGRESS = re.compile(r'input file is valid|Platform existing|'
                      r'Finished workload|END: Error|ERROR \S+ \[-\]|'
                      r'Task config is invalid')


def start_task(rally: Rally, task: Path, task_args: dict) -> tuple[str, int]:
    """Runs the task; its uuid and rally's exit code (0 ok, 1 error, 2 an
    SLA failed)."""
    argv = [*rally.base, 'task', 'start', str(task), '--env', ENV_NAME,
            '--task-args', json.dumps(task_args), '--no-use']
    log(f'$ {shlex.join(argv)}')
    task_log = RALLY_DIR / 'task-start.log'
    log(f'its whole output: {task_log}')
    uuid = None
    with open(task_log, 'w') as out, subprocess.Popen(
            argv, cwd=ROOT, env=clean_env(), text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            out.write(line)
            if PROGRESS.search(line):
                print(f'  {line.rstrip()[:200]}', flush=True)
            if uuid is None:
                match = TASK_ID.search(line)
                if match:
                    uuid = match.group(1)
    if uuid is None:
        raise RallyError(f'rally task start (exit {proc.returncode}) '
                         f'printed no task id; see {task_log}')
    return uuid, proc.returncode


def overview(rally: Rally, uuid: str) -> str:
    """One line per workload from ``rally task report --json``:
    iterations, failures and the iteration duration percentiles."""
    path = RALLY_DIR / f'report-{uuid}.json'
    rally('task', 'report', uuid, '--json', '--out', str(path),
          capture=True)
    report = json.loads(path.read_text())
    header = ('workload', 'runner', 'iter', 'fail', 'min', 'median',
              '95%ile', 'max', 'avg', 'load s', 'SLA')
    rows = []
    for task in report['tasks']:
        for subtask in task['subtasks']:
            for workload in subtask['workloads']:
                (name, _), = workload['scenario'].items()
                (kind, runner), = workload['runner'].items()
                total = workload['statistics']['durations']['total']['data']
                rows.append((
                    name, f'{kind} {runner.get("times")}x'
                          f'{runner.get("concurrency")}',
                    str(workload['total_iteration_count']),
                    str(workload['failed_iteration_count']),
                    *(f'{total[k]:.3f}' if isinstance(total[k], float)
                      else str(total[k])
                      for k in ('min', 'median', '95%ile', 'max', 'avg')),
                    f'{workload["load_duration"]:.1f}',
                    'PASS' if workload['pass_sla'] else 'FAIL'))
    widths = [max(len(r[i]) for r in [header, *rows])
              for i in range(len(header))]

    def line(cells):
        return '| ' + ' | '.join(c.ljust(w) if i < 2 else c.rjust(w)
                                 for i, (c, w) in
                                 enumerate(zip(cells, widths, strict=True))
                                 ) + ' |'

    rule = '+' + '+'.join('-' * (w + 2) for w in widths) + '+'
    return '\n'.join([rule, line(header), rule, *map(line, rows), rule])


def sla_results(rally: Rally, uuid: str) -> tuple[list[dict], bool]:
    result = rally('task', 'sla-check', uuid, '--json', capture=True,
                   check=False)
    try:
        rows = json.loads(result.stdout)
    except ValueError:
        raise RallyError(f'rally task sla-check printed no JSON:\n'
                         f'{result.stdout}{result.stderr}') from None
    return rows, bool(rows) and all(passed(row) for row in rows)


def passed(row: dict) -> bool:
    # Rally 5 says "status": "PASS"; older ones "success": true.
    return row.get('status', 'PASS' if row.get('success') else 'FAIL') \
        == 'PASS'


def print_sla(rows: list[dict]) -> None:
    print('\nSLA')
    width = max([len(r.get('benchmark', '')) for r in rows] + [8])
    crit = max([len(r.get('criterion', '')) for r in rows] + [9])
    print(f'{"workload":<{width}}  {"criterion":<{crit}}  result  detail')
    for row in rows:
        print(f'{row.get("benchmark", ""):<{width}}  '
              f'{row.get("criterion", ""):<{crit}}  '
              f'{"PASS" if passed(row) else "FAIL":<6}  '
              f'{row.get("detail", "")}')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog='tools/rally.py', description=__doc__.split('\n\n')[0])
    parser.add_argument('--times', type=int, default=30,
                        help='iterations per workload (default 30)')
    parser.add_argument('--concurrency', type=int, default=3,
                        help='parallel iterations (default 3)')
    parser.add_argument('--tenants', type=int, default=2,
                        help='temporary projects (default 2)')
    parser.add_argument('--users', type=int, default=1,
                        help='temporary users per project (default 1)')
    parser.add_argument('--task', type=Path, default=TASK,
                        help='the task file (default rally-jobs/zaqar.yaml)')
    parser.add_argument('--no-up', action='store_true',
                        help='use the running stack; no "stack.py up"')
    parser.add_argument('--python',
                        help='the project venv python, for stack.py up')
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        if not args.no_up:
            stack.up(args.python)
        stack.ensure_venv(RALLY_VENV, RALLY_PINS,
                          stack.STACK / 'rally-install.log')
        conf = rally_conf()
        rally = Rally(conf)
        rally('db', 'ensure')
        # Nobody's "stack.py up" or "down" restarts the stack meanwhile.
        with stack.running() as state:
            recreate_env(rally, env_spec(state))
            uuid, code = start_task(rally, args.task.resolve(), {
                'times': args.times, 'concurrency': args.concurrency,
                'tenants': args.tenants, 'users': args.users})
        # Rally's own results: per workload, the table of atomic actions.
        print(rally('task', 'detailed', uuid, capture=True,
                    check=False).stdout)
        rows, sla_ok = sla_results(rally, uuid)
        report = RALLY_DIR / f'report-{uuid}.html'
        rally('task', 'report', uuid, '--html-static', '--out', str(report),
              capture=True, check=False)
        print(f'\nTask {uuid}: iteration durations in seconds')
        print(overview(rally, uuid))
        print_sla(rows)
    except (RallyError, stack.StackError) as exc:
        log(f'error: {exc}')
        return EXIT_ERROR
    log(f'task {uuid}: rally exit {code}, SLA '
        f'{"passed" if sla_ok else "FAILED"}; report {report}; '
        f'{time.monotonic() - started:.0f} s in all')
    if not sla_ok or code == EXIT_SLA:
        return EXIT_SLA
    return EXIT_OK if code == 0 else EXIT_ERROR


if __name__ == '__main__':
    sys.exit(main())
