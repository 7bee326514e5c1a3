"""Redis signals beyond the contract: a listener outlives its connection,
works through Sentinel, and databases of one server stay apart."""

from __future__ import annotations

import contextlib

from zaqar_core.storage.stores import Stores
from zaqar_core.tests.contract.storage.signals import CHANNEL
from zaqar_core.tests.contract.storage.signals import Received
from zaqar_core.tests.contract.storage.signals import arrives
from zaqar_testing.redis_servers import HOST
from zaqar_testing.redis_servers import RedisBackend
from zaqar_testing.redis_servers import RedisServer

from .servers import make_stores
from .test_sentinel import MASTER
from .test_sentinel import sentinel  # noqa: F401 - a fixture


def test_a_listener_survives_losing_its_connection(
        stores: Stores, redis_backend: RedisBackend) -> None:
    received = Received()
    with stores.signals.listen([CHANNEL], received):
        killed = 0
        for server in getattr(redis_backend, 'nodes', [redis_backend]):
            with contextlib.closing(server.client()) as client:
                killed += client.client_kill_filter(_type='pubsub')
        assert killed == 1
        assert arrives(stores, received)


def test_signals_go_through_sentinel(
        sentinel: tuple[RedisServer, int]) -> None:  # noqa: F811
    server, port = sentinel
    stores = make_stores(f'redis://{HOST}:{port}?master={MASTER}')
    try:
        received = Received()
        with stores.signals.listen([CHANNEL], received):
            stores.signals.notify(CHANNEL)
            assert received.wait_for(CHANNEL)
            # The listener subscribed on the master the sentinel named.
            with contextlib.closing(server.client()) as client:
                assert client.pubsub_numsub(f'z:signal:0:{CHANNEL}') == \
                    [(f'z:signal:0:{CHANNEL}'.encode(), 1)]
    finally:
        stores.close()


def test_databases_of_one_server_stay_apart(
        stores: Stores, redis_backend: RedisBackend) -> None:
    if not isinstance(redis_backend, RedisServer):
        return  # a cluster has database 0 only
    other = make_stores(f'{redis_backend.uri}/1')
    try:
        here, there = Received(), Received()
        with stores.signals.listen([CHANNEL], here), \
                other.signals.listen([CHANNEL], there):
            other.signals.notify(CHANNEL)
            assert there.wait_for(CHANNEL)
            stores.signals.notify(CHANNEL)
            assert here.wait_for(CHANNEL)
            # Pub/sub ignores databases: each listens under a name of its
            # own (a signal of the other would be merged with its own).
            names = [f'z:signal:{db}:{CHANNEL}' for db in (0, 1)]
            with contextlib.closing(redis_backend.client()) as client:
                assert client.pubsub_numsub(*names) == [
                    (name.encode(), 1) for name in names]
    finally:
        other.close()
