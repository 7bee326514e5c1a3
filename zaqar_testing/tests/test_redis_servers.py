"""The private Redis servers, clusters and Sentinel deployments the Redis
tests run on (:mod:`zaqar_testing.redis_servers`) are real and separate,
and a Sentinel deployment really fails over."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from zaqar_testing.redis_servers import SENTINEL_MASTER
from zaqar_testing.redis_servers import RedisCluster
from zaqar_testing.redis_servers import RedisFactory
from zaqar_testing.redis_servers import RedisSentinel
from zaqar_testing.redis_servers import RedisServer


@pytest.fixture(scope='module')
def factory(tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[RedisFactory]:
    made = RedisFactory(tmp_path_factory.mktemp('redis'))
    try:
        yield made
    finally:
        made.stop_all()


@pytest.fixture(scope='module')
def server(factory: RedisFactory) -> RedisServer:
    started = factory.create('redis')
    assert isinstance(started, RedisServer)
    return started


@pytest.fixture(scope='module')
def cluster(factory: RedisFactory) -> RedisCluster:
    started = factory.create('redis-cluster')
    assert isinstance(started, RedisCluster)
    return started


def test_server_answers(server: RedisServer) -> None:
    assert server.uri == f'redis://127.0.0.1:{server.port}'
    with contextlib.closing(server.client()) as client:
        assert client.ping()
        client.set('z:probe', 'yes')
        assert client.get('z:probe') == b'yes'
        server.flush()
        assert client.dbsize() == 0


def test_cluster_has_three_masters_serving_every_slot(
        cluster: RedisCluster) -> None:
    ports = [node.port for node in cluster.nodes]
    assert cluster.uri == 'redis+cluster://' + ','.join(
        f'127.0.0.1:{port}' for port in ports)
    with contextlib.closing(cluster.nodes[0].client()) as client:
        info = client.execute_command('CLUSTER INFO')
        masters = [line for line in client.execute_command(
            'CLUSTER NODES').values() if 'master' in line['flags']]
    assert info['cluster_state'] == 'ok'
    assert info['cluster_slots_ok'] == '16384'
    assert len(masters) == 3


def test_cluster_spreads_hash_tags_over_the_masters(
        cluster: RedisCluster) -> None:
    client = cluster.client()
    try:
        for n in range(30):
            # Keys shaped like the driver's: one hash tag per project.
            client.set(f'z:{{p:project{n}}}:q:msgs', n)
        assert client.get('z:{p:project7}:q:msgs') == b'7'
    finally:
        client.close()
    sizes = []
    for node in cluster.nodes:
        with contextlib.closing(node.client()) as direct:
            sizes.append(direct.dbsize())
    assert sum(sizes) == 30
    assert all(sizes), sizes
    cluster.flush()
    for node in cluster.nodes:
        with contextlib.closing(node.client()) as direct:
            assert direct.dbsize() == 0


def test_stop_ends_the_process(factory: RedisFactory) -> None:
    started = factory.create('redis')
    assert isinstance(started, RedisServer)
    started.stop()
    assert started.process is not None
    assert started.process.returncode is not None


def test_sentinel_failover_promotes_the_replica(
        factory: RedisFactory) -> None:
    deployment = factory.create('redis-sentinel')
    assert isinstance(deployment, RedisSentinel)
    try:
        old, replica = deployment.master, deployment.replica
        assert replica is not None
        assert deployment.uri == 'redis://' + ','.join(
            f'127.0.0.1:{node.port}' for node in deployment.sentinels) + \
            f'?master={SENTINEL_MASTER}'
        with contextlib.closing(deployment.client()) as client:
            client.set('z:probe', 'before')
        deployment.wait_replicated()
        with contextlib.closing(replica.client()) as client:
            assert client.get('z:probe') == b'before'

        deployment.failover()

        assert old.process is not None and not old.process.alive()
        assert deployment.master is replica
        assert deployment.replica is None
        with contextlib.closing(replica.client()) as client:
            assert client.info('replication')['role'] == 'master'
            assert client.get('z:probe') == b'before'
            client.set('z:probe', 'after')  # writable
        for node in deployment.sentinels:
            with contextlib.closing(node.client()) as client:
                assert client.sentinel_get_master_addr_by_name(
                    SENTINEL_MASTER) == (b'127.0.0.1', replica.port)
    finally:
        deployment.stop()
    for node in [old, replica, *deployment.sentinels]:
        assert node.process is not None
        assert node.process.returncode is not None
