"""``[trustee]``: the Keystone user that ``trust+http(s)`` subscribers
delegate to.

The group holds a keystoneauth1 auth plugin (``auth_type``, usually
``password``, plus that plugin's options: ``auth_url``, ``username``...)
and session options (``cafile``, ``insecure``, ``timeout``...). The trust
notifier authenticates as this user to learn its id when it creates a
trust, and with the trust to get the token it sends to the subscriber.
"""

from keystoneauth1 import loading
from oslo_config import cfg

GROUP = 'trustee'

# What the sample config shows: keystoneauth1 registers the options of
# the plugin that auth_type names only when it loads it (so any plugin
# works), and upstream documents the password plugin here.
PLUGIN = 'password'


def register_opts(conf: cfg.ConfigOpts) -> None:
    loading.register_auth_conf_options(conf, GROUP)
    loading.register_session_conf_options(conf, GROUP)


def list_opts() -> dict:
    return {GROUP: [*loading.get_auth_common_conf_options(),
                    *loading.get_auth_plugin_conf_options(PLUGIN),
                    *loading.get_session_conf_options()]}
