"""``[storage]``: pipelines (upstream names) and garbage collection."""

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
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> dict:
    return {GROUP: OPTS}
