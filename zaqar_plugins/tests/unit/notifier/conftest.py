"""Fixtures of the notifier tests: configuration and loopback servers."""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from collections.abc import Iterator
from typing import Any

import pytest
from oslo_config import cfg

from zaqar_core import conf as zconf
from zaqar_core.notification import base
from zaqar_plugins.tests.unit.notifier import servers
from zaqar_testing import receivers


def _load_conf(*files: pathlib.Path) -> cfg.ConfigOpts:
    options = zconf.register_opts(cfg.ConfigOpts())
    options([], project='zaqar', default_config_files=[str(f) for f in files],
            default_config_dirs=[])
    return options


@pytest.fixture
def load_conf() -> Callable[..., cfg.ConfigOpts]:
    """Every option of the project, read from the given files only."""
    return _load_conf


@pytest.fixture
def conf() -> cfg.ConfigOpts:
    return _load_conf()


@pytest.fixture
def receiver() -> Iterator[receivers.Receiver]:
    with receivers.Receiver() as server:
        yield server


@pytest.fixture(scope='session')
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> servers.TLSFiles:
    return servers.make_tls_files(tmp_path_factory.mktemp('tls'))


@pytest.fixture
def make_target() -> Callable[..., base.Target]:
    def make(subscriber: str, **options: Any) -> base.Target:
        return {'id': '5a1c0b7e6f1d4c2b8e9a0f3d', 'project': 'proj-7',
                'source': 'orders', 'subscriber': subscriber,
                'options': options}
    return make
