"""The options of the installed drivers, each in its driver's
``[drivers:<kind>:<name>]`` group, as the drivers declare them (see
:mod:`zaqar_core.plugins`)."""

from oslo_config import cfg

from zaqar_core import plugins


def register_opts(conf: cfg.ConfigOpts) -> None:
    for group, opts in plugins.driver_options().items():
        conf.register_opts(opts, group=group)


def list_opts() -> dict:
    return dict(plugins.driver_options())
