"""``[drivers:message_store:sqlalchemy]`` and
``[drivers:management_store:sqlalchemy]``.

When neither URI is set, both stores share one SQLite file in
``state_path``; see :func:`zaqar_core.bootstrap.resolve_sqlite_default`.
"""

from oslo_config import cfg

MESSAGE_GROUP = 'drivers:message_store:sqlalchemy'
MANAGEMENT_GROUP = 'drivers:management_store:sqlalchemy'


def _opts(what: str) -> list:
    return [
        cfg.StrOpt('uri', secret=True,
                   sample_default='sqlite:///$state_path/zaqar.sqlite',
                   help=f'SQLAlchemy URI of the {what} store, e.g. '
                        'postgresql+psycopg2://user:pw@host/zaqar or '
                        'mysql+pymysql://user:pw@host/zaqar. Unset: an '
                        'SQLite file in state_path.'),
        cfg.IntOpt('sqlite_busy_timeout', default=10000, min=0,
                   help='Milliseconds an SQLite writer waits for the lock '
                        'before giving up.'),
        cfg.IntOpt('max_pool_size', default=10, min=1,
                   help='Connections kept open per server process.'),
        cfg.IntOpt('max_overflow', default=20, min=0,
                   help='Extra connections allowed beyond max_pool_size.'),
    ]


MESSAGE_OPTS = _opts('message')
MANAGEMENT_OPTS = _opts('management')


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(MESSAGE_OPTS, group=MESSAGE_GROUP)
    conf.register_opts(MANAGEMENT_OPTS, group=MANAGEMENT_GROUP)


def list_opts() -> dict:
    return {MESSAGE_GROUP: MESSAGE_OPTS, MANAGEMENT_GROUP: MANAGEMENT_OPTS}
