"""Claims from separate processes, as server workers make them: a driver's
test gives a picklable ``make_stores(uri)`` and the URI of its store."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from typing import Any

from oslo_config import cfg

from zaqar_core import conf as zconf
from zaqar_core.storage.stores import Stores
from zaqar_core.tests.contract.storage.helpers import claim
from zaqar_core.tests.contract.storage.helpers import drain

StoresFactory = Callable[[str], Stores]


def conf_for(uri: str, groups: tuple[str, ...]) -> cfg.ConfigOpts:
    """A configuration whose ``groups`` (store sections) use ``uri``."""
    conf = zconf.register_opts(cfg.ConfigOpts())
    conf([], project='zaqar', default_config_files=[],
         default_config_dirs=[])
    for group in groups:
        conf.set_override('uri', uri, group=group)
    return conf


def _claim_in_process(make_stores: StoresFactory, uri: str, start: Any,
                      results: Any) -> None:
    """Child process body: claim until nothing is left; report the ids
    taken, or the exception that stopped it."""
    outcome: list[str] | BaseException
    try:
        stores = make_stores(uri)
        try:
            start.wait(timeout=30)
            outcome = drain(lambda: claim(stores, limit=5)[1])
        finally:
            stores.close()
    except BaseException as exc:
        outcome = exc
    results.put(outcome)


def claimed_by_processes(make_stores: StoresFactory, uri: str,
                         workers: int = 3) -> list[str]:
    """Every id that ``workers`` processes claimed, started together,
    until the queue had nothing free."""
    # spawn: a forked child would share the parent's pooled connections.
    context = multiprocessing.get_context('spawn')
    start, results = context.Barrier(workers), context.Queue()
    processes = [context.Process(target=_claim_in_process,
                                 args=(make_stores, uri, start, results))
                 for _ in range(workers)]
    for process in processes:
        process.start()
    try:
        outcomes = [results.get(timeout=60) for _ in processes]
    finally:
        for process in processes:
            process.join(10)
            if process.is_alive():
                process.kill()
    taken: list[str] = []
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
        taken += outcome
    return taken
