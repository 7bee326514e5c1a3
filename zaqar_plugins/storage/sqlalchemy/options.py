"""Options of an SQL store, in ``[drivers:message_store:sqlalchemy]`` and
``[drivers:management_store:sqlalchemy]`` (upstream's groups).

When a store's URI is unset, it is an SQLite file in ``state_path``,
shared by both stores (see
:meth:`zaqar_plugins.storage.sqlalchemy.driver.DataDriver.resolve_default`).
"""

from oslo_config import cfg

MESSAGE_GROUP = 'drivers:message_store:sqlalchemy'
MANAGEMENT_GROUP = 'drivers:management_store:sqlalchemy'

#: The embedded database, in ``state_path``.
SQLITE_FILE = 'zaqar.sqlite'


def list_opts() -> list[cfg.Opt]:
    """The options of one SQL store (new objects on each call)."""
    return [
        cfg.StrOpt('uri', secret=True,
                   sample_default=f'sqlite:///$state_path/{SQLITE_FILE}',
                   help='SQLAlchemy URI of the store, e.g. '
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
