"""The pytest side of the harness (``-p zaqar_testing.pytest_plugin``).

In the controlling pytest process (not in pytest-xdist's workers, which
inherit what it sets), before anything starts:

* the run gets an id (``ZAQAR_TEST_RUN``, kept if the caller set one
  outside any test run) and
  a directory that is its ``TMPDIR``, so pytest's ``tmp_path`` and every
  temporary file of every process it starts live there;
* the run's janitor (:mod:`.janitor`) starts.

SIGTERM ends the run as Ctrl-C does: fixtures tear down. When the session
ends, anything of the run still alive or existing is a fixture's fault:
it is reported, removed, and fails a run that had passed. Then the
janitor removes the run's directory; had pytest died instead, the
janitor would have removed everything.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from . import janitor
from . import leftovers
from . import run
from .processes import Process
from .processes import stop_all

REPORT_VAR = 'ZAQAR_TEST_LEFTOVERS_REPORT'

_janitor: janitor.Janitor | None = None


def _controller(config: pytest.Config) -> bool:
    return not hasattr(config, 'workerinput')


#: The process whose SIGTERM ends the run (set when pytest starts).
_PYTEST_PID = 0
#: What ends a run as Ctrl-C does.
_INTERRUPTS = (signal.SIGTERM, signal.SIGINT)


def _interrupt(signum: int, frame: Any) -> None:
    if os.getpid() != _PYTEST_PID:
        # A child that pytest forked (a multiprocessing worker) inherited
        # this handler: end as the signal would have ended it.
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    # Once: a second interrupt would cut the fixtures' teardown short,
    # and an xdist worker gets more (execnet sends itself a SIGINT when
    # its controller has been gone 5 s). Not SIG_IGN, which the processes
    # the fixtures start would inherit.
    for each in _INTERRUPTS:
        signal.signal(each, _once_only)
    # A SIGTERM reaches this process alone, not its xdist workers, which
    # pytest-xdist then lets run tests for 5 s more and kills 10 s after
    # the interrupt, whatever their fixtures were doing: they stop now and
    # tear down in that time instead.
    for worker in leftovers.xdist_workers(os.getpid()):
        with contextlib.suppress(ProcessLookupError):
            os.kill(worker, signum)
    raise KeyboardInterrupt(f'signal {signum}')


def _once_only(signum: int, frame: Any) -> None:
    """After the first interrupt: let the teardown finish."""


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    global _janitor, _PYTEST_PID
    _PYTEST_PID = os.getpid()
    for signum in _INTERRUPTS:
        signal.signal(signum, _interrupt)
    if not _controller(config):
        return
    # An id given by whoever started pytest (the leftovers check), not one
    # inherited from an enclosing test run (a test that runs pytest).
    given = run.current() if run.directory() is None else None
    run_id = given or run.new_id()
    directory = Path(tempfile.mkdtemp(prefix=f'zaqar-test-{run_id}-'))
    (directory / 'tmp').mkdir()
    os.environ[run.RUN_VAR] = run_id
    os.environ[run.DIR_VAR] = str(directory)
    os.environ[run.TMPDIR_WAS_VAR] = os.environ.get('TMPDIR', '')
    os.environ['TMPDIR'] = str(directory / 'tmp')
    tempfile.tempdir = None  # gettempdir() reads TMPDIR again
    _janitor = janitor.start(run_id, directory)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """After the fixtures' teardown (and every xdist worker's end)."""
    if not _controller(session.config) or _janitor is None:
        return
    run_id = run.current()
    assert run_id is not None
    me = os.getpid()
    left = leftovers.remove(run_id, spare=[
        me, _janitor.pid, *leftovers.interpreter_helpers(me)])
    if not left:
        return
    lines = left.lines()
    report = os.environ.get(REPORT_VAR)
    if report:
        with open(report, 'a') as fh:
            fh.write(''.join(f'{line}\n' for line in lines))
    reporter = session.config.pluginmanager.get_plugin('terminalreporter')
    if reporter is not None:
        reporter.section('left behind by the fixtures (now removed)',
                         sep='!', red=True)
        for line in lines:
            reporter.line(line)
    if exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_unconfigure(config: pytest.Config) -> None:
    global _janitor
    if _janitor is not None and _controller(config):
        _janitor.finish()
        _janitor = None


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    """Processes a test starts itself (append them): stopped at its end,
    whatever the test did to them."""
    started: list[Process] = []
    yield started
    stop_all(started)
