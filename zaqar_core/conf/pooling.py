"""``[pooling:catalog]``: where queues go when ``[DEFAULT] pooling`` is on."""

from oslo_config import cfg

GROUP = 'pooling:catalog'

OPTS = [
    cfg.BoolOpt('enable_virtual_pool', default=False,
                help='Keep queues that no pool can take (none is registered '
                     'for their flavor) in the configured message store '
                     'instead of refusing them with 503. Queues made before '
                     'pooling was turned on stay there either way.'),
    cfg.IntOpt('cache_ttl', default=10, min=0,
               help='Seconds each server process keeps what it read of the '
                    'catalogue (which pool holds a queue) and of a pool\'s '
                    'record (its weight, flavor and options): a change to a '
                    'pool reaches every process within this time. Queues '
                    'never change pools. 0 reads both on every request.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> dict:
    return {GROUP: OPTS}
