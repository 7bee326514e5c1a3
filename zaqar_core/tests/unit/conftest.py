"""Fixtures shared by the unit tests of ``zaqar_core``."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from oslo_config import cfg

from zaqar_core import conf as zconf
from zaqar_core.tests.unit import sqlite_copies
from zaqar_plugins.storage.redis import options as redis_stores
from zaqar_testing.redis_servers import RedisBackend
from zaqar_testing.redis_servers import RedisFactory


@pytest.fixture
def conf() -> cfg.ConfigOpts:
    """Every option of the project at its default; no config file read."""
    options = zconf.register_opts(cfg.ConfigOpts())
    options([], project='zaqar', default_config_files=[],
            default_config_dirs=[])
    return options


@pytest.fixture(scope='session')
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both stores migrated once, for :func:`sqlite_conf` to copy."""
    return sqlite_copies.migrate(tmp_path_factory.mktemp('template'))


@pytest.fixture
def sqlite_conf(conf: cfg.ConfigOpts, tmp_path: Path,
                sqlite_template: Path) -> cfg.ConfigOpts:
    """``conf`` with both stores on one migrated SQLite file of its own
    (a copy of the template: a migration takes a second)."""
    return sqlite_copies.use_copy(conf, sqlite_template, tmp_path)


@pytest.fixture(scope='module')
def redis_server(tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[RedisBackend]:
    """A private redis-server for the module's tests."""
    factory = RedisFactory(tmp_path_factory.mktemp('redis'))
    try:
        yield factory.create('redis')
    finally:
        factory.stop_all()


@pytest.fixture
def redis_conf(conf: cfg.ConfigOpts,
               redis_server: RedisBackend) -> cfg.ConfigOpts:
    """``conf`` with both stores on :func:`redis_server`, emptied."""
    redis_server.flush()
    conf.set_override('message_store', 'redis', group='drivers')
    conf.set_override('management_store', 'redis', group='drivers')
    for group in (redis_stores.MESSAGE_GROUP,
                  redis_stores.MANAGEMENT_GROUP):
        conf.set_override('uri', redis_server.uri, group=group)
    return conf
