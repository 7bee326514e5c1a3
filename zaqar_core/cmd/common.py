"""What every console script does first: options, config files, logging."""

import os
import sys

from oslo_config import cfg
from oslo_log import log

from zaqar_core import conf as zconf
from zaqar_core.cmd import logs
from zaqar_core.conf import checking
from zaqar_core.conf import opts

# Upstream's project name: /etc/zaqar/zaqar.conf is found as it is.
PROJECT = 'zaqar'

#: Exit status of a command whose configuration is refused (argparse's
#: for a bad command line, and oslo.upgradecheck's for a failure).
CONFIG_REFUSED = 2

LOG = log.getLogger(__name__)


def load_config(argv: list[str] | None = None,
                cli_opts: list | None = None,
                prog: str | None = None, description: str | None = None,
                version: str | None = None) -> cfg.ConfigOpts:
    """Options registered, config files read and checked, logging set
    up, warnings about the files logged.

    ``prog`` (default: this program's name) is also a config file name
    oslo.config searches for, beside ``zaqar.conf``; ``description`` and
    ``version`` are for ``--help`` and ``--version``.

    Raises:
        checking.ConfigError: a file is missing or unparsable, a value
            invalid, or an unknown option refused (see
            :mod:`zaqar_core.conf.checking`); nothing was done yet.
    """
    conf = cfg.ConfigOpts()
    zconf.register_opts(conf)
    log.register_options(conf)
    opts.set_defaults()
    if cli_opts:
        conf.register_cli_opts(cli_opts)
    checking.parse(conf, sys.argv[1:] if argv is None else argv,
                   project=PROJECT, prog=prog, description=description,
                   version=version)
    findings = checking.check(conf)
    refused = [finding.line for finding in findings if finding.refused]
    if refused:
        raise checking.ConfigError(refused)
    # Before the warnings, so that they go where the logs go.
    logs.setup(conf, PROJECT)
    for finding in findings:
        # oslo.config logs old names itself, when the option is read.
        if finding.kind is not checking.Kind.DEPRECATED:
            LOG.warning('%s', finding.line)
    return conf


def parse_config(argv: list[str] | None = None,
                 cli_opts: list | None = None,
                 prog: str | None = None, description: str | None = None,
                 version: str | None = None) -> cfg.ConfigOpts:
    """:func:`load_config`, for console scripts: a refused configuration
    is told on stderr, one line per problem, and the process exits with
    :data:`CONFIG_REFUSED`."""
    try:
        return load_config(argv, cli_opts, prog, description, version)
    except checking.ConfigError as exc:
        name = prog or os.path.basename(sys.argv[0])
        for line in exc.lines:
            print(f'{name}: {line}', file=sys.stderr)
        raise SystemExit(CONFIG_REFUSED) from None
