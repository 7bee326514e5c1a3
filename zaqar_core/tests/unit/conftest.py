"""Fixtures shared by the unit tests of ``zaqar_core``."""

from pathlib import Path

import pytest
from oslo_config import cfg

from zaqar_core import bootstrap
from zaqar_core import conf as zconf
from zaqar_core.conf import sqlalchemy_stores


@pytest.fixture
def conf() -> cfg.ConfigOpts:
    """Every option of the project at its default; no config file read."""
    options = zconf.register_opts(cfg.ConfigOpts())
    options([], project='zaqar', default_config_files=[],
            default_config_dirs=[])
    return options


@pytest.fixture
def sqlite_conf(conf: cfg.ConfigOpts, tmp_path: Path) -> cfg.ConfigOpts:
    """``conf`` with both stores on one migrated SQLite file of its own."""
    uri = f'sqlite:///{tmp_path / "zaqar.sqlite"}'
    for group in (sqlalchemy_stores.MESSAGE_GROUP,
                  sqlalchemy_stores.MANAGEMENT_GROUP):
        conf.set_override('uri', uri, group=group)
    bootstrap.upgrade_embedded_stores(conf)
    return conf
