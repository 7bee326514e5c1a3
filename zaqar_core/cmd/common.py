"""What every console script does first: options, config files, logging."""

import sys

from oslo_config import cfg
from oslo_log import log

from zaqar_core import conf as zconf
from zaqar_core.conf import opts

# Upstream's project name: /etc/zaqar/zaqar.conf is found as it is.
PROJECT = 'zaqar'


def parse_config(argv: list[str] | None = None,
                 cli_opts: list | None = None,
                 prog: str | None = None) -> cfg.ConfigOpts:
    """Options registered, config files read, logging set up.

    ``prog`` (default: this program's name) is also a config file name
    oslo.config searches for, beside ``zaqar.conf``.
    """
    conf = cfg.ConfigOpts()
    zconf.register_opts(conf)
    log.register_options(conf)
    opts.set_defaults()
    if cli_opts:
        conf.register_cli_opts(cli_opts)
    conf(sys.argv[1:] if argv is None else argv, project=PROJECT, prog=prog)
    log.setup(conf, PROJECT)
    return conf
