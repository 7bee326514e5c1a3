"""Stores on private Redis servers and clusters, for the Redis driver's
tests."""

from __future__ import annotations

from oslo_config import cfg

from zaqar_core import conf as zconf
from zaqar_core.conf import redis_stores
from zaqar_core.storage.stores import Stores
from zaqar_plugins.storage.redis import driver


def make_conf(uri: str) -> cfg.ConfigOpts:
    """A configuration pointing both Redis stores at ``uri``."""
    conf = zconf.register_opts(cfg.ConfigOpts())
    conf([], project='zaqar', default_config_files=[],
         default_config_dirs=[])
    for group in (redis_stores.MESSAGE_GROUP,
                  redis_stores.MANAGEMENT_GROUP):
        conf.set_override('uri', uri, group=group)
    return conf


def make_stores(uri: str) -> Stores:
    conf = make_conf(uri)
    return Stores(control=driver.ControlDriver(conf),
                  data=driver.DataDriver(conf))
