"""Processes the tests start: servers, clients, tools.

Each runs in a session (and process group) of its own, so that stopping
it reaches everything it forked (a server's workers) and a Ctrl-C meant
for pytest reaches the fixtures' teardown first. Unless ``detached``,
it gets SIGTERM when the thread that started it dies (Linux's parent
death signal), and like every process of a test run it carries the run's
id (:mod:`.run`), by which the janitor finds it whatever else happens.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from pathlib import Path
from typing import Any

_PR_SET_PDEATHSIG = 1
STOP_TIMEOUT = 10.0


class ProcessError(Exception):
    """A process exited, or did not get ready, when it should have."""


def _die_with(parent: int) -> None:
    """In the child before exec: SIGTERM when the parent goes away.

    SIGTERM, not SIGKILL: a server then stops its own workers too.
    """
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # it died before prctl took effect
        os._exit(1)


def tail(path: Path, limit: int = 20000) -> str:
    """The end of a log file, or why there is none."""
    try:
        return path.read_text(errors='replace')[-limit:]
    except OSError as exc:
        return f'(no output: {exc})'


class Process:
    """``argv`` running with its output in ``log_path`` (with None, in
    the text pipes ``proc.stdout`` and ``proc.stderr``, for the caller
    to read).

    ``detached`` processes are meant to outlive their starter (the
    functional stack of ``tools/stack.py``): no death signal.
    """

    def __init__(self, argv: Sequence[str], log_path: Path | None,
                 cwd: Path | None = None,
                 env: Mapping[str, str] | None = None,
                 extra_env: Mapping[str, str] | None = None,
                 detached: bool = False) -> None:
        self.argv = list(argv)
        self.log_path = log_path
        # The death signal follows the thread that forks: only tie it to
        # the main thread, which lives as long as the process.
        tie = not detached and \
            threading.current_thread() is threading.main_thread()
        options: dict[str, Any] = dict(
            stdin=subprocess.DEVNULL, cwd=cwd,
            env={**(os.environ if env is None else env),
                 **(extra_env or {})},
            start_new_session=True,
            preexec_fn=functools.partial(_die_with, os.getpid())
            if tie else None)
        if log_path is None:
            self.proc = subprocess.Popen(
                self.argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True, **options)
            return
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, 'ab') as log:
            self.proc = subprocess.Popen(
                self.argv, stdout=log, stderr=subprocess.STDOUT, **options)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _peek(self) -> int | None:
        """The exit status once the leader exited, without reaping it:
        while it is a zombie its pid, so its group's id, is not
        recycled (pid_max may be 32768, and a run starts thousands of
        processes) and its group may still hold workers to kill."""
        if self.proc.returncode is not None:
            return self.proc.returncode
        try:
            info = os.waitid(os.P_PID, self.proc.pid,
                             os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return self.proc.poll()
        if info is None:
            return None
        if info.si_code == os.CLD_EXITED:
            return info.si_status
        return -info.si_status

    @property
    def returncode(self) -> int | None:
        return self._peek()

    def alive(self) -> bool:
        return self._peek() is None

    def group(self) -> list[int]:
        """The live (not zombie) processes of its group: the leader and
        whatever it forked that is still running."""
        members = []
        for entry in os.scandir('/proc'):
            if not entry.name.isdigit():
                continue
            try:
                with open(f'/proc/{entry.name}/stat', 'rb') as fh:
                    fields = fh.read().rsplit(b')', 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == self.proc.pid and fields[0] != b'Z':
                members.append(int(entry.name))
        return members

    @property
    def log(self) -> str:
        if self.log_path is None:
            return '(output read by the caller)'
        return tail(self.log_path)

    def wait_until(self, ready: Callable[[], bool], timeout: float = 30.0,
                   what: str = 'ready', interval: float = 0.05) -> None:
        """Poll ``ready()`` until it holds.

        Raises:
            ProcessError: the process exited first, or ``timeout`` passed.
        """
        deadline = time.monotonic() + timeout
        while True:
            if not self.alive():
                raise ProcessError(f'exited with {self.returncode} '
                                   f'before {what}:\n{self.log}')
            if ready():
                return
            if time.monotonic() > deadline:
                raise ProcessError(f'not {what} after {timeout:g} s:\n'
                                   f'{self.log}')
            time.sleep(interval)

    def wait(self, timeout: float = 30.0) -> int:
        """The exit status, once it exits.

        Raises:
            ProcessError: still running after ``timeout``.
        """
        if not self._exits_within(timeout):
            raise ProcessError(f'still running after {timeout:g} s:\n'
                               f'{self.log}')
        code = self.returncode
        assert code is not None
        return code

    def _exits_within(self, timeout: float) -> bool:
        """Whether the leader exits within ``timeout`` (not reaped)."""
        deadline = time.monotonic() + timeout
        while self.alive():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def signal(self, signum: int) -> None:
        """Send ``signum`` to the process only (not its workers)."""
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signum)

    def terminate(self) -> None:
        """SIGTERM to the whole group, without waiting."""
        self._killpg(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL to the whole group at once, as a crash would; then
        the leader is reaped."""
        self._killpg(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(STOP_TIMEOUT)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM, then SIGKILL to whatever of the group is left after
        ``timeout``; safe to call more than once."""
        if self.alive():
            self.terminate()
            self._exits_within(timeout)
        # The rest of the group (workers) even when the leader is gone.
        self.kill()

    def _killpg(self, signum: int) -> None:
        """Signal the group, whose id is the leader's pid: only while
        the leader is not reaped (see :meth:`_peek`)."""
        if self.proc.returncode is not None:
            return  # reaped: the id may be another group's by now
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signum)


def stop_all(processes: Sequence[Process],
             timeout: float = STOP_TIMEOUT) -> None:
    """Stop several at once: each may take a moment to finish its
    requests, and they do so in parallel."""
    for process in processes:
        if process.alive():
            process.terminate()
    deadline = time.monotonic() + timeout
    for process in processes:
        process._exits_within(max(0.0, deadline - time.monotonic()))
    for process in processes:
        process.kill()
