"""Server processes a test starts itself (lifecycle tests), in their own
process group, stopped the way the other fixtures stop theirs (SIGTERM
to the group, then SIGKILL)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from .conftest import tail

SERVER = [sys.executable, '-m', 'zaqar_core.cmd.server']


class Process:
    """A server command in its own process group, output to a log."""

    def __init__(self, command: list[str], workdir: Path,
                 env: dict[str, str] | None = None) -> None:
        self.log_path = workdir / 'server.log'
        with open(self.log_path, 'ab') as log:
            self.proc = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, cwd=workdir,
                env={**os.environ, **(env or {})}, start_new_session=True)

    @property
    def log(self) -> str:
        return tail(self.log_path)

    def wait_ready(self, url: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f'exited with {self.proc.returncode}:\n'
                            f'{self.log}', pytrace=False)
            try:
                requests.get(url + '/', timeout=1)
                return
            except requests.RequestException:
                time.sleep(0.1)
        pytest.fail(f'not answering after {timeout} s:\n{self.log}',
                    pytrace=False)

    def wait_exit(self, timeout: float = 30.0) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f'still running after {timeout} s:\n{self.log}',
                        pytrace=False)

    def terminate(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)


def sqlite_sections(workdir: Path, port: int, **extra: dict) -> dict:
    """A server on SQLite in ``workdir``, HTTP on ``port``."""
    uri = f'sqlite:///{workdir / "zaqar.sqlite"}'
    return {
        'DEFAULT': {'auth_strategy': ''},
        'drivers:transport:wsgi': {'bind': '127.0.0.1', 'port': port,
                                   'workers': 2},
        'drivers:message_store:sqlalchemy': {'uri': uri},
        'drivers:management_store:sqlalchemy': {'uri': uri},
        **extra,
    }


@contextlib.contextmanager
def taken_port() -> Iterator[int]:
    """A loopback port another socket listens on, while the block runs."""
    with socket.socket() as taken:
        taken.bind(('127.0.0.1', 0))
        taken.listen()
        yield taken.getsockname()[1]
