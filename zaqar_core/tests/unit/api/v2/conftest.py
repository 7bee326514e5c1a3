"""Fixtures of the API tests: a pooling server's API over real stores."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator

import pytest
from oslo_config import cfg

from zaqar_core import bootstrap
from zaqar_core.api.service import Api


@pytest.fixture
def make_api(sqlite_conf: cfg.ConfigOpts) -> Iterator[Callable[..., Api]]:
    """``make_api(**catalog)``: an API with admin_mode and pooling over
    ``sqlite_conf``'s stores; keywords set ``[pooling:catalog]``."""
    made: list[Api] = []

    def make(**catalog: object) -> Api:
        sqlite_conf.set_override('admin_mode', True)
        sqlite_conf.set_override('pooling', True)
        for name, value in catalog.items():
            sqlite_conf.set_override(name, value, group='pooling:catalog')
        api = bootstrap.make_api(sqlite_conf)
        made.append(api)
        return api

    yield make
    for api in made:
        api.stores.close()


@pytest.fixture
def api(make_api: Callable[..., Api]) -> Api:
    return make_api()
