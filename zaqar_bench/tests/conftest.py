"""Fixtures: the real ``zaqar-bench`` command, and servers to point it at.

``zaqar_server`` starts our own Zaqar server (SQLite, one worker, no
auth) in a temporary directory; ``trivial_server`` the constant responder
of the self-check.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from zaqar_bench.selfcheck import TrivialServer

STARTUP_TIMEOUT = 60.0


def bench_command() -> list[str]:
    """The installed console script, else the same CLI through -m."""
    script = Path(sys.executable).with_name('zaqar-bench')
    if script.exists():
        return [str(script)]
    return [sys.executable, '-m', 'zaqar_bench']


@dataclass
class BenchRun:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, Any]:
        lines = self.stdout.splitlines()
        assert len(lines) == 1, f'expected one JSON line, got {self.stdout!r}'
        return json.loads(lines[0])


def run_bench(*args: str, timeout: float = 120) -> BenchRun:
    done = subprocess.run(bench_command() + list(args), capture_output=True,
                          text=True, timeout=timeout, check=False,
                          stdin=subprocess.DEVNULL)
    return BenchRun(done.returncode, done.stdout, done.stderr)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@dataclass
class ZaqarServer:
    url: str

    def get_json(self, path: str, project: str) -> dict[str, Any]:
        response = requests.get(self.url + path, timeout=30, headers={
            'Client-ID': str(uuid.uuid4()), 'X-Project-Id': project})
        response.raise_for_status()
        return response.json()


def _answers(url: str) -> bool:
    try:
        requests.get(url + '/', timeout=1)
    except requests.RequestException:
        return False
    return True


@pytest.fixture(scope='session')
def zaqar_server(tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[ZaqarServer]:
    workdir = tmp_path_factory.mktemp('zaqar-bench-server')
    port = free_port()
    uri = f'sqlite:///{workdir / "zaqar.sqlite"}'
    (workdir / 'zaqar.conf').write_text(
        '[DEFAULT]\nauth_strategy =\n\n'
        '[drivers]\ntransport = wsgi\nmessage_store = sqlalchemy\n'
        'management_store = sqlalchemy\n\n'
        f'[drivers:transport:wsgi]\nbind = 127.0.0.1\nport = {port}\n'
        'workers = 1\n\n'
        f'[drivers:message_store:sqlalchemy]\nuri = {uri}\n\n'
        f'[drivers:management_store:sqlalchemy]\nuri = {uri}\n')
    log_path = workdir / 'server.log'
    with open(log_path, 'wb') as log:
        # Own process group, so teardown reaches gunicorn's worker too.
        proc = subprocess.Popen(
            [sys.executable, '-m', 'zaqar_core.cmd.server',
             '--config-file', str(workdir / 'zaqar.conf')],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            cwd=workdir, start_new_session=True)
    url = f'http://127.0.0.1:{port}'
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not _answers(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail('zaqar server did not start:\n'
                            + log_path.read_text(errors='replace')[-3000:])
            time.sleep(0.1)
        yield ZaqarServer(url)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


@pytest.fixture(scope='session')
def trivial_server() -> Iterator[TrivialServer]:
    with TrivialServer() as server:
        yield server
