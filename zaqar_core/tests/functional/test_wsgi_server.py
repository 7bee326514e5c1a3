"""The server processes themselves, on SQLite: ``zaqar-server`` (granian
in process) and ``zaqar_core.wsgi`` under ``etc/uwsgi.ini``.

Each test starts its own processes, in their own process group, and stops
them the way the other fixtures do (SIGTERM to the group, then SIGKILL).
"""

from __future__ import annotations

import json
import re
import socket
import sys
import time
import uuid
from pathlib import Path

import pytest

from zaqar_testing.ports import free_port
from zaqar_testing.ports import taken_port
from zaqar_testing.processes import Process
from zaqar_testing.zaqar_servers import SERVER
from zaqar_testing.zaqar_servers import sqlite_sections
from zaqar_testing.zaqar_servers import wait_answering
from zaqar_testing.zaqar_servers import write_config

from .conftest import EXTERNAL_URL
from .helpers import ApiClient

pytestmark = pytest.mark.skipif(
    bool(EXTERNAL_URL), reason='starts its own servers')

UWSGI_INI = Path(__file__).parents[3] / 'etc' / 'uwsgi.ini'
# uWSGI from the pyuwsgi wheel, in this interpreter.
UWSGI = [sys.executable, '-c',
         'import sys, pyuwsgi; pyuwsgi.run(*sys.argv[1:])']
def uwsgi_ini(workdir: Path, port: int, config_files: str,
              **changes: str) -> Path:
    """etc/uwsgi.ini with its socket, config files and ``changes``."""
    text = UWSGI_INI.read_text()
    text = re.sub(r'(?m)^http-socket = .*$',
                  f'http-socket = 127.0.0.1:{port}', text)
    text = re.sub(r'(?m)^env = ZAQAR_CONFIG_FILE=.*$',
                  f'env = ZAQAR_CONFIG_FILE={config_files}', text)
    for key, value in changes.items():
        text, count = re.subn(rf'(?m)^{key} = .*$', f'{key} = {value}',
                              text)
        assert count == 1, key
    path = workdir / 'uwsgi.ini'
    path.write_text(text)
    return path


def post_head(port: int, queue: str, length: int) -> bytes:
    """The head of a message post to ``queue`` (project p) announcing a
    body of ``length`` bytes."""
    return (f'POST /v2/queues/{queue}/messages HTTP/1.1\r\n'
            f'Host: 127.0.0.1:{port}\r\n'
            f'Client-ID: {uuid.uuid4()}\r\nX-Project-Id: p\r\n'
            f'Content-Type: application/json\r\n'
            f'Content-Length: {length}\r\n\r\n').encode()


def round_trip(url: str) -> None:
    client = ApiClient(url)
    client.create_queue('jobs')
    ids = client.post_messages('jobs', {'task': 'resize'})
    assert [m['id'] for m in client.list_messages('jobs')] == ids
    assert client.list_messages('jobs')[0]['body'] == {'task': 'resize'}


def test_wsgi_module_under_uwsgi_ini_on_sqlite(
        tmp_path: Path, processes: list[Process]) -> None:
    port = free_port()
    base = tmp_path / 'zaqar.conf'
    write_config(base, sqlite_sections(tmp_path, port))
    # A second file, as ZAQAR_CONFIG_FILE may list several.
    admin = tmp_path / 'admin.conf'
    write_config(admin, {'DEFAULT': {'admin_mode': True}})
    ini = uwsgi_ini(tmp_path, port, f'{base},{admin}')
    process = Process([*UWSGI, '--ini', str(ini)],
                      tmp_path / 'server.log', cwd=tmp_path)
    processes.append(process)
    url = f'http://127.0.0.1:{port}'
    wait_answering(process, url)

    round_trip(url)  # on a schema the first worker created
    # Routed only with admin_mode, which the second file turns on.
    health = ApiClient(url).get('/v2/health', headers={'X-Roles': 'admin'})
    assert health.status_code == 200, health.text
    assert health.headers['Connection'] == 'close'

    process.terminate()
    assert process.wait() == 0, process.log


def test_uwsgi_stops_while_its_workers_start_on_sqlite(
        tmp_path: Path, processes: list[Process]) -> None:
    # Stopped while the workers still import and build the app: they
    # must not go on serving with the master waiting on them.
    port = free_port()
    conf = tmp_path / 'zaqar.conf'
    write_config(conf, sqlite_sections(tmp_path, port))
    ini = uwsgi_ini(tmp_path, port, str(conf))
    process = Process([*UWSGI, '--ini', str(ini)],
                      tmp_path / 'server.log', cwd=tmp_path)
    processes.append(process)
    deadline = time.monotonic() + 30
    while process.log.count('(post-fork)') < 6:  # 3 hooks, 2 workers
        assert time.monotonic() < deadline, process.log
        time.sleep(0.01)
    # uWSGI logs each hook before it runs it: a signal at once could
    # arrive before the last one is installed. Building the app takes
    # over a second, so this is still while the workers build it.
    time.sleep(0.2)
    process.terminate()
    process.wait(timeout=10)


def test_wsgi_module_refuses_to_load_in_the_uwsgi_master_on_sqlite(
        tmp_path: Path, processes: list[Process]) -> None:
    port = free_port()
    conf = tmp_path / 'zaqar.conf'
    write_config(conf, sqlite_sections(tmp_path, port))
    ini = uwsgi_ini(tmp_path, port, str(conf), **{'lazy-apps': 'false'})
    process = Process([*UWSGI, '--ini', str(ini)],
                      tmp_path / 'server.log', cwd=tmp_path)
    processes.append(process)
    assert process.wait() != 0
    assert 'lazy-apps = true' in process.log


def test_zaqar_server_stops_on_sigterm_on_sqlite(
        tmp_path: Path, processes: list[Process]) -> None:
    port = free_port()
    conf = tmp_path / 'zaqar.conf'
    write_config(conf, sqlite_sections(tmp_path, port))
    process = Process([*SERVER, '--config-file', str(conf)],
                      tmp_path / 'server.log', cwd=tmp_path)
    processes.append(process)
    url = f'http://127.0.0.1:{port}'
    wait_answering(process, url)
    round_trip(url)

    process.terminate()
    assert process.wait(timeout=10) == 0, process.log
    # No worker outlives the master.
    assert process.group() == []


def test_zaqar_server_finishes_requests_in_progress_on_sigterm_on_sqlite(
        tmp_path: Path, processes: list[Process]) -> None:
    port = free_port()
    conf = tmp_path / 'zaqar.conf'
    write_config(conf, sqlite_sections(tmp_path, port))
    process = Process([*SERVER, '--config-file', str(conf)],
                      tmp_path / 'server.log', cwd=tmp_path)
    processes.append(process)
    wait_answering(process, f'http://127.0.0.1:{port}')
    body = json.dumps({'messages': [{'body': 'x' * 1000}]}).encode()
    head = post_head(port, 'late', len(body))
    with socket.create_connection(('127.0.0.1', port), timeout=10) as sock:
        # In progress: the server reads a body that is still coming.
        sock.sendall(head + body[:100])
        time.sleep(0.5)
        process.terminate()
        time.sleep(0.5)
        sock.sendall(body[100:])
        answer = sock.recv(65536)
    assert answer.startswith(b'HTTP/1.1 201 '), answer
    assert process.wait(timeout=10) == 0, process.log


def test_zaqar_server_answers_a_body_that_stops_coming_408_on_sqlite(
        tmp_path: Path, processes: list[Process]) -> None:
    # One worker, one request at a time: a client that stops sending its
    # body holds no thread (the body is read on the event loop), and is
    # answered 408 after client_timeout.
    port = free_port()
    conf = tmp_path / 'zaqar.conf'
    sections = sqlite_sections(tmp_path, port)
    sections['drivers:transport:wsgi'].update(
        {'workers': 1, 'threads': 1, 'client_timeout': 2})
    write_config(conf, sections)
    process = Process([*SERVER, '--config-file', str(conf)],
                      tmp_path / 'server.log', cwd=tmp_path)
    processes.append(process)
    url = f'http://127.0.0.1:{port}'
    wait_answering(process, url)
    head = post_head(port, 'stalled', 1000)
    with socket.create_connection(('127.0.0.1', port), timeout=10) as sock:
        sock.sendall(head + b'{"messages": [')
        started = time.monotonic()
        round_trip(url)  # served meanwhile
        assert time.monotonic() - started < 1.5
        answer = sock.recv(65536)
        waited = time.monotonic() - started
    assert answer.startswith(b'HTTP/1.1 408 '), answer
    assert 1.5 < waited < 6, waited
    assert b'Request timeout' in answer
    assert ApiClient(url, project_id='p').list_messages('stalled') == []


def test_zaqar_server_reports_a_port_in_use_on_sqlite(
        tmp_path: Path, processes: list[Process]) -> None:
    with taken_port() as port:
        conf = tmp_path / 'zaqar.conf'
        write_config(conf, sqlite_sections(tmp_path, port))
        process = Process([*SERVER, '--config-file', str(conf)],
                          tmp_path / 'server.log', cwd=tmp_path)
        processes.append(process)
        assert process.wait() != 0
    assert 'Address already in use' in process.log
