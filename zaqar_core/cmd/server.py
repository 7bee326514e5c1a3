"""``zaqar-server``: serve the Zaqar v2 API over the configured transport.

``[drivers] transport`` picks the wire protocol (the REST API over HTTP,
or the WebSocket API) and ``[drivers]`` the message and management
stores. ``--bind``, ``--port`` and ``--workers`` override the options of
the same names in ``[drivers:transport:<transport>]``.
"""

import importlib.metadata
import sys

from oslo_config import cfg
from oslo_log import log

from zaqar_core.cmd import common
from zaqar_core.storage import errors as storage_errors

LOG = log.getLogger(__name__)

DISTRIBUTION = 'zaqar-core'

#: For ``--help`` (see :func:`zaqar_core.cmd.common.parse_config`).
DESCRIPTION = (
    'Serve the Zaqar v2 API (queues, messages, claims, subscriptions, '
    'topics) over the transport [drivers] transport names (the REST API '
    'over HTTP, or the WebSocket API), on the message and management '
    'stores [drivers] names. Logs go to '
    'stderr unless a log file is configured. --bind, --port and '
    '--workers override the transport\'s [drivers:transport:<name>] '
    'options. --version prints the version.')

#: CLI option (its ``dest``) -> the transport option it overrides.
TRANSPORT_OVERRIDES = {'cli_bind': 'bind', 'cli_port': 'port',
                       'cli_workers': 'workers'}

CLI_OPTS = [
    cfg.BoolOpt('admin_mode', dest='cli_admin_mode', default=False,
                help='Enable the administrative API (same as [DEFAULT] '
                     'admin_mode = true).'),
    cfg.HostAddressOpt('bind', dest='cli_bind', metavar='HOST',
                       help='Address to listen on, instead of the bind '
                            'option of [drivers:transport:<transport>].'),
    cfg.PortOpt('port', dest='cli_port', metavar='PORT',
                help='Port to listen on, instead of the port option of '
                     '[drivers:transport:<transport>].'),
    cfg.IntOpt('workers', dest='cli_workers', min=1, metavar='N',
               help='Server processes, instead of the workers option of '
                    '[drivers:transport:<transport>].'),
]


def version() -> str:
    """This release's version."""
    return importlib.metadata.version(DISTRIBUTION)


def apply_overrides(conf: cfg.ConfigOpts) -> None:
    """Put ``--bind``, ``--port`` and ``--workers`` over the options of
    the transport ``[drivers] transport`` names.

    Raises:
        BootstrapError: that transport has no such option.
    """
    from zaqar_core import bootstrap

    group = f'drivers:transport:{conf.drivers.transport}'
    for dest, option in TRANSPORT_OVERRIDES.items():
        value = conf[dest]
        if value is None:
            continue
        try:
            conf.set_override(option, value, group=group)
        except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
            raise bootstrap.BootstrapError(
                f'--{option}: the {conf.drivers.transport} transport has '
                f'no [{group}] {option} option.') from None


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if '--version' in args:
        # Before any configuration file is read: it answers even when
        # they are broken.
        print(version())
        return 0
    conf = common.parse_config(args, CLI_OPTS, description=DESCRIPTION,
                               version=version())
    # Imported once parse_config has set up logging and filtered
    # warnings (cmd/logs.py): dependencies raise warnings as they load.
    from zaqar_core import bootstrap
    from zaqar_core.transport import base as transport_base

    if conf.cli_admin_mode:
        conf.set_override('admin_mode', True)
    if conf.pooling:
        LOG.info('pooling = true: new queues are placed on the pools '
                 'registered at /v2/pools; [pooling:catalog] '
                 'enable_virtual_pool = %s.',
                 conf['pooling:catalog'].enable_virtual_pool)
    try:
        apply_overrides(conf)
        bootstrap.resolve_embedded_defaults(conf)
        bootstrap.upgrade_embedded_stores(conf)
        # Before any worker starts: a store that cannot serve is named
        # now, not as the first request's 503.
        bootstrap.check_stores(conf)
        transport = bootstrap.load_transport(conf)
        transport.listen()
    except (bootstrap.BootstrapError, storage_errors.StorageError,
            transport_base.ListenError) as exc:
        print(f'zaqar-server: {exc}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
