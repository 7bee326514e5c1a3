"""Several processes upgrading one fresh SQLite file at once (each worker
of a WSGI server upgrades the embedded store when it starts)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from zaqar_plugins.storage.sqlalchemy import engine
from zaqar_plugins.storage.sqlalchemy import migration

# Ready once imported; then blocks on the gate (a pipe) until the parent
# closes its end, which releases every process at the same moment.
UPGRADE = '''
import os, sys
from zaqar_plugins.storage.sqlalchemy import engine, migration
target = engine.make_engine(sys.argv[1])
print('ready', flush=True)
os.read(int(sys.argv[2]), 1)
migration.upgrade(target)
'''
PROCESSES = 4


def test_concurrent_upgrades_of_one_sqlite_file_all_succeed(
        tmp_path: Path) -> None:
    uri = f'sqlite:///{tmp_path / "zaqar.sqlite"}'
    gate, release = os.pipe()
    upgrades: list[subprocess.Popen] = []
    try:
        for _ in range(PROCESSES):
            upgrades.append(subprocess.Popen(
                [sys.executable, '-c', UPGRADE, uri, str(gate)],
                pass_fds=(gate,), stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True))
        # However long each took to start, none upgrades before all are
        # ready: the race is run every time.
        for upgrade in upgrades:
            assert upgrade.stdout.readline() == 'ready\n', \
                upgrade.communicate(timeout=60)[1]
    except BaseException:
        for upgrade in upgrades:
            upgrade.kill()
        raise
    finally:
        os.close(gate)
        os.close(release)  # the start
    for upgrade in upgrades:
        _, errors = upgrade.communicate(timeout=60)
        assert upgrade.returncode == 0, errors
    assert migration.current(engine.make_engine(uri)) == migration.head()
