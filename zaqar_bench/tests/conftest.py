"""Fixtures: the real ``zaqar-bench`` command, and servers to point it at.

``zaqar_server`` starts our own Zaqar server (SQLite, one worker, no
auth) in a temporary directory; ``trivial_server`` the constant responder
of the self-check.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from zaqar_bench.selfcheck import TrivialServer
from zaqar_testing import zaqar_servers
from zaqar_testing.zaqar_servers import sqlite_sections


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


@dataclass
class ZaqarServer:
    url: str

    def get_json(self, path: str, project: str) -> dict[str, Any]:
        response = requests.get(self.url + path, timeout=30, headers={
            'Client-ID': str(uuid.uuid4()), 'X-Project-Id': project})
        response.raise_for_status()
        return response.json()


@pytest.fixture(scope='session')
def zaqar_server(tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[ZaqarServer]:
    workdir = tmp_path_factory.mktemp('zaqar-bench-server')
    sections = sqlite_sections(workdir)
    sections['drivers:transport:wsgi']['workers'] = 1
    server = zaqar_servers.ZaqarServer(workdir, sections)
    try:
        server.start()
        yield ZaqarServer(server.url)
    finally:
        server.stop()


@pytest.fixture(scope='session')
def trivial_server() -> Iterator[TrivialServer]:
    with TrivialServer() as server:
        yield server
