"""``[signed_url]``: pre-signed URL key."""

from oslo_config import cfg

GROUP = 'signed_url'

OPTS = [
    cfg.StrOpt('secret_key', secret=True,
               help='Secret key used to sign and verify pre-signed URLs.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> dict:
    return {GROUP: OPTS}
