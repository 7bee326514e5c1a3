"""Options of a Redis store, in ``[drivers:message_store:redis]`` and
``[drivers:management_store:redis]`` (upstream's groups).

URI forms (see :mod:`zaqar_plugins.storage.redis.connection`):

* ``redis://[[user]:password@]host[:port][/db][?options]``
* ``redis://[:password@]/path/to/redis.sock[?options]`` (unix socket)
* ``redis://[:password@]h1[:p1],h2[:p2]?master=name`` (Sentinel)
* ``redis+cluster://[[user]:password@]h1[:p1][,h2[:p2]...][?options]``
  (Redis Cluster; any reachable nodes, the rest are discovered)

Query options: ``dbid``, ``socket_timeout``, ``master``,
``sentinel_username``, ``sentinel_password``.
"""

from oslo_config import cfg

MESSAGE_GROUP = 'drivers:message_store:redis'
MANAGEMENT_GROUP = 'drivers:management_store:redis'


def list_opts() -> list[cfg.Opt]:
    """The options of one Redis store (new objects on each call)."""
    return [
        cfg.StrOpt('uri', default='redis://127.0.0.1:6379', secret=True,
                   help='Redis URI of the store: '
                        'redis://[[user]:password@]host[:port][?dbid=N], '
                        'a unix socket redis://[:password@]/path.sock, '
                        'Sentinel redis://h1:p1,h2:p2?master=name, or '
                        'Redis Cluster redis+cluster://h1:p1,h2:p2.'),
        cfg.IntOpt('max_reconnect_attempts', default=10, min=0,
                   help='Times a command is retried when the connection '
                        'to Redis fails.'),
        cfg.FloatOpt('reconnect_sleep', default=1.0, min=0,
                     help='Seconds to wait between reconnection '
                          'attempts.'),
    ]
