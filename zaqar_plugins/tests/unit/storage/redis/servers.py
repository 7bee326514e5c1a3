"""Stores on private Redis servers and clusters, for the Redis driver's
tests."""

from __future__ import annotations

from zaqar_core.storage.stores import Stores
from zaqar_core.tests.contract.storage.processes import conf_for
from zaqar_plugins.storage.redis import driver
from zaqar_plugins.storage.redis import options as redis_stores


def make_stores(uri: str) -> Stores:
    """Both Redis stores on ``uri``."""
    conf = conf_for(uri, (redis_stores.MESSAGE_GROUP,
                          redis_stores.MANAGEMENT_GROUP))
    return Stores(
        control=driver.ControlDriver(
            conf, conf[redis_stores.MANAGEMENT_GROUP]),
        data=driver.DataDriver(conf, conf[redis_stores.MESSAGE_GROUP]))
