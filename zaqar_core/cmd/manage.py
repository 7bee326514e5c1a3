"""``zaqar-manage``: operator tasks on the stores.

``zaqar-manage db upgrade [REVISION]``, ``db current``, ``db stamp
REVISION``; also installed as ``zaqar-sql-db-manage`` with upstream's
spelling (``zaqar-sql-db-manage upgrade head``).
"""

import sys

from oslo_config import cfg

from zaqar_core import bootstrap
from zaqar_core.cmd import common
from zaqar_core.storage import errors as storage_errors
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


def _each_store(stores: Stores):
    # Both, even on one database: a second upgrade finds nothing to do.
    yield 'management store', stores.control
    yield 'message store', stores.data


def run(conf: cfg.ConfigOpts, out=sys.stdout) -> int:
    bootstrap.resolve_sqlite_default(conf)
    stores = bootstrap.load_stores(conf)
    try:
        action = conf.command.db_action
        for label, driver in _each_store(stores):
            if action == 'upgrade':
                driver.upgrade(conf.command.revision)
                print(f'{label}: at {driver.schema_version()}', file=out)
            elif action == 'stamp':
                driver.stamp(conf.command.revision)
                print(f'{label}: stamped {conf.command.revision}', file=out)
            else:
                print(f'{label}: {driver.schema_version() or "none"} '
                      f'(head {driver.schema_head() or "none"})', file=out)
    finally:
        stores.close()
    return 0


def _main(handler, argv: list[str] | None) -> int:
    command = cfg.SubCommandOpt('command', handler=handler,
                                title='Commands')
    try:
        conf = common.parse_config(argv, [command])
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
