"""``[DEFAULT]`` options."""

from oslo_config import cfg

GROUP = None

OPTS = [
    cfg.BoolOpt('admin_mode', default=False,
                help='Activate the administrative API (health, pools and '
                     'flavors).'),
    cfg.BoolOpt('pooling', default=False, deprecated_name='sharding',
                help='Spread queues over several message store pools. '
                     'Accepted for compatibility; this release has one '
                     'pool, the configured message store.'),
    cfg.BoolOpt('unreliable', default=False,
                help='Allow storage configurations without durability '
                     'guarantees. Accepted for compatibility.'),
    cfg.ListOpt('enable_deprecated_api_versions', default=[],
                item_type=cfg.types.List(item_type=cfg.types.String(
                    choices=('1.1',))),
                deprecated_for_removal=True,
                help='Has no effect: only the v2 API exists.'),
    cfg.BoolOpt('enable_checksum', default=False,
                help='Store an MD5 checksum of each message body and return '
                     'it as "checksum".'),
    cfg.StrOpt('auth_strategy', default='',
               choices=('', 'keystone'),
               help='Authentication: empty for none (the project comes '
                    'from the X-Project-Id header), or "keystone".'),
    cfg.StrOpt('state_path', default='$pybasedir/state',
               help='Directory for local state: the embedded SQLite '
                    'database lives here when no store URI is set. Created '
                    'on first start.'),
    cfg.StrOpt('pybasedir', default='.', sample_default='<current dir>',
               help='Base directory that state_path is relative to.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS)


def list_opts() -> dict:
    return {GROUP: OPTS}
