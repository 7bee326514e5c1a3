"""Where the console scripts' logs go, and what they leave out.

Logs go to stderr unless the configuration names a log file or the
journal (oslo.log's own fallback is stdout, which mixes logs with what a
command prints). Python warnings that dependencies raise on
import (``DeprecationWarning``, cryptography's deprecation warnings) are
left out unless debugging: an operator can do nothing about them.
"""

from __future__ import annotations

import logging
import warnings

from oslo_config import cfg
from oslo_log import log

#: Loggers of libraries whose INFO lines say nothing an operator needs
#: (oslo.service names its backend as oslo.messaging loads it); WARNING
#: unless debugging or set otherwise (default_log_levels).
CHATTY_LOGGERS = ('oslo_service.backend',)

# Warnings raised from modules outside this project: re.match against
# the module the warning is attributed to.
_THIRD_PARTY = r'(?!zaqar_core|zaqar_plugins|zaqar_bench|__main__)'


def stderr_by_default(conf: cfg.ConfigOpts) -> None:
    """Log to stderr when no other destination is configured; an explicit
    ``use_stderr`` still wins. Call before ``log.setup``."""
    if not (conf.log_file or conf.log_dir or conf.use_journal):
        conf.set_default('use_stderr', True)


def quiet_dependency_warnings(debug: bool) -> None:
    """Hide dependencies' deprecation warnings unless ``debug``. Call
    before importing them: most are raised on import."""
    if debug:
        return
    categories: list[type[Warning]] = [DeprecationWarning,
                                       PendingDeprecationWarning]
    try:
        from cryptography.utils import CryptographyDeprecationWarning
    except ImportError:
        pass
    else:
        # A UserWarning subclass, not a DeprecationWarning.
        categories.append(CryptographyDeprecationWarning)
    for category in categories:
        warnings.filterwarnings('ignore', category=category,
                                module=_THIRD_PARTY)


def setup(conf: cfg.ConfigOpts, project: str) -> None:
    """Logging as the console scripts want it (see above).

    Safe after ``log.setup``: oslo.log replaces its handlers.
    """
    stderr_by_default(conf)
    quiet_dependency_warnings(conf.debug)
    log.setup(conf, project)
    if not conf.debug:
        for name in CHATTY_LOGGERS:
            logger = logging.getLogger(name)
            if logger.level == logging.NOTSET:
                logger.setLevel(logging.WARNING)
