"""``zaqar-server`` on a store that is down or has no schema: it refuses
to start, at once, with one line per store saying what to do; started
anyway (``[storage] allow_degraded_start``), ping answers 503 within a
second naming the store, and health says what is wrong with each."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from zaqar_testing.databases import Database
from zaqar_testing.databases import DatabaseFactory
from zaqar_testing.ports import free_port
from zaqar_testing.processes import Process
from zaqar_testing.waiting import eventually
from zaqar_testing.zaqar_servers import SERVER
from zaqar_testing.zaqar_servers import Sections
from zaqar_testing.zaqar_servers import ZaqarServer
from zaqar_testing.zaqar_servers import write_config

PASSWORD = 'sekrit'
#: Imports take a second or two on a busy host; the checks at most 3 s.
EXIT_WITHIN = 15.0
PING_BOUND = 1.5
HEADERS = {'Client-ID': str(uuid.uuid4()), 'X-Project-Id': 'p',
           'X-Roles': 'admin'}


def stores(driver: str, uri: str) -> Sections:
    return {
        'DEFAULT': {'auth_strategy': '', 'admin_mode': True},
        'drivers': {'message_store': driver, 'management_store': driver},
        f'drivers:message_store:{driver}': {'uri': uri},
        f'drivers:management_store:{driver}': {'uri': uri},
    }


def down_redis() -> Sections:
    return stores('redis', f'redis://:{PASSWORD}@127.0.0.1:{free_port()}')


@pytest.fixture
def empty_postgresql(tmp_path: Path) -> Iterator[Database]:
    factory = DatabaseFactory(tmp_path)
    try:
        yield factory.create('postgresql')
    finally:
        factory.drop_all()


def no_schema(database: Database) -> Sections:
    user, _, place = database.uri.partition('://')[2].partition('@')
    # Trust authentication ignores the password: it is there to be hidden.
    return stores('sqlalchemy',
                  f'postgresql+psycopg2://{user}:{PASSWORD}@{place}')


def refused_start(tmp_path: Path, sections: Sections
                  ) -> tuple[int, list[str], str, float]:
    """Run zaqar-server until it exits: its status, its stderr lines
    from the store check, all its output, and how long it ran."""
    conf = tmp_path / 'zaqar.conf'
    write_config(conf, {**sections, 'drivers:transport:wsgi': {
        'bind': '127.0.0.1', 'port': free_port()}})
    start = time.monotonic()
    process = Process([*SERVER, '--config-file', str(conf)], None,
                      cwd=tmp_path)
    try:
        status = process.wait(EXIT_WITHIN)
        took = time.monotonic() - start
    finally:
        process.stop()
    stderr = process.proc.stderr.read()
    # Log lines start with a date; the program's own name may prefix
    # the first line or each.
    lines = [line.removeprefix('zaqar-server: ')
             for line in stderr.splitlines()]
    return status, [line for line in lines if line.startswith('The ')], \
        stderr, took


def test_an_unreachable_redis_stops_the_start(tmp_path: Path) -> None:
    sections = down_redis()
    port = sections['drivers:message_store:redis']['uri'].rpartition(':')[2]
    status, lines, output, took = refused_start(tmp_path, sections)
    assert status == 1, output
    assert took < EXIT_WITHIN
    assert lines == [
        f'The management store (redis://:***@127.0.0.1:'
        f'{port}) does not answer: Redis is unavailable: Error 111 '
        f'connecting to 127.0.0.1:{port}. Connection refused.',
        f'The message store (redis://:***@127.0.0.1:{port}) does not '
        f'answer: Redis is unavailable: Error 111 connecting to '
        f'127.0.0.1:{port}. Connection refused.'], output
    assert PASSWORD not in output
    assert 'Traceback' not in output
    assert 'Serving' not in output


def test_a_database_without_schema_stops_the_start(
        tmp_path: Path, empty_postgresql: Database) -> None:
    status, lines, output, took = refused_start(
        tmp_path, no_schema(empty_postgresql))
    assert status == 1, output
    assert took < EXIT_WITHIN
    fix = f'run zaqar-manage --config-file {tmp_path / "zaqar.conf"} db ' \
          f'upgrade'
    assert len(lines) == 2, output
    for label, line in zip(('management', 'message'), lines, strict=True):
        assert f'The {label} store (postgresql+psycopg2://postgres:***@' \
            in line, output
        assert line.endswith(f') has no schema; {fix}'), output
    assert PASSWORD not in output
    assert 'Traceback' not in output


@pytest.fixture
def degraded(tmp_path: Path) -> Iterator[ZaqarServer]:
    """A server started on a Redis nobody listens on, as allowed."""
    sections = down_redis()
    for driver in ('message_store', 'management_store'):
        # Each poll fails at once, instead of after 10 reconnections.
        sections[f'drivers:{driver}:redis']['max_reconnect_attempts'] = 0
    server = ZaqarServer(tmp_path, {
        **sections, 'storage': {'allow_degraded_start': True},
        'drivers:transport:wsgi': {'workers': 1},
        # Polls 20 times a second: the outage is still logged once.
        'notification': {'outbox_poll_interval': 0.05}})
    try:
        yield server.start()
    finally:
        server.stop()


def test_ping_answers_within_a_second_naming_the_store(
        degraded: ZaqarServer) -> None:
    for _ in range(3):  # the first and the later ones
        start = time.monotonic()
        resp = requests.get(f'{degraded.url}/v2/ping', headers=HEADERS,
                            timeout=10)
        took = time.monotonic() - start
        assert took < PING_BOUND, took
        assert resp.status_code == 503, resp.text
        body = resp.json()
        assert body['title']
        assert 'The message store does not answer' in body['description']
        assert 'redis://' not in body['description']


def test_health_says_what_is_wrong_with_each_store(
        degraded: ZaqarServer) -> None:
    start = time.monotonic()
    resp = requests.get(f'{degraded.url}/v2/health', headers=HEADERS,
                        timeout=10)
    assert time.monotonic() - start < PING_BOUND
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body['storage_reachable'] is False
    for name in ('management_store', 'message_store'):
        assert body['stores'][name]['ok'] is False
        assert 'redis://:***@127.0.0.1:' in body['stores'][name]['problem']
    assert PASSWORD not in resp.text


def test_a_degraded_server_says_so_once(degraded: ZaqarServer) -> None:
    time.sleep(2)  # some 40 polls of the outbox
    log = degraded.log
    assert log.count('does not answer') >= 2, log  # the start's warnings
    assert 'allow_degraded_start' in log, log
    assert log.count('Outbox delivery (outbox) failed') == 1, log
    assert 'Traceback' not in log, log


def test_a_request_that_fails_on_the_store_leaves_a_line(
        degraded: ZaqarServer) -> None:
    resp = requests.put(f'{degraded.url}/v2/queues/outage', headers=HEADERS,
                        timeout=30)
    assert resp.status_code == 503, resp.text
    assert resp.json()['title']
    eventually(lambda: 'queue_create answered 503' in degraded.log,
               timeout=10, what='the failed request in the log')
    [line] = [line for line in degraded.log.splitlines()
              if 'queue_create answered 503' in line]
    assert 'WARNING' in line and PASSWORD not in line
