"""zaqar-server processes, configured from ini sections, on free ports.

A :class:`ZaqarServer` writes its ``zaqar.conf`` in a directory of its
own, starts ``python -m zaqar_core.cmd.server`` as a
:class:`~.processes.Process` and waits until it answers. It serves HTTP,
or WebSocket when ``[drivers] transport = websocket`` (it answers plain
HTTP too, with 426, which tells that it is up).
"""

from __future__ import annotations

import configparser
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from .ports import HOST
from .ports import free_port
from .processes import Process
from .processes import stop_all
from .processes import tail

#: A bound for a loaded machine, not a claim about start-up time.
STARTUP_TIMEOUT = 90.0
SERVER = [sys.executable, '-m', 'zaqar_core.cmd.server']

#: section -> option -> value, as written to the ini file.
Sections = dict[str, dict[str, Any]]


def write_config(path: Path, sections: Sections) -> None:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    for section, options in sections.items():
        if section != 'DEFAULT':
            parser.add_section(section)
        for key, value in options.items():
            parser.set(section, key, _ini_value(value))
    with open(path, 'w') as fh:
        parser.write(fh)


def _ini_value(value: Any) -> str:
    if isinstance(value, bool):
        return 'True' if value else 'False'
    if isinstance(value, (list, tuple)):
        return ','.join(str(v) for v in value)
    return '' if value is None else str(value)


def merge(base: Sections, extra: Sections) -> Sections:
    """``base`` with the options of ``extra`` over it."""
    merged = {name: dict(opts) for name, opts in base.items()}
    for name, opts in extra.items():
        merged.setdefault(name, {}).update(opts)
    return merged


def answers(url: str) -> bool:
    """Whether anything answers HTTP at ``url``."""
    try:
        requests.get(url, timeout=1)
    except requests.RequestException:
        return False
    return True


def wait_answering(process: Process, url: str,
                   timeout: float = STARTUP_TIMEOUT) -> None:
    """Until ``process`` answers HTTP at ``url``.

    Raises:
        ProcessError: it exited first, or ``timeout`` passed.
    """
    process.wait_until(lambda: answers(url), timeout, f'answering {url}')


def sqlite_sections(workdir: Path, port: int = 0) -> Sections:
    """A server on SQLite in ``workdir``, without auth, two workers."""
    uri = f'sqlite:///{workdir / "zaqar.sqlite"}'
    return {
        'DEFAULT': {'auth_strategy': ''},
        'drivers:transport:wsgi': {'bind': HOST, 'port': port,
                                   'workers': 2},
        'drivers:message_store:sqlalchemy': {'uri': uri},
        'drivers:management_store:sqlalchemy': {'uri': uri},
    }


class ZaqarServer:
    """One zaqar-server and its files in ``workdir``."""

    def __init__(self, workdir: Path, sections: Sections) -> None:
        self.workdir = workdir
        self.sections = sections
        self.conf_path = workdir / 'zaqar.conf'
        self.log_path = workdir / 'server.log'
        self.process: Process | None = None
        self.url = self.probe_url = ''
        self.websocket = \
            sections.get('drivers', {}).get('transport') == 'websocket'
        self._configure(free_port())

    def _configure(self, port: int) -> None:
        if self.websocket:
            self.url = f'ws://{HOST}:{port}'
            self.probe_url = f'http://{HOST}:{port}/'
            group = 'drivers:transport:websocket'
        else:
            self.url = self.probe_url = f'http://{HOST}:{port}'
            group = 'drivers:transport:wsgi'
        write_config(self.conf_path, merge(self.sections, {
            group: {'bind': HOST, 'port': port}}))

    @property
    def log(self) -> str:
        return tail(self.log_path)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.alive()

    def start(self, attempts: int = 3) -> ZaqarServer:
        """Start it and wait until it answers; fail the test if it
        does not."""
        problem = ''
        for _ in range(attempts):
            self.process = Process(
                [*SERVER, '--config-file', str(self.conf_path)],
                self.log_path, cwd=self.workdir)
            problem = self._wait_ready()
            if not problem:
                return self
            self.stop()
            # Retry only when another process took the port meanwhile.
            if 'in use' not in tail(self.log_path, 2000).lower():
                break
            self._configure(free_port())
        pytest.fail(f'{problem}; config {self.conf_path}\n--- server '
                    f'output ---\n{self.log}', pytrace=False)

    def _wait_ready(self) -> str:
        """'' once the server answers ``GET /``, else what went wrong."""
        assert self.process is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if not self.process.alive():
                return f'server exited with {self.process.returncode}'
            try:
                requests.get(self.probe_url, timeout=1)
            except requests.RequestException:
                time.sleep(0.1)
                continue
            # Still alive a moment later: the answer was not from some
            # other process that holds the port while ours failed to bind.
            time.sleep(0.3)
            if not self.process.alive():
                return f'server exited with {self.process.returncode}'
            return ''
        return f'server not answering after {STARTUP_TIMEOUT:.0f} s'

    def terminate(self) -> None:
        """Ask it to shut down, without waiting."""
        if self.process is not None:
            self.process.terminate()

    def kill(self) -> None:
        """Kill it and its workers at once, as a crash would."""
        if self.process is not None:
            self.process.kill()

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()


def stop_servers(servers: list[ZaqarServer]) -> None:
    """Stop them all at once: each takes a moment."""
    stop_all([s.process for s in servers if s.process is not None])
