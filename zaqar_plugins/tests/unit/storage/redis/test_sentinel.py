"""The driver through Redis Sentinel (``redis://h1:p1,h2:p2?master=name``)
beyond the storage contract, which ``test_contract.py`` runs through
Sentinel too: the URI's forms, and a failover.

Replication is asynchronous and the driver does not ``WAIT``: a write the
master acknowledged but had not sent to its replica when it died is lost
by a failover. The failover test waits for the replica to catch up (as
``WAIT 1`` would) before it crashes the master; the writes it checks are
the ones a deployment keeps.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import pytest

from zaqar_core.storage.stores import Stores
from zaqar_core.tests.contract import storage as contract
from zaqar_core.tests.contract.storage.processes import conf_for
from zaqar_core.tests.contract.storage.signals import CHANNEL
from zaqar_core.tests.contract.storage.signals import Received
from zaqar_plugins.storage.redis import connection
from zaqar_plugins.storage.redis import options as redis_stores
from zaqar_testing.ports import refusing_address
from zaqar_testing.redis_servers import HOST
from zaqar_testing.redis_servers import SENTINEL_MASTER
from zaqar_testing.redis_servers import RedisFactory
from zaqar_testing.redis_servers import RedisSentinel
from zaqar_testing.redis_servers import RedisServer
from zaqar_testing.waiting import eventually

from .servers import make_stores

MASTER = SENTINEL_MASTER
#: Seconds a listener may take to come back after a failover: its
#: longest pause between attempts, and room for a slow host.
LISTENER_BACK = 15.0


@pytest.fixture
def sentinel(sentinel_backend: RedisSentinel) -> tuple[RedisServer, int]:
    """The shared deployment's master and the port of one sentinel."""
    return sentinel_backend.master, sentinel_backend.sentinels[0].port


@pytest.fixture
def deployment(redis_factory: RedisFactory) -> Iterator[RedisSentinel]:
    """A Sentinel deployment of the test's own, to fail over."""
    started = redis_factory.create('redis-sentinel')
    assert isinstance(started, RedisSentinel)
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def failover_stores(deployment: RedisSentinel) -> Iterator[Stores]:
    stores = make_stores(deployment.uri)
    try:
        yield stores
    finally:
        stores.close()


def test_the_driver_finds_the_master_through_one_sentinel(
        sentinel: tuple[RedisServer, int]) -> None:
    server, port = sentinel
    stores = make_stores(f'redis://{HOST}:{port}?master={MASTER}')
    try:
        stores.queues.create(contract.PROJECT, contract.QUEUE)
        ids = contract.post(stores, 3)
        assert contract.claim(stores, limit=2)[1] == ids[:2]
        assert [q['name'] for q in stores.queues.list(contract.PROJECT)] \
            == [contract.QUEUE]
    finally:
        stores.close()
    # The data is on the master the sentinel named.
    with contextlib.closing(server.client()) as client:
        assert client.keys(f'z:{{p:{contract.PROJECT}}}:*')


def test_closing_the_stores_closes_the_connections_to_the_sentinels(
        sentinel_backend: RedisSentinel) -> None:
    node = sentinel_backend.sentinels[0]
    with contextlib.closing(node.client()) as admin:

        def clients() -> set[str]:
            return {client['addr'] for client in admin.client_list()}

        before = clients()
        stores = make_stores(f'redis://{HOST}:{node.port}?master={MASTER}'
                             f'&socket_timeout=4.5')  # a client of its own
        try:
            assert contract.post(stores, 1)
            # By address: the sentinels' own links come and go meanwhile.
            ours = clients() - before
            assert ours
        finally:
            stores.close()
        # The sentinel sees a close a moment after it happens.
        eventually(lambda: not ours & clients(), timeout=5,
                   what='the stores\' sentinel connections to close')


def test_a_sentinel_that_is_down_is_skipped(
        sentinel_backend: RedisSentinel) -> None:
    up = ','.join(f'{HOST}:{node.port}'
                  for node in sentinel_backend.sentinels)
    with refusing_address() as down:
        stores = make_stores(f'redis://{down},{up}?master={MASTER}')
        try:
            assert contract.post(stores, 1)
            assert stores.data.is_alive()
        finally:
            stores.close()


def test_acknowledged_messages_survive_a_failover(
        deployment: RedisSentinel, failover_stores: Stores) -> None:
    stores = failover_stores
    stores.queues.create(contract.PROJECT, contract.QUEUE)
    ids = contract.post(stores, 10)
    claim_id, claimed = contract.claim(stores, limit=4, ttl=300)
    assert claim_id is not None and claimed == ids[:4]
    received = Received()
    with stores.signals.listen([CHANNEL], received):
        deployment.wait_replicated()
        old = deployment.master.port
        deployment.failover()
        assert deployment.master.port != old

        # The first request after the failover fails on the old master's
        # connection, waits reconnect_sleep and reconnects to the master
        # the sentinels now name: about 1 s, and never more than the
        # driver's retry budget.
        began = time.monotonic()
        assert stores.data.is_alive()
        took = time.monotonic() - began
        assert took < _retry_budget(), f'reconnected after {took:.1f} s'
        assert stores.data.client.connection_pool.get_master_address() \
            == (HOST, deployment.master.port)

        # Everything acknowledged before the failover: readable, the
        # claim still holds its messages, the rest claimable.
        assert sorted(contract.everything(stores)) == sorted(ids)
        assert [m['id'] for m in stores.claims.get(
            contract.PROJECT, contract.QUEUE, claim_id)[1]] == claimed
        assert contract.claim(stores, limit=10)[1] == ids[4:]
        stores.claims.delete(contract.PROJECT, contract.QUEUE, claim_id)
        assert contract.claim(stores, limit=10)[1] == ids[:4]
        # New posts work: on the new master, whose script cache started
        # empty.
        new = contract.post(stores, 2)
        assert contract.claim(stores, limit=10)[1] == new
        assert [q['name'] for q in stores.queues.list(contract.PROJECT)] \
            == [contract.QUEUE]

        # A listener started before the failover listens again.
        assert _arrives_within(stores, received, LISTENER_BACK)


def _retry_budget() -> float:
    """Seconds the driver retries a lost connection before it gives up
    (the defaults ``make_stores`` runs with)."""
    conf = conf_for('redis://', (redis_stores.MESSAGE_GROUP,))
    opts = conf[redis_stores.MESSAGE_GROUP]
    return opts.max_reconnect_attempts * opts.reconnect_sleep


def _arrives_within(stores: Stores, received: Received,
                    timeout: float) -> bool:
    """Signal every 0.1 s until ``received`` has it, for ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stores.signals.notify(CHANNEL)
        if received.wait_for(CHANNEL, 0.1):
            return True
    return False


def test_the_uri_names_every_sentinel(
        sentinel_backend: RedisSentinel) -> None:
    spec = connection.parse_uri(sentinel_backend.uri)
    assert spec.kind == 'sentinel'
    assert spec.master == MASTER
    assert spec.hosts == tuple((HOST, node.port)
                               for node in sentinel_backend.sentinels)
