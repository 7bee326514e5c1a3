"""``tools/stack.py``'s steps, interrupted or cut short, leave nothing
running and nothing half made that the next ``up`` would trip over."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from zaqar_testing import stack
from zaqar_testing.processes import Process
from zaqar_testing.waiting import eventually

# Forks a child that writes its pid and sleeps, as ``python -m venv``
# runs ensurepip and pip runs a build.
FORKER = '''
import os, sys, time
if os.fork() == 0:
    open(sys.argv[1], 'w').write(str(os.getpid()))
time.sleep(300)
'''

# One step of ``up`` under the signal handler ``up`` runs with.
STEP = '''
import signal, sys
from pathlib import Path
from zaqar_testing import stack
signal.signal(signal.SIGTERM, stack._interrupted)
stack.run([sys.executable, '-c', sys.argv[1], sys.argv[2]],
          Path(sys.argv[3]), 'the forker')
'''


def test_an_interrupted_step_stops_what_its_command_forked(
        tmp_path: Path, processes: list[Process]) -> None:
    pid_file = tmp_path / 'forked.pid'
    outer = Process([sys.executable, '-c', STEP, FORKER, str(pid_file),
                     str(tmp_path / 'step.log')], tmp_path / 'outer.log',
                    cwd=stack.ROOT)
    processes.append(outer)
    outer.wait_until(lambda: pid_file.exists() and pid_file.read_text(),
                     what='forked')
    forked = int(pid_file.read_text())
    try:
        outer.signal(signal.SIGTERM)
        assert outer.wait() != 0
        assert 'KeyboardInterrupt' in outer.log
        assert eventually(lambda: not stack.alive(forked), timeout=5.0), \
            'the forked child outlived the interrupted step'
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(forked, signal.SIGKILL)


def test_a_venv_whose_install_was_cut_short_is_made_afresh(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # What a kill during ensurepip leaves: a Python, no pip, no marker.
    monkeypatch.setattr(stack, 'ROOT', tmp_path)
    venv = tmp_path / 'venv'
    subprocess.run([sys.executable, '-m', 'venv', '--without-pip',
                    str(venv)], check=True)
    python = str(venv / 'bin' / 'python')
    assert subprocess.run([python, '-m', 'pip', '--version'],
                          capture_output=True).returncode != 0
    # 'pip' is there once the venv has pip: nothing to download.
    assert stack.ensure_venv(venv, ['pip'], tmp_path / 'install.log')
    assert subprocess.run([python, '-m', 'pip', '--version'],
                          capture_output=True).returncode == 0
    assert (venv / 'stack-pins.txt').read_text() == 'pip\n'
    assert not stack.ensure_venv(venv, ['pip'], tmp_path / 'install.log')
