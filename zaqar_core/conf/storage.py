"""``[storage]``: pipelines (upstream names), garbage collection, and
what the server does when a store is down at start."""

from oslo_config import cfg

GROUP = 'storage'

OPTS = [
    cfg.ListOpt('queue_pipeline', default=[],
                help='Pipeline stages for queue operations.'),
    cfg.ListOpt('message_pipeline', default=[],
                help='Pipeline stages for message operations.'),
    cfg.ListOpt('claim_pipeline', default=[],
                help='Pipeline stages for claim operations.'),
    cfg.ListOpt('subscription_pipeline', default=[],
                help='Pipeline stages for subscription operations.'),
    cfg.ListOpt('topic_pipeline', default=[],
                help='Pipeline stages for topic operations.'),
    cfg.IntOpt('gc_interval', default=30, min=0,
               help='Seconds between in-server garbage collections of '
                    'expired messages and claims; 0 disables it. Expired '
                    'data is invisible at once either way.'),
    cfg.BoolOpt('allow_degraded_start', default=False,
                help='Whether zaqar-server starts when a store does not '
                     'answer or its schema is not current. By default it '
                     'exits with status 1 and one line per failing store; '
                     'with this set, it logs those lines as warnings and '
                     'serves anyway, answering 503 to requests that need '
                     'the failing store until it is fixed.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> dict:
    return {GROUP: OPTS}
