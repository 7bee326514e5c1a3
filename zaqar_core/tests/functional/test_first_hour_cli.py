"""What a new operator sees in the first hour: the console scripts run as
installed, their stdout and stderr read line by line.

* ``zaqar-server`` starts quietly: its log on stderr (nothing on stdout)
  is the start line, then the notices as warnings, and nothing else;
  ``--port`` and ``--workers`` override the file; ``--version``.
* The request log (``[drivers:transport:wsgi] access_log``) masks
  credentials in the query string and names the response's request id.
* ``zaqar-manage db ...`` names each store by its URI, on SQLite and on
  Redis (which has no schema).
"""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests
from oslo_config import cfg

from zaqar_core import bootstrap
from zaqar_core import conf as zconf
from zaqar_core import notices
from zaqar_core.cmd import common
from zaqar_core.storage import pools as pooling
from zaqar_plugins.storage.sqlalchemy import migration
from zaqar_testing.ports import HOST
from zaqar_testing.ports import free_port
from zaqar_testing.ports import taken_port
from zaqar_testing.processes import Process
from zaqar_testing.redis_servers import RedisServer
from zaqar_testing.waiting import eventually
from zaqar_testing.zaqar_servers import Sections
from zaqar_testing.zaqar_servers import sqlite_sections
from zaqar_testing.zaqar_servers import wait_answering
from zaqar_testing.zaqar_servers import write_config

from .conftest import EXTERNAL_URL

pytestmark = pytest.mark.skipif(
    bool(EXTERNAL_URL), reason='starts its own servers')

BIN = Path(sys.executable).parent
SERVER = str(BIN / 'zaqar-server')
MANAGE = str(BIN / 'zaqar-manage')

#: An oslo.log line: date, time, pid, level, logger, context, message.
LOG_LINE = re.compile(r'^\S+ \S+ \d+ (?P<level>[A-Z]+) (?P<logger>\S+) '
                      r'\[[^\]]*\] (?P<message>.*)$')


def expected_notices(conf_path: Path) -> list[str]:
    """What the server must warn about with this file, as
    :func:`zaqar_core.notices.collect` says."""
    # Not common.parse_config: it would set up this process's logging.
    conf = cfg.ConfigOpts()
    zconf.register_opts(conf)
    conf(['--config-file', str(conf_path)], project=common.PROJECT)
    return notices.collect(conf, bootstrap.load_notifiers(conf))


def serve(conf_path: Path, processes: list[Process], url: str,
          *args: str) -> Process:
    """zaqar-server with its output in pipes, answering at ``url``."""
    process = Process([SERVER, '--config-file', str(conf_path), *args],
                      None, cwd=conf_path.parent)
    processes.append(process)
    wait_answering(process, url)
    return process


def stop(process: Process) -> tuple[str, str]:
    """Stop it; its stdout and stderr."""
    process.stop()
    return process.proc.stdout.read(), process.proc.stderr.read()


def log_lines(stderr: str) -> list[re.Match]:
    """Each line of ``stderr`` parsed as a log line; fails on any other
    (a Python warning, a traceback)."""
    parsed = []
    for line in stderr.splitlines():
        match = LOG_LINE.match(line)
        assert match, f'not a log line: {line!r}\n{stderr}'
        parsed.append(match)
    return parsed


def test_quiet_start_with_port_and_workers_from_the_command_line(
        tmp_path: Path, processes: list[Process]) -> None:
    port = free_port()
    with taken_port() as busy:
        # The file's port is taken and says 2 workers: only the
        # overrides make this start as checked below.
        write_config(tmp_path / 'zaqar.conf', sqlite_sections(tmp_path, busy))
        url = f'http://{HOST}:{port}'
        process = serve(tmp_path / 'zaqar.conf', processes, url,
                        '--port', str(port), '--workers', '1')
        assert requests.get(url, timeout=10).status_code == 300
        stdout, stderr = stop(process)

    assert stdout == ''
    lines = log_lines(stderr)
    database = f'sqlite:///{tmp_path / "zaqar.sqlite"}'
    assert lines[0]['level'] == 'INFO'
    assert lines[0]['message'] == (
        f'Serving the Zaqar v2 API on {url} (wsgi, 1 worker x 1 thread); '
        f'message store {database}, management store {database}')
    wanted = expected_notices(tmp_path / 'zaqar.conf')
    assert wanted, 'the default configuration has notices to give'
    assert [(m['level'], m['message']) for m in lines[1:]] == \
        [('WARNING', notice) for notice in wanted]


def test_websocket_start_line(tmp_path: Path,
                              processes: list[Process]) -> None:
    port = free_port()
    sections = sqlite_sections(tmp_path)
    sections['drivers'] = {'transport': 'websocket'}
    sections['drivers:transport:websocket'] = {
        'bind': HOST, 'port': free_port(), 'workers': 2, 'threads': 3}
    write_config(tmp_path / 'zaqar.conf', sections)
    # A plain HTTP request gets 426: it serves.
    process = serve(tmp_path / 'zaqar.conf', processes,
                    f'http://{HOST}:{port}/', '--port', str(port))
    stdout, stderr = stop(process)

    assert stdout == ''
    database = f'sqlite:///{tmp_path / "zaqar.sqlite"}'
    messages = [m['message'] for m in log_lines(stderr)]
    assert messages[0] == (
        f'Serving the Zaqar v2 API on ws://{HOST}:{port} (websocket, '
        f'2 workers x 3 threads); message store {database}, management '
        f'store {database}')


def test_access_log_masks_signatures_and_names_the_request_id(
        tmp_path: Path, processes: list[Process]) -> None:
    port = free_port()
    sections: Sections = sqlite_sections(tmp_path, port)
    sections['drivers:transport:wsgi'].update(workers=1, access_log=True)
    # To a file, which can be read while the server runs: a request's line
    # is written once its response is sent, so it may come after the
    # client has the answer (a stop at once could lose it).
    log_file = tmp_path / 'zaqar.log'
    sections['DEFAULT']['log_file'] = str(log_file)
    write_config(tmp_path / 'zaqar.conf', sections)
    url = f'http://{HOST}:{port}'
    process = serve(tmp_path / 'zaqar.conf', processes, url)
    secret = uuid.uuid4().hex
    response = requests.get(
        f'{url}/v2/queues?limit=2&signature={secret}&expires=2030-01-01'
        f'&X-Auth-Token={secret}',
        headers={'Client-ID': str(uuid.uuid4()), 'X-Project-Id': 'demo'},
        timeout=10)
    assert response.status_code == 200
    request_id = response.headers['x-openstack-request-id']

    def access_lines() -> list[str]:
        return [m['message'] for m in log_lines(log_file.read_text())
                if m['logger'].endswith('access_log')]

    # The probe of wait_answering, then ours.
    access = eventually(lambda: len(access_lines()) == 2 and access_lines(),
                        10, 'both access log lines')
    stdout, stderr = stop(process)

    assert secret not in stdout + stderr + log_file.read_text()
    assert len(access_lines()) == 2
    assert re.fullmatch(r'127\.0\.0\.1 "GET /" 300 \d+\.\d ms req-\S+',
                        access[0]), access[0]
    assert re.fullmatch(
        r'127\.0\.0\.1 "GET /v2/queues\?limit=2&signature=\*\*\*'
        r'&expires=2030-01-01&X-Auth-Token=\*\*\*" 200 \d+\.\d ms '
        + re.escape(request_id), access[1]), access[1]


def test_version(tmp_path: Path) -> None:
    result = subprocess.run([SERVER, '--version'], capture_output=True,
                            text=True, timeout=60, check=False,
                            cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == \
        importlib.metadata.version('zaqar-core') + '\n'
    assert result.stderr == ''


def manage(conf_path: Path, *args: str) -> list[str]:
    """``zaqar-manage`` with ``args``: its stdout lines (its stderr must
    be empty: no warnings, no alembic lines)."""
    result = subprocess.run(
        [MANAGE, '--config-file', str(conf_path), *args],
        capture_output=True, text=True, timeout=120, check=False,
        cwd=conf_path.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ''
    return result.stdout.splitlines()


def test_manage_on_sqlite(tmp_path: Path) -> None:
    write_config(tmp_path / 'zaqar.conf', sqlite_sections(tmp_path))
    database = f'sqlite:///{tmp_path / "zaqar.sqlite"}'
    head = migration.head()
    assert manage(tmp_path / 'zaqar.conf', 'db', 'upgrade') == [
        f'management store ({database}): schema created at {head}',
        f'message store ({database}): already at {head}']
    assert manage(tmp_path / 'zaqar.conf', 'db', 'upgrade') == [
        f'management store ({database}): already at {head}',
        f'message store ({database}): already at {head}']
    assert manage(tmp_path / 'zaqar.conf', 'db', 'current') == [
        f'management store ({database}): at {head} (the newest)',
        f'message store ({database}): at {head} (the newest)']


def test_manage_upgrades_the_pools_too(tmp_path: Path) -> None:
    # After a release upgrade, the pools' databases need the new schema as
    # the configured stores do (the server migrates a pool only when it is
    # registered).
    sections = sqlite_sections(tmp_path)
    sections['DEFAULT'].update(pooling=True, admin_mode=True)
    conf_path = tmp_path / 'zaqar.conf'
    write_config(conf_path, sections)
    head = migration.head()
    manage(conf_path, 'db', 'upgrade')
    conf = cfg.ConfigOpts()
    zconf.register_opts(conf)
    conf(['--config-file', str(conf_path)], project=common.PROJECT)
    stores = bootstrap.load_stores(conf)
    pool_uri = f'sqlite:///{tmp_path / "pool.sqlite"}'
    try:
        # A pool registered by an older release: no schema of this one.
        stores.pools.put(pooling.Pool('p1', pool_uri, 1))
    finally:
        stores.close()
    assert manage(conf_path, 'db', 'current')[-1] == \
        f'pool p1 ({pool_uri}): empty (newest {head}; run "db upgrade")'
    assert manage(conf_path, 'db', 'upgrade')[-1] == \
        f'pool p1 ({pool_uri}): schema created at {head}'
    assert manage(conf_path, 'db', 'current')[-1] == \
        f'pool p1 ({pool_uri}): at {head} (the newest)'


def test_manage_on_redis(tmp_path: Path) -> None:
    redis_server = RedisServer(tmp_path / 'redis').start()
    try:
        uri = redis_server.uri
        write_config(tmp_path / 'zaqar.conf', {
            'drivers': {'message_store': 'redis',
                        'management_store': 'redis'},
            'drivers:message_store:redis': {'uri': uri},
            'drivers:management_store:redis': {'uri': uri}})
        assert manage(tmp_path / 'zaqar.conf', 'db', 'upgrade') == [
            f'management store ({uri}): no schema (nothing to upgrade)',
            f'message store ({uri}): no schema (nothing to upgrade)']
        assert manage(tmp_path / 'zaqar.conf', 'db', 'current') == [
            f'management store ({uri}): no schema',
            f'message store ({uri}): no schema']
    finally:
        redis_server.stop()


def upstream_sqlite(path: Path) -> None:
    """A management store as upstream 23.x leaves it (its own upgrade
    stops at revision 006 on SQLite, so deployments sit at 005)."""
    import sqlite3

    with sqlite3.connect(path) as db:
        db.executescript(
            "CREATE TABLE alembic_version (version_num VARCHAR(32));"
            "INSERT INTO alembic_version VALUES ('005');"
            "CREATE TABLE Queues (id INTEGER PRIMARY KEY, project "
            "VARCHAR(64), name VARCHAR(64), metadata BLOB);")


def test_a_server_on_upstreams_database_names_the_import(
        tmp_path: Path) -> None:
    sections = sqlite_sections(tmp_path)
    upstream_sqlite(tmp_path / 'zaqar.sqlite')
    write_config(tmp_path / 'zaqar.conf', sections)
    result = subprocess.run(
        [SERVER, '--config-file', str(tmp_path / 'zaqar.conf')],
        capture_output=True, text=True, timeout=60, check=False,
        cwd=tmp_path)
    assert result.returncode != 0
    # One clear line, not alembic's "Can't locate revision".
    assert "upstream Zaqar's management store (schema revision 005)" in \
        result.stderr
    assert 'zaqar-manage import-upstream --from-config-file' in \
        result.stderr
    assert 'Traceback' not in result.stderr
    assert "Can't locate revision" not in result.stderr


def test_a_server_beside_upstreams_redis_keys_says_so(
        tmp_path: Path, processes: list[Process]) -> None:
    redis_server = RedisServer(tmp_path / 'redis').start()
    try:
        uri = redis_server.uri
        # Upstream's message store: its index of message sets.
        redis_server.client().zadd('msgset_index', {'p.q.messages': 1})
        port = free_port()
        write_config(tmp_path / 'zaqar.conf', {
            'DEFAULT': {'auth_strategy': ''},
            'drivers:transport:wsgi': {'bind': HOST, 'port': port,
                                       'workers': 1},
            'drivers': {'message_store': 'redis',
                        'management_store': 'redis'},
            'drivers:message_store:redis': {'uri': uri},
            'drivers:management_store:redis': {'uri': uri}})
        process = serve(tmp_path / 'zaqar.conf', processes,
                        f'http://{HOST}:{port}')
        _, stderr = stop(process)
    finally:
        redis_server.stop()
    warned = [m['message'] for m in log_lines(stderr)
              if m['level'] == 'WARNING'
              and 'upstream Zaqar\'s message store' in m['message']]
    assert len(warned) == 1, stderr
    assert warned[0].startswith(f'The message store ({uri}) also holds')
    assert 'zaqar-manage import-upstream' in warned[0]
