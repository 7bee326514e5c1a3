"""``zaqar-gc``: one garbage collection of the message store, for cron.

Servers collect by themselves every ``[storage] gc_interval`` seconds;
this is for deployments that turn that off, or want a collection now.
Expired data is invisible either way: collecting only reclaims space.
"""

import sys

from zaqar_core.cmd import common
from zaqar_core.storage import errors as storage_errors


def main(argv: list[str] | None = None) -> int:
    conf = common.parse_config(argv)
    # Imported once parse_config has set up logging and filtered
    # warnings (cmd/logs.py): dependencies raise warnings as they load.
    from zaqar_core import bootstrap

    try:
        bootstrap.resolve_embedded_defaults(conf)
        stores = bootstrap.load_stores(conf)
        try:
            removed = stores.data.gc()
        finally:
            stores.close()
    except (bootstrap.BootstrapError, storage_errors.StorageError) as exc:
        print(f'{sys.argv[0]}: {exc}', file=sys.stderr)
        return 1
    print(f'Removed {removed} expired messages and claims.')
    return 0


if __name__ == '__main__':
    sys.exit(main())
