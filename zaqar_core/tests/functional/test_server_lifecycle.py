"""``zaqar-server``'s processes over their life: keep-alive connections,
stops that do not wait on deliveries in backoff, workers that die with
their master however it dies, and reloads that fail no request.

On SQLite and Redis: the lifecycle is the server's, not the store's, but
the delivery worker's outbox lives in the store.
"""

from __future__ import annotations

import http.client
import signal
import socket
import threading
import time
import uuid

import pytest
import requests

from zaqar_testing.ports import HOST
from zaqar_testing.processes import Process
from zaqar_testing.receivers import Receiver
from zaqar_testing.waiting import eventually
from zaqar_testing.zaqar_servers import ZaqarServer
from zaqar_testing.zaqar_servers import merge
from zaqar_testing.zaqar_servers import write_config

from .helpers import Server
from .test_notifications import post
from .test_notifications import subscribe

#: A failing subscriber is retried once at once, then every 30 s: a stop
#: finds the delivery thread waiting in backoff.
SLOW_RETRIES = {'retries_with_no_delay': 1, 'minimum_delay_retries': 5,
                'minimum_delay': 30, 'maximum_delay': 60,
                'maximum_delay_retries': 0,
                'retry_backoff_function': 'linear'}
TWO_WORKERS = {'drivers:transport:wsgi': {'workers': 2, 'threads': 2}}


@pytest.fixture(scope='session', params=['sqlite', 'redis'])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


def head(path: str, project: str = 'lifecycle', method: str = 'GET',
         body: bytes = b'') -> bytes:
    """A request as bytes, keep-alive (HTTP/1.1's default)."""
    return (f'{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n'
            f'Client-ID: {uuid.uuid4()}\r\nX-Project-Id: {project}\r\n'
            f'Content-Type: application/json\r\n'
            f'Content-Length: {len(body)}\r\n\r\n').encode() + body


def port_of(server: Server) -> int:
    return int(server.url.rsplit(':', 1)[1])


def workers_of(process: ZaqarServer) -> list[int]:
    assert process.process is not None
    return [pid for pid in process.process.group() if pid != process.pid]


def test_connections_are_kept_alive(make_server) -> None:
    server = make_server(**TWO_WORKERS)
    conn = http.client.HTTPConnection('127.0.0.1', port_of(server),
                                      timeout=10)
    conn.connect()
    local = conn.sock.getsockname()
    for _ in range(5):
        conn.request('GET', '/v2/queues', headers={
            'Client-ID': str(uuid.uuid4()), 'X-Project-Id': 'keep'})
        response = conn.getresponse()
        response.read()
        assert response.status == 200
        assert response.getheader('Connection') != 'close'
    # The same TCP connection carried all five.
    assert conn.sock.getsockname() == local
    conn.close()


def test_idle_connections_hold_no_worker(make_server) -> None:
    """Four times as many idle connections as the server has threads,
    half of them in the middle of a request head: a new request is still
    answered at once."""
    server = make_server(**TWO_WORKERS)
    port = port_of(server)
    idle = []
    try:
        for number in range(16):
            sock = socket.create_connection(('127.0.0.1', port), timeout=10)
            if number % 2:
                sock.sendall(head('/v2/queues')[:30])
            else:  # kept alive after a first request
                sock.sendall(head('/v2/queues'))
                assert sock.recv(65536).startswith(b'HTTP/1.1 200 ')
            idle.append(sock)
        started = time.monotonic()
        resp = server.client().get('/v2/queues')
        assert resp.status_code == 200
        assert time.monotonic() - started < 1.0
    finally:
        for sock in idle:
            sock.close()


def test_idle_and_slow_clients_are_disconnected(make_server) -> None:
    server = make_server(**{'drivers:transport:wsgi': {
        'workers': 1, 'client_timeout': 1}})
    port = port_of(server)
    with socket.create_connection(('127.0.0.1', port), timeout=10) as idle, \
            socket.create_connection(('127.0.0.1', port),
                                     timeout=10) as slow:
        idle.sendall(head('/v2/queues'))
        assert idle.recv(65536).startswith(b'HTTP/1.1 200 ')
        started = time.monotonic()
        slow.sendall(b'GET /v2/queues HTTP/1.1\r\n')
        for _ in range(10):  # a header line every 0.3 s, never the end
            try:
                slow.sendall(b'X-Slow: 1\r\n')
            except OSError:
                break
            time.sleep(0.3)
        assert idle.recv(1) == b''  # closed by the server
        assert time.monotonic() - started < 3
        with pytest.raises(OSError):
            slow.sendall(b'X-Slow: 1\r\n')
            slow.recv(1)
            slow.sendall(b'X-Slow: 1\r\n')


def test_sigterm_does_not_wait_for_deliveries_in_backoff(
        make_server, hook: Receiver) -> None:
    server = make_server(private_store=True, **TWO_WORKERS,
                         notification={'outbox_claim_ttl': 2})
    client = server.client()
    hook.failing = 503
    subscribe(client, hook.url, _retry_policy=SLOW_RETRIES)
    post(client, 'q1', 'after-restart')
    # Tried at once and again without delay; the next try is 30 s away.
    hook.wait_for(lambda r: r.attempts >= 2)
    time.sleep(0.5)
    process = server.process
    started = time.monotonic()
    process.terminate()
    assert process.process.wait(timeout=10) == 0, process.log
    assert time.monotonic() - started < 3, process.log
    assert process.process.group() == []
    assert hook.delivered == []

    # The notification waited in the outbox and resumes after a start.
    hook.failing = None
    process.start()
    (got,) = hook.wait_count(1, timeout=30)
    assert got.json()['body'] == 'after-restart'


@pytest.mark.parametrize('moment', ['starting', 'serving', 'stopping'])
def test_workers_die_with_a_killed_master(
        make_server, hook: Receiver, moment: str) -> None:
    server = make_server(private_store=True, **TWO_WORKERS)
    process = server.process
    client = server.client()
    if moment == 'starting':
        process.stop()
        process.process = Process(process.process.argv, process.log_path,
                                  cwd=process.workdir)
        # Workers exist, whether or not they have built their app yet.
        eventually(lambda: len(workers_of(process)) == 2, timeout=30,
                   what='two workers')
    else:
        hook.failing = 503
        subscribe(client, hook.url, _retry_policy=SLOW_RETRIES)
        post(client, 'q1', 'backoff')
        hook.wait_for(lambda r: r.attempts >= 2)
        if moment == 'stopping':
            process.process.signal(signal.SIGTERM)
    workers = workers_of(process)
    assert workers
    process.process.signal(signal.SIGKILL)
    started = time.monotonic()
    eventually(lambda: process.process.group() == [], timeout=2)
    assert time.monotonic() - started < 2

    # The port is free at once: the same configuration starts and serves.
    restarted = Process(process.process.argv, process.log_path,
                        cwd=process.workdir)
    process.process = restarted
    eventually(lambda: _answers(server.url + '/v2'), timeout=30,
               what='the restarted server to answer')
    assert 'in use' not in process.log.lower()
    assert client.get('/v2/queues').status_code == 200


def _answers(url: str) -> bool:
    """Whether a server answers at ``url`` (any HTTP status will do)."""
    try:
        requests.get(url, timeout=1)
    except requests.RequestException:
        return False
    return True


def test_sighup_reloads_without_failing_a_request(make_server) -> None:
    server = make_server(private_store=True, **TWO_WORKERS)
    process = server.process
    client = server.client()
    client.post_messages('reload', 'before')
    assert client.list_messages('reload')[0]['ttl'] == 3600

    failures: list[str] = []
    dropped: list[int] = []
    done = 0
    stop = threading.Event()

    def produce() -> None:
        # As python-zaqarclient does: a requests session, which checks a
        # kept-alive connection before it reuses it (a worker that stops
        # closes its idle ones).
        nonlocal done
        session = requests.Session()
        url = f'{server.url}/v2/queues/load/messages'
        headers = {'Client-ID': str(uuid.uuid4()),
                   'X-Project-Id': 'reload-load'}
        while not stop.is_set():
            try:
                response = session.post(url, json={'messages': [
                    {'body': 1, 'ttl': 300}]}, headers=headers, timeout=10)
            except requests.ConnectionError:
                # A kept-alive connection that the old worker closed as
                # this request went out: never read, so not accepted (a
                # client may send it again, RFC 9112 9.3.1); the count of
                # stored messages below proves it.
                dropped.append(1)
                continue
            except requests.RequestException as exc:
                failures.append(repr(exc))
                continue
            if response.status_code != 201:
                failures.append(f'{response.status_code} {response.text}')
            done += 1

    producers = [threading.Thread(target=produce) for _ in range(4)]
    for thread in producers:
        thread.start()
    try:
        time.sleep(1)
        # A new default TTL, picked up by the reloaded workers.
        write_config(process.conf_path, merge(process.sections, {
            'transport': {'default_message_ttl': 1234},
            'drivers:transport:wsgi': {'bind': HOST,
                                       'port': port_of(server)}}))
        before = set(workers_of(process))
        process.process.signal(signal.SIGHUP)
        eventually(lambda: not before & set(workers_of(process)),
                   timeout=30, what='the old workers to stop')
    finally:
        stop.set()
        for thread in producers:
            thread.join()
    assert failures == [], process.log
    assert done > 100
    # Every request the server read was answered 201: none was dropped
    # after it was accepted.
    stats = server.client(project_id='reload-load').get(
        '/v2/queues/load/stats').json()
    assert stats['messages']['total'] == done, (done, len(dropped))
    resp = client.post('/v2/queues/reload/messages',
                       json={'messages': [{'body': 'after'}]})
    assert resp.status_code == 201, process.log
    ttls = {m['body']: m['ttl'] for m in client.list_messages('reload')}
    assert ttls == {'before': 3600, 'after': 1234}


def test_websocket_workers_die_with_a_killed_master(make_ws_server) -> None:
    server = make_ws_server(**{'drivers:transport:websocket': {
        'workers': 2}})
    process = server.process
    assert len(workers_of(process)) == 2
    process.process.signal(signal.SIGKILL)
    started = time.monotonic()
    eventually(lambda: process.process.group() == [], timeout=2)
    assert time.monotonic() - started < 2
    process.process = Process(process.process.argv, process.log_path,
                              cwd=process.workdir)
    eventually(lambda: _answers(process.probe_url), timeout=30,
               what='the restarted server to answer')


def test_websocket_server_stops_within_3_seconds(make_ws_server) -> None:
    server = make_ws_server(**{'drivers:transport:websocket': {
        'workers': 2}})
    process = server.process
    started = time.monotonic()
    process.terminate()
    assert process.process.wait(timeout=10) == 0, process.log
    assert time.monotonic() - started < 3
    assert process.process.group() == []
    process.start()


def test_a_second_server_on_the_same_address_stops(
        make_server, tmp_path) -> None:
    # Workers bind with SO_REUSEPORT: without a check, a second server
    # would share the port, and the traffic, silently.
    server = make_server(**TWO_WORKERS)
    second = Process(server.process.process.argv, tmp_path / 'second.log',
                     cwd=tmp_path)
    try:
        assert second.wait(timeout=60) == 1
    finally:
        second.stop()
    assert 'Address already in use' in second.log
    assert server.client().get('/v2/queues').status_code == 200
