"""Fixtures shared by the unit tests of ``zaqar_core``."""

from pathlib import Path

import pytest
from oslo_config import cfg

from zaqar_core import conf as zconf
from zaqar_core.tests.unit import sqlite_copies


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
