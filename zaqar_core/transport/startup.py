"""What a transport says once it serves: one line naming where, how and
on which stores, then what the operator must know (:mod:`..notices`).

Said by the master process, once its address is bound and before its
workers start, so that it appears once however many workers serve.
"""

from __future__ import annotations

from oslo_config import cfg
from oslo_log import log

from zaqar_core import bootstrap
from zaqar_core import notices
from zaqar_core import uris

LOG = log.getLogger(__name__)


def start_line(conf: cfg.ConfigOpts, url: str, workers: int,
               threads: int) -> str:
    """``Serving the Zaqar v2 API on URL (TRANSPORT, N workers x M
    threads); message store URI, management store URI``, passwords
    hidden."""
    return (f'Serving the Zaqar v2 API on {url} ({conf.drivers.transport}, '
            f'{_count(workers, "worker")} x {_count(threads, "thread")}); '
            f'{uris.describe_stores(conf)}')


def announce(conf: cfg.ConfigOpts, url: str, workers: int,
             threads: int) -> None:
    """Log the start line, then each notice as a warning."""
    LOG.info('%s', start_line(conf, url, workers, threads))
    for notice in notices.collect(conf, bootstrap.load_notifiers(conf)):
        LOG.warning('%s', notice)


def _count(number: int, noun: str) -> str:
    return f'{number} {noun}' if number == 1 else f'{number} {noun}s'
