"""The pooling contract on SQLite, PostgreSQL and MySQL."""

from __future__ import annotations

import pytest

from zaqar_core.storage.stores import Stores
from zaqar_core.tests.contract.storage import pools as contract


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
