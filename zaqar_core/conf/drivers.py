"""``[drivers]``: which stevedore plugins serve the transport and stores."""

from oslo_config import cfg

GROUP = 'drivers'

OPTS = [
    cfg.StrOpt('transport', default='wsgi',
               help='Transport driver, a name in the "zaqar_core.transport" '
                    'entry-point namespace.'),
    cfg.StrOpt('message_store', default='sqlalchemy',
               deprecated_opts=[cfg.DeprecatedOpt('storage', group=GROUP)],
               help='Message store (messages and claims), a name in the '
                    '"zaqar_core.storage.data" entry-point namespace.'),
    cfg.StrOpt('management_store', default='sqlalchemy',
               help='Management store (queues and their metadata), a name '
                    'in the "zaqar_core.storage.control" entry-point '
                    'namespace.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> dict:
    return {GROUP: OPTS}
