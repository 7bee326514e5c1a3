"""``zaqar-manage import-upstream``: carry an upstream Zaqar deployment's
data into this project's stores (see :mod:`zaqar_core.importing`).

::

    zaqar-manage --config-file /etc/zaqar/zaqar-core.conf import-upstream \\
        --from-config-file /etc/zaqar/zaqar.conf [--dry-run]

Upstream's stores are read, never written; this project's configured
stores (upgraded to the newest schema first) are written. Exit status 0
when every count adds up, 1 otherwise (or when the import cannot run).
"""

from __future__ import annotations

import sys
from typing import TextIO

from oslo_config import cfg

NAME = 'import-upstream'


def add_command(subparsers) -> None:
    parser = subparsers.add_parser(
        NAME, help='Import the queues, messages, subscriptions, pools and '
                   'flavors of an upstream Zaqar deployment.')
    parser.add_argument(
        '--from-config-file', metavar='PATH',
        help='upstream\'s zaqar.conf: where its stores are, and its '
             'message encryption key')
    parser.add_argument(
        '--from-message-store', metavar='URI',
        help='upstream\'s message store, instead of --from-config-file')
    parser.add_argument(
        '--from-management-store', metavar='URI',
        help='upstream\'s management store, instead of --from-config-file')
    parser.add_argument(
        '--dry-run', action='store_true',
        help='read upstream and print what would be imported; write '
             'nothing')
    parser.add_argument('--no-progress', action='store_true',
                        help='no progress line')
    parser.add_argument('--per-queue', action='store_true',
                        help='counts of every queue in the summary')


def _where(conf: cfg.ConfigOpts):
    from zaqar_core.importing import deployment
    from zaqar_core.importing import importer

    command = conf.command
    if command.from_config_file:
        if command.from_message_store or command.from_management_store:
            raise importer.ImportRefused(
                'Give --from-config-file or the two --from-...-store URIs, '
                'not both')
        return deployment.from_config_file(command.from_config_file)
    if not (command.from_message_store and command.from_management_store):
        raise importer.ImportRefused(
            'Say where upstream\'s data is: --from-config-file PATH, or '
            'both --from-message-store URI and --from-management-store URI')
    # The same key as this deployment's, as operators keep their files.
    return deployment.from_uris(command.from_message_store,
                                command.from_management_store,
                                conf.transport.message_encryption_key)


def run(conf: cfg.ConfigOpts, out: TextIO = sys.stdout,
        err: TextIO = sys.stderr) -> int:
    # Imported here: after parse_config set up logging (cmd/logs.py).
    from zaqar_core.importing import importer
    from zaqar_core.importing import sources

    try:
        return _run(conf, out, err)
    except (importer.ImportRefused, sources.SourceError) as exc:
        print(f'zaqar-manage {NAME}: {exc}', file=err)
        return 1


def _run(conf: cfg.ConfigOpts, out: TextIO, err: TextIO) -> int:
    from zaqar_core import bootstrap
    from zaqar_core.cmd import manage
    from zaqar_core.importing import importer
    from zaqar_core.importing import tally as tallying

    command = conf.command
    where = _where(conf)
    print(f'upstream: {where.describe()}', file=out)
    stores = None
    if not command.dry_run:
        bootstrap.resolve_embedded_defaults(conf)
        stores = bootstrap.load_stores(conf)
    try:
        if stores is not None:
            # The schema the writes need, as "zaqar-manage db upgrade".
            for label, driver in manage.each_store(conf, stores):
                if isinstance(driver, Exception):
                    raise importer.ImportRefused(
                        f'{label}: cannot be opened: {driver}')
                print(f'{label}: {manage.upgrade(driver, "head")}',
                      file=out)
        found = importer.Importer(
            conf, stores, where, out=err, dry_run=command.dry_run,
            progress=not command.no_progress).run()
    finally:
        if stores is not None:
            stores.close()
    ok = tallying.report(found, out, dry_run=command.dry_run,
                         per_queue=command.per_queue)
    return 0 if ok else 1
