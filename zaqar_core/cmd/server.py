"""``zaqar-server``: run the configured transport."""

import sys

from oslo_config import cfg
from oslo_log import log

from zaqar_core import bootstrap
from zaqar_core.cmd import common
from zaqar_core.storage import errors as storage_errors
from zaqar_core.transport import base as transport_base

LOG = log.getLogger(__name__)

CLI_OPTS = [
    cfg.BoolOpt('admin_mode', dest='cli_admin_mode', default=False,
                help='Enable the administrative API (same as [DEFAULT] '
                     'admin_mode = true).'),
]


def main(argv: list[str] | None = None) -> int:
    conf = common.parse_config(argv, CLI_OPTS)
    if conf.cli_admin_mode:
        conf.set_override('admin_mode', True)
    if conf.pooling:
        LOG.warning('pooling = true is accepted for compatibility, but this '
                    'release has no pools: every queue lives in the '
                    'configured message store.')
    try:
        uri = bootstrap.resolve_sqlite_default(conf)
        if uri:
            LOG.info('Storing data in %s', uri)
        bootstrap.upgrade_embedded_stores(conf)
        transport = bootstrap.load_transport(conf)
        transport.listen()
    except (bootstrap.BootstrapError, storage_errors.StorageError,
            transport_base.ListenError) as exc:
        print(f'zaqar-server: {exc}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
