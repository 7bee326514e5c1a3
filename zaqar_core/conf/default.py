"""``[DEFAULT]`` options."""

from oslo_config import cfg

GROUP = None

OPTS = [
    cfg.BoolOpt('admin_mode', default=False,
                help='Activate the administrative API (health, pools and '
                     'flavors).'),
    cfg.BoolOpt('pooling', default=False, deprecated_name='sharding',
                help='Spread queues over the message stores registered as '
                     'pools (/v2/pools): each new queue is placed on one '
                     'pool of its flavor, chosen by weight, and stays '
                     'there. The management store holds the catalogue.'),
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
    cfg.StrOpt('noauth_project_id', default='',
               help='Without authentication (auth_strategy empty), the '
                    'project of requests that send no X-Project-Id header. '
                    'Empty: such requests get 400 "Project-Id Missing", as '
                    'upstream answers. For development with clients that '
                    'cannot send the header, such as "openstack '
                    '--os-auth-type none ... messaging". Ignored with '
                    'Keystone.'),
    cfg.StrOpt('state_path', default='$pybasedir/state',
               help='Directory for local state: the embedded SQLite '
                    'database lives here when no store URI is set. Created '
                    'on first start.'),
    cfg.StrOpt('pybasedir', default='.', sample_default='<current dir>',
               help='Base directory that state_path is relative to.'),
    cfg.BoolOpt('strict_config', default=True,
                help='Refuse to start when the configuration files set an '
                     'option or group that nothing reads in [DEFAULT], '
                     '[drivers], every [drivers:...] group, '
                     '[keystone_authtoken] or [signed_url] (a typo there '
                     'can turn authentication '
                     'off or store data elsewhere). False only warns. '
                     'Invalid values and missing files are refused '
                     'either way.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS)


def list_opts() -> dict:
    return {GROUP: OPTS}
