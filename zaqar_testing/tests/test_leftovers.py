"""A test run leaves nothing behind, however it ends: each test here runs
pytest on a small test file that starts what the suite starts (a
process that forks, one that ignores SIGTERM, a throwaway PostgreSQL
database, temporary files), under ``python -m zaqar_testing.leftovers``,
the check CI runs, and ends it a different way."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from zaqar_testing import run

INNER = '''
import os
import sys
import time
from pathlib import Path

from zaqar_testing.databases import PostgresDatabase
from zaqar_testing.processes import Process

# Forks a child and waits; the child ignores SIGTERM, as a stuck worker
# would.
FORKER = """
import os, signal, time
if os.fork() == 0:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
time.sleep(300)
"""


def test_starts_things(tmp_path, processes, request):
    database = PostgresDatabase()
    request.addfinalizer(database.drop)
    process = Process([sys.executable, '-c', FORKER], tmp_path / 'log')
    if os.environ.get('INNER_LEAK') is None:
        processes.append(process)
    (tmp_path / 'data').write_text('x')
    ready = os.environ.get('INNER_READY')
    if ready:
        Path(ready).write_text(database.name)
        time.sleep(300)
'''


def check(tmp_path: Path, *options: str, **env: str
          ) -> subprocess.CompletedProcess:
    (tmp_path / 'test_inner.py').write_text(textwrap.dedent(INNER))
    return subprocess.run(
        # Busy: the rest of the suite starts servers meanwhile.
        [sys.executable, '-m', 'zaqar_testing.leftovers', '--busy-machine',
         *options, '--',
         sys.executable, '-m', 'pytest', '-p', 'no:cacheprovider',
         '-p', 'zaqar_testing.pytest_plugin', '-q',
         str(tmp_path / 'test_inner.py')],
        cwd=tmp_path, capture_output=True, text=True, timeout=240,
        check=False, env={**run.untracked_env(), **env})


@pytest.mark.parametrize('signal_name', ['TERM', 'INT', 'KILL'])
def test_an_interrupted_run_leaves_nothing(tmp_path: Path,
                                           signal_name: str) -> None:
    ready = tmp_path / 'ready'
    done = check(tmp_path, '--interrupt', signal_name, '--after', '0.5',
                 '--after-file', str(ready), INNER_READY=str(ready))
    assert done.returncode == 0, done.stdout + done.stderr
    assert ready.read_text().startswith(run.DATABASE_PREFIX)
    assert f'SIG{signal_name} after' in done.stdout
    assert '0 left behind' in done.stdout


def test_a_green_run_leaves_nothing(tmp_path: Path) -> None:
    done = check(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert '1 passed' in done.stdout
    assert 'exit 0' in done.stdout and '0 left behind' in done.stdout


def test_what_a_fixture_leaves_fails_a_green_run_and_is_removed(
        tmp_path: Path) -> None:
    done = check(tmp_path, INNER_LEAK='1')
    assert done.returncode == 1, done.stdout + done.stderr
    assert 'left behind by the fixtures' in done.stdout
    # The forker and its child, found by the run's end; nothing after.
    assert done.stdout.count('found at the end of the run: process') == 2
    assert 'exit 1' in done.stdout
