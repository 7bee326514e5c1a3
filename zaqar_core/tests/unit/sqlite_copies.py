"""Migrated SQLite stores in a file copy instead of a migration each.

Migrating a new SQLite file takes about a second; copying a migrated one
takes a millisecond. The unit conftest migrates one template per session
and gives each test's ``sqlite_conf`` a copy.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from oslo_config import cfg

from zaqar_core import bootstrap
from zaqar_core import conf as zconf
from zaqar_plugins.storage.sqlalchemy import options as sqlalchemy_stores

NAME = 'zaqar.sqlite'
_GROUPS = (sqlalchemy_stores.MESSAGE_GROUP,
           sqlalchemy_stores.MANAGEMENT_GROUP)


def _point_at(conf: cfg.ConfigOpts, database: Path) -> None:
    for group in _GROUPS:
        conf.set_override('uri', f'sqlite:///{database}', group=group)


def migrate(directory: Path) -> Path:
    """A migrated SQLite file of both stores, in ``directory``."""
    conf = zconf.register_opts(cfg.ConfigOpts())
    conf([], project='zaqar', default_config_files=[],
         default_config_dirs=[])
    database = directory / NAME
    _point_at(conf, database)
    bootstrap.upgrade_embedded_stores(conf)
    return database


def use_copy(conf: cfg.ConfigOpts, template: Path,
             directory: Path) -> cfg.ConfigOpts:
    """``conf`` with both stores on a copy of ``template`` in
    ``directory``, named as the unit conftest's ``sqlite_conf`` names
    its file."""
    database = directory / NAME
    shutil.copyfile(template, database)
    _point_at(conf, database)
    return conf
