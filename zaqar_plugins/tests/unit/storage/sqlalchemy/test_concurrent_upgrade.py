"""Several processes upgrading one fresh SQLite file at once (each worker
of a WSGI server upgrades the embedded store when it starts)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from zaqar_plugins.storage.sqlalchemy import engine
from zaqar_plugins.storage.sqlalchemy import migration

UPGRADE = '''
import sys, time
from zaqar_plugins.storage.sqlalchemy import engine, migration
target = engine.make_engine(sys.argv[1])
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
migration.upgrade(target)
'''


def test_concurrent_upgrades_of_one_sqlite_file_all_succeed(
        tmp_path: Path) -> None:
    uri = f'sqlite:///{tmp_path / "zaqar.sqlite"}'
    start = str(time.time() + 2)  # after every interpreter has started
    upgrades = [subprocess.Popen([sys.executable, '-c', UPGRADE, uri, start],
                                 stderr=subprocess.PIPE, text=True)
                for _ in range(4)]
    for upgrade in upgrades:
        _, errors = upgrade.communicate(timeout=60)
        assert upgrade.returncode == 0, errors
    assert migration.current(engine.make_engine(uri)) == migration.head()
