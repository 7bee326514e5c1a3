"""The console scripts refuse a configuration with a typo in a guarded
group or a bad value, in one line per problem and exit status 2, before
they create, connect or migrate anything."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent

#: A misconfigured command exits by itself well before this.
TIMEOUT = 60

TYPOS = ('[DEFAULT]\nauth_stratgy = keystone\n'
         '[drivers]\nmessage_storage = redis\n'
         '[drivers:transport:wsgi]\nprot = 8956\n')

TYPO_LINES = [
    'zaqar.conf: [DEFAULT] auth_stratgy is not a known option (did you '
    'mean auth_strategy?)',
    'zaqar.conf: [drivers] message_storage is not a known option (did you '
    'mean message_store?)',
    'zaqar.conf: [drivers:transport:wsgi] prot is not a known option (did '
    'you mean port?)',
]

BAD_PORT = '[drivers:transport:wsgi]\nport = abc\n'
BAD_PORT_LINE = ('zaqar.conf: [drivers:transport:wsgi] port = abc: not a '
                 'valid port number (0-65535)')

COMMANDS = [
    ('zaqar-server',),
    ('zaqar-manage', 'db', 'upgrade'),
    ('zaqar-sql-db-manage', 'upgrade', 'head'),
    ('zaqar-gc',),
    ('zaqar-bridge',),
]


def run(tmp_path: Path, text: str, *command: str,
        config: Path | None = None) -> subprocess.CompletedProcess:
    """``command --config-file zaqar.conf`` on ``text`` plus a state_path
    in ``tmp_path/state`` (which must stay empty)."""
    state = tmp_path / 'state'
    state.mkdir(exist_ok=True)
    conf = tmp_path / 'zaqar.conf'
    conf.write_text(f'[DEFAULT]\nstate_path = {state}\n{text}')
    env = dict(os.environ, HOME=str(tmp_path))
    return subprocess.run(
        [str(BIN / command[0]), '--config-file', str(config or conf),
         *command[1:]],
        cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=TIMEOUT, check=False)


def stderr_lines(result: subprocess.CompletedProcess) -> list[str]:
    """The lines the command itself said on stderr (``name: ...``);
    zaqar-bridge imports oslo.messaging, which prints Python warnings,
    before it reads the configuration. No traceback, whatever else."""
    assert 'Traceback' not in result.stderr, result.stderr
    name = Path(result.args[0]).name
    return [line for line in result.stderr.splitlines()
            if line.startswith(f'{name}: ')]


@pytest.mark.parametrize('command', COMMANDS, ids=lambda c: c[0])
def test_typos_in_guarded_groups_are_refused(tmp_path: Path,
                                            command: tuple[str, ...]
                                            ) -> None:
    result = run(tmp_path, TYPOS, *command)
    assert result.returncode == 2, result.stderr
    assert stderr_lines(result) == [f'{command[0]}: {line}'
                                    for line in TYPO_LINES]
    assert list((tmp_path / 'state').iterdir()) == []


@pytest.mark.parametrize('command', COMMANDS, ids=lambda c: c[0])
def test_a_bad_value_is_refused_before_anything_is_created(
        tmp_path: Path, command: tuple[str, ...]) -> None:
    result = run(tmp_path, BAD_PORT, *command)
    assert result.returncode == 2, result.stderr
    assert stderr_lines(result) == [f'{command[0]}: {BAD_PORT_LINE}']
    assert list((tmp_path / 'state').iterdir()) == []


@pytest.mark.parametrize('command', [*COMMANDS, ('zaqar-status', 'upgrade',
                                                 'check')],
                         ids=lambda c: c[0])
def test_a_missing_config_file_is_one_line(tmp_path: Path,
                                           command: tuple[str, ...]) -> None:
    missing = tmp_path / 'missing.conf'
    result = run(tmp_path, '', *command, config=missing)
    assert result.returncode == 2
    assert stderr_lines(result) == [
        f'{command[0]}: {missing}: no such config file']


def test_status_reports_what_the_server_refuses(tmp_path: Path) -> None:
    result = run(tmp_path, TYPOS, 'zaqar-status', 'upgrade', 'check')
    assert result.returncode == 2, result.stdout + result.stderr
    assert 'Check: Configuration options' in result.stdout
    # The table wraps lines: compare without the layout.
    flat = ' '.join(result.stdout.replace('|', ' ').split())
    assert 'Result: Failure' in flat
    for line in TYPO_LINES:
        assert line in flat
    assert list((tmp_path / 'state').iterdir()) == []


def test_status_refuses_a_bad_value_in_one_line(tmp_path: Path) -> None:
    result = run(tmp_path, BAD_PORT, 'zaqar-status', 'upgrade', 'check')
    assert result.returncode == 2
    assert stderr_lines(result) == [f'zaqar-status: {BAD_PORT_LINE}']


def test_strict_config_false_starts_with_warnings(tmp_path: Path) -> None:
    # It goes on, so it creates the embedded SQLite database, and logs
    # each problem once.
    result = run(tmp_path, 'strict_config = false\n' + TYPOS,
                 'zaqar-manage', 'db', 'upgrade')
    assert result.returncode == 0, result.stderr
    for line in TYPO_LINES:
        assert result.stderr.count(line) == 1, result.stderr
    assert list((tmp_path / 'state').iterdir())


def test_the_wsgi_app_refuses_in_one_line(tmp_path: Path) -> None:
    # What uWSGI or gunicorn would import, in a process of its own.
    state = tmp_path / 'state'
    state.mkdir()
    conf = tmp_path / 'zaqar.conf'
    conf.write_text(f'[DEFAULT]\nstate_path = {state}\n{TYPOS}')
    env = dict(os.environ, HOME=str(tmp_path), ZAQAR_CONFIG_FILE=str(conf))
    result = subprocess.run(
        [sys.executable, '-c',
         'from zaqar_core.conf import checking\n'
         'try:\n'
         '    import zaqar_core.wsgi\n'
         'except checking.ConfigError as exc:\n'
         '    print(exc)\n'],
        cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=TIMEOUT, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == '; '.join(TYPO_LINES) + '\n'
    assert list(state.iterdir()) == []
