"""PoolDrivers: one open store per pool, and a pool that cannot be opened
is not tried again at once (an open may take seconds)."""

from __future__ import annotations

from pathlib import Path

import pytest
from oslo_config import cfg

from zaqar_core import bootstrap
from zaqar_core.storage import errors
from zaqar_core.storage import pool_drivers
from zaqar_core.storage import pools as pooling


class Counting:
    """The real pool opener, counting its calls."""

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.opener = bootstrap.PoolOpener(conf)
        self.calls = 0

    def __call__(self, uri: str, options: dict):
        self.calls += 1
        return self.opener.open(uri, options)


def test_a_failed_open_is_not_retried_at_once(sqlite_conf: cfg.ConfigOpts,
                                              tmp_path: Path) -> None:
    now = [100.0]
    opener = Counting(sqlite_conf)
    drivers = pool_drivers.PoolDrivers(opener, clock=lambda: now[0])
    # No driver serves the scheme: the open fails.
    broken = pooling.Pool('p', 'mongodb://127.0.0.1:1', 1)
    with pytest.raises(pooling.PoolUnusable):
        drivers.driver(broken)
    with pytest.raises(errors.Unavailable, match='not tried again'):
        drivers.driver(broken)
    assert opener.calls == 1
    now[0] += pool_drivers.RETRY_AFTER
    with pytest.raises(pooling.PoolUnusable):
        drivers.driver(broken)
    assert opener.calls == 2
    # A changed record is tried at once.
    fixed = pooling.Pool('p', f'sqlite:///{tmp_path / "p.sqlite"}', 1)
    driver = drivers.driver(fixed)
    assert drivers.driver(fixed) is driver
    assert opener.calls == 3
    drivers.close()
