"""Configuration options, one module per group.

Each module has ``GROUP`` (``None`` for ``[DEFAULT]``), ``OPTS`` and
``register_opts(conf)``; :func:`register_opts` here registers them all on
the ``ConfigOpts`` object that bootstrap passes around (no global CONF).
Group and option names are upstream Zaqar's, so its config files work.
Each driver declares its own options (:mod:`.driver_options`).
"""

from oslo_config import cfg

from zaqar_core.conf import bridge
from zaqar_core.conf import default
from zaqar_core.conf import driver_options
from zaqar_core.conf import drivers
from zaqar_core.conf import notification
from zaqar_core.conf import pooling
from zaqar_core.conf import signed_url
from zaqar_core.conf import storage
from zaqar_core.conf import transport
from zaqar_core.conf import trustee

MODULES = (
    bridge,
    default,
    driver_options,
    drivers,
    notification,
    pooling,
    signed_url,
    storage,
    transport,
    trustee,
)


def register_opts(conf: cfg.ConfigOpts) -> cfg.ConfigOpts:
    """Register every option of this project on ``conf`` and return it."""
    for module in MODULES:
        module.register_opts(conf)
    return conf
