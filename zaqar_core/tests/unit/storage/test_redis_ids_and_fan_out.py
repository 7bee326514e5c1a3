"""Redis (single server and Cluster) specifics of opaque ids and fan-out
jobs: id keys live per project and only projects with messages get one;
a post's fan-out job is stored beside the messages, in the project's
hash slot, for its poster; the garbage collection moves to the outbox
one that its poster left."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Iterator
from importlib import resources
from typing import Any

import pytest
import redis

from zaqar_core import cooperative
from zaqar_core.api import validation
from zaqar_core.storage import base
from zaqar_core.storage import errors as storage_errors
from zaqar_core.storage.stores import Stores
from zaqar_core.tests.contract.storage import FrozenClock
from zaqar_core.tests.contract.storage import new_message
from zaqar_core.tests.contract.storage.processes import conf_for
from zaqar_plugins.storage.redis import connection
from zaqar_plugins.storage.redis import driver
from zaqar_plugins.storage.redis import keys
from zaqar_plugins.storage.redis import messages
from zaqar_plugins.storage.redis import options as redis_stores
from zaqar_plugins.storage.redis import records
from zaqar_plugins.storage.redis import scripts as redis_scripts
from zaqar_testing.redis_servers import RedisBackend
from zaqar_testing.redis_servers import RedisFactory

PROJECT = 'p'
FAN_OUT: base.FanOut = {'project': '\x1fjobs', 'queue': 'outbox',
                        'client_uuid': 'jobs-client', 'ttl': 900,
                        'post': {'source': 'q'}, 'confirmed_only': False}


@pytest.fixture(scope='module')
def factory(tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[RedisFactory]:
    found = RedisFactory(tmp_path_factory.mktemp('redis'))
    try:
        yield found
    finally:
        found.stop_all()


@pytest.fixture(params=['redis', 'redis-cluster'])
def stores(request: pytest.FixtureRequest, factory: RedisFactory
           ) -> Iterator[Stores]:
    backend: RedisBackend = factory.create(request.param)
    conf = conf_for(backend.uri, (redis_stores.MESSAGE_GROUP,
                                  redis_stores.MANAGEMENT_GROUP))
    found = Stores(
        control=driver.ControlDriver(
            conf, conf[redis_stores.MANAGEMENT_GROUP]),
        data=driver.DataDriver(conf, conf[redis_stores.MESSAGE_GROUP]))
    found.subscriptions.create(PROJECT, 'q', 'http://127.0.0.1:9/', 3600,
                               {})
    yield found
    found.close()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FrozenClock:
    frozen = FrozenClock()
    monkeypatch.setattr(records, 'now', frozen)
    return frozen


def outbox(stores: Stores) -> list[base.Message]:
    found, _ = stores.messages.list(FAN_OUT['project'], FAN_OUT['queue'],
                                    limit=100, echo=True)
    return found


def waiting(stores: Stores) -> list[base.Message]:
    found, _ = stores.messages.list(PROJECT, messages.FAN_OUT_QUEUE,
                                    limit=100, echo=True)
    return found


def test_the_job_waits_beside_the_messages_for_its_poster(
        stores: Stores) -> None:
    job = stores.messages.post_counting_subscriptions(
        PROJECT, 'q', [new_message(1)], 'client', FAN_OUT).fan_out
    assert job is not None
    assert (job['project'], job['queue']) == (PROJECT,
                                              messages.FAN_OUT_QUEUE)
    [waits] = waiting(stores)
    assert waits['id'] == job['id']
    assert outbox(stores) == []
    stores.messages.delete(job['project'], job['queue'], job['id'])
    assert waiting(stores) == []


def test_a_job_its_poster_left_is_moved_by_the_gc(
        stores: Stores, clock: FrozenClock) -> None:
    # As a poster killed right after the post.
    stores.messages.post_counting_subscriptions(
        PROJECT, 'q', [new_message(1), new_message(2)], 'client', FAN_OUT)
    [left] = waiting(stores)
    assert left['body']['to'] == {'project': FAN_OUT['project'],
                                  'queue': FAN_OUT['queue'], 'ttl': 900,
                                  'client_uuid': 'jobs-client'}
    # A young job is its poster's: the GC leaves it.
    stores.data.gc()
    assert outbox(stores) == []
    clock.advance(base.FAN_OUT_GRACE)
    stores.data.gc()
    [job] = outbox(stores)
    [subscription] = stores.subscriptions.list(PROJECT, 'q')
    assert job['body'] == base.fan_out_body(
        FAN_OUT, [new_message(1), new_message(2)], [subscription['id']])
    assert (job['client_uuid'], job['ttl']) == \
        ('jobs-client', 900 - base.FAN_OUT_GRACE)
    assert waiting(stores) == []


def test_tenants_cannot_reach_the_waiting_jobs() -> None:
    assert not validation.QUEUE_NAME.fullmatch(messages.FAN_OUT_QUEUE)


def test_readers_store_no_id_key_for_projects_without_messages(
        stores: Stores) -> None:
    client = stores.data.client
    assert stores.messages.list('nobody', 'q') == ([], None)
    assert stores.messages.bulk_get('nobody', 'q', ['a' * 24]) == []
    stores.messages.delete('nobody', 'q', 'a' * 24)
    assert stores.messages.pop('nobody', 'q', 5) == []
    assert client.keys('*nobody*') == []


def test_messages_from_before_id_keys_get_one_when_read(
        stores: Stores) -> None:
    ids = stores.messages.post(PROJECT, 'q', [new_message(1)], 'client')
    # As a release without id keys left them.
    key = keys.id_key(keys.project_prefix(PROJECT))
    stores.data.client.delete(key)
    fresh = Stores(control=stores.control,
                   data=driver.DataDriver(stores.data.conf,
                                          stores.data.options))
    [found], _ = fresh.messages.list(PROJECT, 'q', echo=True)
    assert found['body'] == 1
    assert found['id'] != ids[0]  # old ids name nothing any more
    assert stores.data.client.get(key)
    assert fresh.messages.get(PROJECT, 'q', found['id'])['body'] == 1


def test_scripts_are_loaded_again_when_the_server_lost_them(
        stores: Stores) -> None:
    stores.messages.post(PROJECT, 'q', [new_message(1)], 'client')
    client = stores.data.client
    folder = resources.files(redis_scripts.__package__) / 'lua'
    every = [hashlib.sha1(redis_scripts.source(lua.name[:-4]).encode(),
                          usedforsecurity=False).hexdigest()
             for lua in folder.iterdir() if lua.name.endswith('.lua')]
    assert any(client.script_exists(*every))
    # As a restart, a failover or SCRIPT FLUSH leaves it.
    client.script_flush()
    assert not any(client.script_exists(*every))
    stores.messages.post(PROJECT, 'q', [new_message(2)], 'client')
    found, _ = stores.messages.list(PROJECT, 'q', echo=True)
    assert [m['body'] for m in found] == [1, 2]


def test_a_script_runs_again_when_its_connection_breaks(
        stores: Stores, monkeypatch: pytest.MonkeyPatch) -> None:
    # A connection that breaks as the script is sent (the server went
    # away): the script runs again through redis-py's reconnecting path,
    # once.
    stores.messages.post(PROJECT, 'q', [new_message(1)], 'client')
    broken = []
    send = redis.connection.AbstractConnection.send_command

    def breaks_once(conn: Any, *args: Any, **kwargs: Any) -> None:
        if args[0] == 'EVALSHA' and not broken:
            broken.append(args)
            conn.disconnect()
            raise redis.exceptions.ConnectionError('broken pipe')
        send(conn, *args, **kwargs)

    monkeypatch.setattr(redis.connection.AbstractConnection,
                        'send_command', breaks_once)
    stores.messages.post(PROJECT, 'q', [new_message(2)], 'client')
    bodies = [m['body'] for m in stores.messages.list(PROJECT, 'q',
                                                      echo=True)[0]]
    assert bodies == [1, 2]
    assert len(broken) == 1


@pytest.mark.parametrize('stores', ['redis'], indirect=True)
def test_a_script_whose_reply_timed_out_is_not_sent_again(
        stores: Stores, monkeypatch: pytest.MonkeyPatch) -> None:
    # It may have run: sent again, a post would store its messages twice.
    stores.messages.post(PROJECT, 'q', [new_message(1)], 'client')
    sent: list[Any] = []
    send = redis.connection.AbstractConnection.send_command
    read = redis.connection.AbstractConnection.read_response

    def counted(conn: Any, *args: Any, **kwargs: Any) -> None:
        sent.append(args[0])
        send(conn, *args, **kwargs)

    def times_out_once(conn: Any, *args: Any, **kwargs: Any) -> Any:
        reply = read(conn, *args, **kwargs)  # the script ran
        if len(sent) == 1:
            raise redis.exceptions.TimeoutError('Timeout reading from socket')
        return reply

    monkeypatch.setattr(redis.connection.AbstractConnection,
                        'send_command', counted)
    monkeypatch.setattr(redis.connection.AbstractConnection,
                        'read_response', times_out_once)
    with pytest.raises(storage_errors.Unavailable):
        stores.messages.post(PROJECT, 'q', [new_message(2)], 'client')
    assert sent == ['EVALSHA']
    bodies = [m['body'] for m in stores.messages.list(PROJECT, 'q',
                                                      echo=True)[0]]
    assert bodies == [1, 2]


@pytest.mark.parametrize('stores', ['redis'], indirect=True)
def test_scripts_keep_their_connection_between_commands(
        stores: Stores, monkeypatch: pytest.MonkeyPatch) -> None:
    stores.messages.post(PROJECT, 'q', [new_message(0)], 'client')
    pool = stores.data.client.connection_pool
    checkouts = []
    get = pool.get_connection

    def counted(*args: Any, **kwargs: Any) -> Any:
        checkouts.append(args)
        return get(*args, **kwargs)

    monkeypatch.setattr(pool, 'get_connection', counted)
    for n in range(1, 21):
        stores.messages.post(PROJECT, 'q', [new_message(n)], 'client')
    assert checkouts == []
    bodies = [m['body'] for m in stores.messages.list(
        PROJECT, 'q', echo=True, limit=20)[0]]
    assert bodies == list(range(20))


@pytest.mark.parametrize('stores', ['redis'], indirect=True)
def test_a_script_lends_its_thread_while_redis_answers(
        stores: Stores) -> None:
    # Run as a cooperative task (zaqar-server's requests are), a script
    # waits for its reply on the event loop: the loop runs other work
    # before the post returns. Outside a task, the same post blocks.
    stores.messages.post(PROJECT, 'q', [new_message(0)], 'client')
    log: list[str] = []

    def post(body: int) -> None:
        stores.messages.post(PROJECT, 'q', [new_message(body)], 'client')
        log.append(f'posted {body}')

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.call_soon(log.append, 'loop ran')
        await cooperative.run(post, 1)
        loop.call_soon(log.append, 'loop ran again')
        post(2)
        await asyncio.sleep(0)

    asyncio.run(main())
    assert log == ['loop ran', 'posted 1', 'posted 2', 'loop ran again']
    bodies = [m['body'] for m in stores.messages.list(PROJECT, 'q',
                                                      echo=True)[0]]
    assert bodies == [0, 1, 2]


@pytest.mark.parametrize('stores', ['redis'], indirect=True)
def test_a_reply_left_unread_does_not_answer_the_next_command(
        stores: Stores, monkeypatch: pytest.MonkeyPatch) -> None:
    # A script interrupted before its reply was read (a signal, a bug)
    # leaves that reply in the socket: the connection must not carry it
    # to the next command, which would take it for its own.
    stores.messages.post(PROJECT, 'q', [new_message(1)], 'client')
    read = redis.connection.AbstractConnection.read_response
    interrupted = []

    def interrupts_once(conn: Any, *args: Any, **kwargs: Any) -> Any:
        if not interrupted:
            interrupted.append(conn)
            raise RuntimeError('interrupted')
        return read(conn, *args, **kwargs)

    monkeypatch.setattr(redis.connection.AbstractConnection,
                        'read_response', interrupts_once)
    with pytest.raises(RuntimeError):
        stores.messages.post(PROJECT, 'q', [new_message(2)], 'client')
    [third] = stores.messages.post(PROJECT, 'q', [new_message(3)], 'client')
    found, _ = stores.messages.list(PROJECT, 'q', echo=True)
    # The interrupted post ran on the server; the next one got its own id.
    assert [m['body'] for m in found] == [1, 2, 3]
    assert found[2]['id'] == third


@pytest.mark.parametrize('stores', ['redis'], indirect=True)
def test_a_forked_child_does_not_use_its_parents_connections(
        stores: Stores, monkeypatch: pytest.MonkeyPatch) -> None:
    # Two processes writing to one socket interleave their commands and
    # take each other's replies.
    used: list[Any] = []
    send = redis.connection.AbstractConnection.send_command

    def recorded(conn: Any, *args: Any, **kwargs: Any) -> None:
        used.append(conn)
        send(conn, *args, **kwargs)

    monkeypatch.setattr(redis.connection.AbstractConnection,
                        'send_command', recorded)
    stores.messages.post(PROJECT, 'q', [new_message(1)], 'client')
    parents = list(used)
    assert parents
    pid = os.fork()
    if pid == 0:  # the child: a post on a connection of its own
        try:
            used.clear()
            stores.messages.post(PROJECT, 'q', [new_message(2)], 'client')
            mine = used[:]
            os._exit(0 if mine and not any(
                c is p for c in mine for p in parents) else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    [last] = stores.messages.post(PROJECT, 'q', [new_message(3)], 'client')
    found, _ = stores.messages.list(PROJECT, 'q', echo=True)
    assert [m['body'] for m in found] == [1, 2, 3]
    assert found[2]['id'] == last


@pytest.mark.parametrize('stores', ['redis'], indirect=True)
def test_a_reply_that_does_not_come_in_time_is_a_timeout(
        stores: Stores, monkeypatch: pytest.MonkeyPatch) -> None:
    # Waiting on the loop for as long as a blocking read would: past
    # that, the request fails as that read would have, and the connection
    # (its reply may still come) is not used again.
    stores.messages.post(PROJECT, 'q', [new_message(1)], 'client')
    asked: list[float | None] = []

    def runs_out(fd: int, timeout: float | None) -> bool:
        asked.append(timeout)
        return False

    monkeypatch.setattr(cooperative, 'wait_readable', runs_out)
    with pytest.raises(storage_errors.Unavailable, match='Timeout'):
        stores.messages.post(PROJECT, 'q', [new_message(2)], 'client')
    assert asked == [connection.DEFAULT_SOCKET_TIMEOUT]
    monkeypatch.undo()
    bodies = [m['body'] for m in stores.messages.list(PROJECT, 'q',
                                                      echo=True)[0]]
    assert bodies == [1, 2]  # it ran: sent once, not again
