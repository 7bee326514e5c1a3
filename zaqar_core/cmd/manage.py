"""``zaqar-manage``: operator tasks on the stores.

``zaqar-manage db upgrade [REVISION]``, ``db current``, ``db stamp
REVISION``, ``import-upstream`` (:mod:`.import_upstream`); also
installed as ``zaqar-sql-db-manage`` with upstream's spelling
(``zaqar-sql-db-manage upgrade head``).

Each store answers on a line of its own, named with its URI (passwords
hidden)::

    management store (postgresql://zaqar:***@db/zaqar): already at 0004
    message store (redis://127.0.0.1:6379): no schema (nothing to upgrade)

A store whose driver has no schema (``schema_head()`` is None) says so.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING
from typing import TextIO

from oslo_config import cfg

from zaqar_core import plugins
from zaqar_core import uris
from zaqar_core.cmd import common
from zaqar_core.cmd import import_upstream
from zaqar_core.storage import errors as storage_errors

if TYPE_CHECKING:
    from zaqar_core.storage.base import DriverBase
    from zaqar_core.storage.stores import Stores


def _add_db_commands(subparsers) -> None:
    upgrade = subparsers.add_parser('upgrade', help='Upgrade the schema.')
    upgrade.add_argument('revision', nargs='?', default='head')
    upgrade.set_defaults(db_action='upgrade')
    current = subparsers.add_parser('current',
                                    help='Show the applied revision.')
    current.set_defaults(db_action='current')
    stamp = subparsers.add_parser('stamp', help='Mark a revision applied '
                                                'without running it.')
    stamp.add_argument('revision')
    stamp.set_defaults(db_action='stamp')


def _add_manage_commands(subparsers) -> None:
    db = subparsers.add_parser('db', help='Database schema.')
    _add_db_commands(db.add_subparsers(dest='db_command', required=True))
    import_upstream.add_command(subparsers)


def each_store(conf: cfg.ConfigOpts, stores: Stores
                ) -> Iterator[tuple[str, DriverBase | Exception]]:
    """``label (URI)`` and driver of each store, management store first,
    then, with pooling, each pool's (or why it cannot be opened).

    Both configured stores, even on one database: a second upgrade finds
    nothing to do. Pools too: their schemas follow the release like the
    others' (the server migrates a pool only when it is registered).
    """
    for kind, driver in ((plugins.MANAGEMENT_STORE, stores.control),
                         (plugins.MESSAGE_STORE, stores.home)):
        where = uris.store_uri(conf, kind) or kind.chosen(conf)
        yield f'{kind.label} ({where})', driver
    if stores.placement is None:
        return
    try:
        pools = stores.placement.every_pool()
    except Exception as exc:  # whatever the database library raises
        # A management store without its schema yet ("db current").
        yield 'pools', exc
        return
    for pool in pools:
        label = f'pool {pool.name} ({uris.redacted(pool.uri)})'
        try:
            yield label, stores.pool_drivers.driver(pool)
        except storage_errors.StorageError as exc:
            yield label, exc


def upgrade(driver: DriverBase, revision: str) -> str:
    """Upgrade ``driver``'s schema; what happened, in a few words."""
    if driver.schema_head() is None:
        return 'no schema (nothing to upgrade)'
    before = driver.schema_version()
    driver.upgrade(revision)
    after = driver.schema_version()
    if after == before:
        return f'already at {after}'
    if before is None:
        return f'schema created at {after}'
    return f'upgraded from {before} to {after}'


def stamp(driver: DriverBase, revision: str) -> str:
    if driver.schema_head() is None:
        return 'no schema (nothing to stamp)'
    driver.stamp(revision)
    return f'stamped {revision}'


def current(driver: DriverBase) -> str:
    head = driver.schema_head()
    if head is None:
        return 'no schema'
    version = driver.schema_version()
    if version is None:
        return f'empty (newest {head}; run "db upgrade")'
    if version == head:
        return f'at {version} (the newest)'
    return f'at {version} (newest {head}; run "db upgrade")'


def run(conf: cfg.ConfigOpts, out: TextIO = sys.stdout) -> int:
    # Imported once parse_config has set up logging and filtered
    # warnings (cmd/logs.py): dependencies raise warnings as they load.
    from zaqar_core import bootstrap

    bootstrap.resolve_embedded_defaults(conf)
    stores = bootstrap.load_stores(conf)
    failed = False
    try:
        action = conf.command.db_action
        for label, driver in each_store(conf, stores):
            if isinstance(driver, Exception):
                print(f'{label}: cannot be read: {driver}', file=out)
                failed = True
                continue
            if action == 'upgrade':
                said = upgrade(driver, conf.command.revision)
            elif action == 'stamp':
                said = stamp(driver, conf.command.revision)
            else:
                said = current(driver)
            print(f'{label}: {said}', file=out)
    finally:
        stores.close()
    return 1 if failed else 0


def _main(handler, argv: list[str] | None) -> int:
    command = cfg.SubCommandOpt('command', handler=handler,
                                title='Commands')
    conf = common.parse_config(argv, [command])
    from zaqar_core import bootstrap  # after parse_config, as in run()

    try:
        if conf.command.name == import_upstream.NAME:
            return import_upstream.run(conf)
        return run(conf)
    except (bootstrap.BootstrapError, storage_errors.StorageError) as exc:
        print(f'{sys.argv[0]}: {exc}', file=sys.stderr)
        return 1


def main(argv: list[str] | None = None) -> int:
    """``zaqar-manage``."""
    return _main(_add_manage_commands, argv)


def sql_db_manage(argv: list[str] | None = None) -> int:
    """``zaqar-sql-db-manage`` (upstream's name and syntax)."""
    return _main(_add_db_commands, argv)


if __name__ == '__main__':
    sys.exit(main())
