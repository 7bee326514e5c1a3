"""The pooling contract on a Redis server, on a Redis Cluster and through
Redis Sentinel."""

from __future__ import annotations

import pytest
from redis.crc import key_slot

from zaqar_core.storage.stores import Stores
from zaqar_core.tests.contract.storage import pools as contract
from zaqar_plugins.storage.redis import keys
from zaqar_testing.redis_servers import STORAGE_BACKENDS


@pytest.fixture(scope='session', params=STORAGE_BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The conftest's backends and Sentinel, as for the storage
    contract."""
    return request.param


@pytest.fixture
def management(stores: Stores) -> Stores:
    """The contract's name for the stores whose pooling it tests."""
    return stores


class TestPoolController(contract.PoolControllerContract):
    pass


class TestFlavorController(contract.FlavorControllerContract):
    pass


class TestCatalogueController(contract.CatalogueControllerContract):
    pass


class TestPoolingConcurrency(contract.PoolingConcurrencyContract):
    pass


def test_every_pooling_key_is_in_one_slot(
        management: contract.Management, stores: Stores) -> None:
    management.pools.put(contract.pool('alpha', flavor='gold'))
    management.flavors.put(contract.PROJECT, 'gold', ['alpha'])
    management.catalogue.place(contract.PROJECT, contract.QUEUE, 'alpha')
    slots = {key_slot(key.encode()) for key in keys.pooling_keys()}
    assert len(slots) == 1
    written = [key for key in keys.pooling_keys()
               if stores.control.client.exists(key)]
    assert len(written) == len(keys.POOLING_KEYS)
