"""The WebSocket server processes themselves, on SQLite: stop, restart,
a crashed worker or master, a port in use, slow readers, idle sockets.

Each test starts its own ``zaqar-server`` in its own process group
(:mod:`.own_servers`).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import socket
import time
import uuid
from pathlib import Path

import pytest
import websocket

from zaqar_testing.ports import free_port
from zaqar_testing.ports import taken_port
from zaqar_testing.processes import Process
from zaqar_testing.waiting import eventually
from zaqar_testing.zaqar_servers import SERVER
from zaqar_testing.zaqar_servers import sqlite_sections
from zaqar_testing.zaqar_servers import wait_answering
from zaqar_testing.zaqar_servers import write_config

from .conftest import EXTERNAL_URL
from .wsclient import WsClient

pytestmark = pytest.mark.skipif(
    bool(EXTERNAL_URL), reason='starts its own servers')

GOING_AWAY = 1001
POLICY_VIOLATION = 1008


def start(tmp_path: Path, processes: list[Process], workers: int = 2,
          store: Path | None = None, notification: dict | None = None,
          **websocket_opts: object) -> tuple[Process, str]:
    """A WebSocket zaqar-server on SQLite (in ``store``, default
    ``tmp_path``); returns it and its URL."""
    port = free_port()
    conf = tmp_path / 'zaqar.conf'
    sections = sqlite_sections(store or tmp_path, free_port())
    sections['drivers'] = {'transport': 'websocket'}
    if notification:
        sections['notification'] = notification
    sections['drivers:transport:websocket'] = {
        'bind': '127.0.0.1', 'port': port, 'workers': workers,
        **websocket_opts}
    write_config(conf, sections)
    process = Process([*SERVER, '--config-file', str(conf)],
                      tmp_path / 'server.log', cwd=tmp_path)
    processes.append(process)
    wait_answering(process, f'http://127.0.0.1:{port}')
    return process, f'ws://127.0.0.1:{port}'


def workers_of(pid: int) -> set[int]:
    """The children of process ``pid``."""
    children = set()
    for entry in Path('/proc').iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            fields = (entry / 'stat').read_text().rsplit(')', 1)[1].split()
            if int(fields[1]) == pid:
                children.add(int(entry.name))
    return children


def alive(pid: int) -> bool:
    try:
        state = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1]
    except OSError:
        return False
    return state.split()[0] != 'Z'


def round_trip(url: str) -> None:
    with WsClient(url) as ws:
        assert ws.call('queue_create', queue_name='jobs').status == 201
        posted = ws.call('message_post', queue_name='jobs',
                         messages=[{'body': {'task': 'resize'}}])
        assert posted.status == 201, posted.body
        listed = ws.call('message_list', queue_name='jobs', echo=True)
        assert [m['body'] for m in listed.body['messages']] == \
            [{'task': 'resize'}]


def close_code(ws: WsClient) -> int:
    """The close code of a connection the server closes (reading what
    is left before the close frame)."""
    ws.ws.settimeout(30)
    while True:
        opcode, frame = ws.ws.recv_data_frame(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return int.from_bytes(frame.data[:2], 'big')


def test_stops_on_sigterm_and_says_going_away_on_sqlite(
        tmp_path: Path, processes: list[Process]) -> None:
    process, url = start(tmp_path, processes)
    round_trip(url)
    ws = WsClient(url)
    assert ws.call('ping_node').status == 204
    workers = workers_of(process.pid)
    assert len(workers) == 2
    process.terminate()
    assert close_code(ws) == GOING_AWAY
    assert process.wait(timeout=15) == 0, process.log
    assert not any(alive(pid) for pid in workers)


def test_a_sigterm_to_the_master_alone_stops_its_workers_on_sqlite(
        tmp_path: Path, processes: list[Process]) -> None:
    process, url = start(tmp_path, processes)
    workers = workers_of(process.pid)
    os.kill(process.pid, signal.SIGTERM)
    assert process.wait(timeout=15) == 0, process.log
    eventually(lambda: not any(alive(pid) for pid in workers), 5,
               'the workers to stop')


def test_workers_stop_when_the_master_is_killed_on_sqlite(
        tmp_path: Path, processes: list[Process]) -> None:
    process, url = start(tmp_path, processes)
    workers = workers_of(process.pid)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(10)
    eventually(lambda: not any(alive(pid) for pid in workers), 15,
               'the orphaned workers to stop')
    # Nothing of the server is left to hold its port...
    assert not session_members(process.pid)
    # ...so a new server binds it at once (as servers do, past the
    # TIME_WAIT of closed connections), unless another test's server
    # took the free port meanwhile.
    port = int(url.rsplit(':', 1)[1])
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(('127.0.0.1', port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE or \
                    session_members(process.pid):
                raise
        else:
            probe.listen()


def session_members(session: int) -> list[int]:
    """The live processes of a session (a server started in its own
    session: the master's pid), zombies aside."""
    found = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open(f'/proc/{entry}/stat') as handle:
                # After the command, in parentheses: state, ppid, pgrp,
                # session...
                fields = handle.read().rsplit(')', 1)[1].split()
        except OSError:
            continue
        if fields[0] != 'Z' and int(fields[3]) == session:
            found.append(int(entry))
    return found


def test_a_dead_worker_is_replaced_on_sqlite(
        tmp_path: Path, processes: list[Process]) -> None:
    process, url = start(tmp_path, processes)
    first = workers_of(process.pid)
    victim = min(first)
    os.kill(victim, signal.SIGKILL)
    eventually(lambda: len(workers_of(process.pid) - {victim}) == 2,
               15, 'a replacement worker')
    for _ in range(4):  # whichever worker takes the connection
        round_trip(url)


def test_sighup_restarts_on_the_same_socket_on_sqlite(
        tmp_path: Path, processes: list[Process]) -> None:
    process, url = start(tmp_path, processes)
    before = workers_of(process.pid)
    ws = WsClient(url)
    os.kill(process.pid, signal.SIGHUP)
    assert close_code(ws) == GOING_AWAY
    # Connection attempts during the restart wait in the listening
    # socket's backlog: none is refused (a handshake that races the old
    # worker's stop is told 503, to try again).
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with WsClient(url, timeout=30) as probe:
                assert probe.call('ping_node').status == 204
        except websocket.WebSocketBadStatusException as exc:
            assert exc.status_code == 503, exc
        after = workers_of(process.pid)
        if after and not after & before:
            break
    assert after and not after & before, process.log
    assert process.alive()
    round_trip(url)


def test_a_port_in_use_is_one_line_on_sqlite(
        tmp_path: Path, processes: list[Process]) -> None:
    with taken_port() as port:
        conf = tmp_path / 'zaqar.conf'
        sections = sqlite_sections(tmp_path, free_port())
        sections['drivers'] = {'transport': 'websocket'}
        sections['drivers:transport:websocket'] = {'port': port}
        write_config(conf, sections)
        process = Process([*SERVER, '--config-file', str(conf)],
                          tmp_path / 'server.log', cwd=tmp_path)
        processes.append(process)
        assert process.wait() == 1
    assert f'zaqar-server: cannot listen on 127.0.0.1 port {port}: ' \
           f'Address already in use' in process.log
    assert 'Traceback' not in process.log


def test_a_client_that_does_not_read_is_closed_on_sqlite(
        tmp_path: Path, processes: list[Process]) -> None:
    process, url = start(tmp_path, processes, workers=1,
                         max_send_buffer=65536)
    ws = WsClient(url)
    assert ws.call('message_post', queue_name='big', messages=[
        {'body': 'x' * 30000} for _ in range(8)]).status == 201
    listing = json.dumps({'action': 'message_list', 'headers': ws.headers,
                          'body': {'queue_name': 'big', 'echo': True}})
    # Each reply is ~240 KB; the client sends and never reads, so the
    # server's send buffer passes its bound at once.
    with contextlib.suppress(OSError, websocket.WebSocketException):
        for _ in range(200):
            ws.ws.send(listing)
    try:
        assert close_code(ws) == POLICY_VIOLATION
    except ConnectionResetError:
        # The close frame waits behind megabytes of replies; a client that
        # takes longer than the server's close timeout to read them (a
        # busy host) gets the reset that ends the wait instead, and loses
        # the frame. The server's log says why it closed either way.
        pass
    assert 'does not read its replies' in process.log
    # Other connections were never affected.
    round_trip(url)


def rss_kib(pid: int) -> int:
    for line in Path(f'/proc/{pid}/status').read_text().splitlines():
        if line.startswith('VmRSS:'):
            return int(line.split()[1])
    raise AssertionError('no VmRSS')


def test_one_process_holds_a_thousand_idle_sockets_on_sqlite(
        tmp_path: Path, processes: list[Process]) -> None:
    process, url = start(tmp_path, processes, workers=1)
    (worker,) = workers_of(process.pid)
    with WsClient(url) as first:
        assert first.call('ping_node').status == 204
    before = rss_kib(worker)
    project = uuid.uuid4().hex
    idle = []
    try:
        for _ in range(1000):
            idle.append(websocket.create_connection(url, timeout=30))
        # All of them open: the last one answers as the first did.
        with WsClient(url, project_id=project) as busy:
            assert busy.call('queue_create', queue_name='q').status == 201
        idle[0].send(json.dumps({'action': 'ping_node', 'headers': {
            'Client-ID': str(uuid.uuid4()), 'X-Project-ID': project}}))
        assert json.loads(idle[0].recv())['headers']['status'] == 204
        grown = rss_kib(worker) - before
        # Measured at about 40 MiB; a copy per connection of anything
        # large (a buffer, a thread) would be far more.
        assert grown < 150 * 1024, f'{grown} KiB for 1,000 sockets'
    finally:
        for ws in idle:
            ws.close()


def test_subscriptions_outlive_their_lease_while_the_socket_lives_and_lapse_after_a_crash_on_sqlite(  # noqa: E501
        tmp_path: Path, processes: list[Process]) -> None:
    lease = 5
    holder_dir, other_dir = tmp_path / 'holder', tmp_path / 'other'
    holder_dir.mkdir()
    other_dir.mkdir()
    # Two servers on one SQLite file.
    holder, holder_url = start(holder_dir, processes, workers=1,
                               store=tmp_path,
                               notification={'push_lease': lease})
    _, other_url = start(other_dir, processes, workers=1, store=tmp_path)
    project = uuid.uuid4().hex
    subscriber = WsClient(holder_url, project_id=project)
    assert subscriber.call('subscription_create', queue_name='q',
                           ttl=3600).status == 201
    poster = WsClient(other_url, project_id=project)
    # Renewed by its process: alive well past one lease.
    time.sleep(2.5 * lease)
    assert poster.call('message_post', queue_name='q',
                       messages=[{'body': 'late'}]).status == 201
    assert subscriber.push(10)['body'] == 'late'

    def listed() -> list:
        return poster.call('subscription_list',
                           queue_name='q').body['subscriptions']

    assert len(listed()) == 1
    os.killpg(holder.proc.pid, signal.SIGKILL)
    holder.proc.wait(10)
    # Nothing renews it now: gone within a lease.
    eventually(lambda: not listed(), 3 * lease,
               "the crashed process's subscription to lapse")
