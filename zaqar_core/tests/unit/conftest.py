"""Fixtures shared by the unit tests of ``zaqar_core``."""

import pytest
from oslo_config import cfg

from zaqar_core import conf as zconf


@pytest.fixture
def conf() -> cfg.ConfigOpts:
    """Every option of the project at its default; no config file read."""
    options = zconf.register_opts(cfg.ConfigOpts())
    options([], project='zaqar', default_config_files=[],
            default_config_dirs=[])
    return options
