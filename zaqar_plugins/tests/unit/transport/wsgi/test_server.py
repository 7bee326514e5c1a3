"""The HTTP server's settings from ``[drivers:transport:wsgi]``, and what
a worker does before it builds the app. (The server's behaviour over the
wire is tested in zaqar_core/tests/functional/test_server_lifecycle.py
and test_wsgi_server.py.)"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from granian.constants import Interfaces
from granian.constants import Loops
from oslo_config import cfg
from oslo_log import log

from zaqar_core import conf as zconf
from zaqar_plugins.tests.unit.transport.test_processes import in_child
from zaqar_plugins.transport.wsgi import server


@pytest.fixture
def conf(tmp_path: Path) -> cfg.ConfigOpts:
    path = tmp_path / 'zaqar.conf'
    path.write_text('[drivers:transport:wsgi]\nthreads = 3\n')
    options = zconf.register_opts(cfg.ConfigOpts())
    log.register_options(options)  # debug
    options(['--config-file', str(path)], project='zaqar',
            default_config_files=[], default_config_dirs=[])
    return options


class Recorded:
    """Stands in for granian's Server: records how it was made."""

    made: dict[str, Any] = {}

    def __init__(self, target: str, **kwargs: Any) -> None:
        Recorded.made = kwargs

    def on_startup(self, hook: Any) -> None:
        pass

    on_reload = on_startup

    def serve(self, **kwargs: Any) -> None:
        pass


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> type[Recorded]:
    monkeypatch.setattr(server, 'Server', Recorded)
    return Recorded


def serve(conf: cfg.ConfigOpts) -> None:
    with pytest.raises(SystemExit) as stopped:
        server.serve(conf, dict)
    assert stopped.value.code == 0


def test_workers_default_to_the_cpu_count(conf: cfg.ConfigOpts) -> None:
    assert server.workers(conf) == (os.cpu_count() or 1)


def test_the_options_reach_the_server(conf: cfg.ConfigOpts,
                                      recorded: type[Recorded]) -> None:
    conf.set_override('workers', 3, group=server.GROUP)
    conf.set_override('port', 9999, group=server.GROUP)
    conf.set_override('client_timeout', 7, group=server.GROUP)
    serve(conf)
    made = recorded.made
    assert (made['address'], made['port']) == ('127.0.0.1', 9999)
    # The app runs through the bridge of rsgi.py, not on granian's threads.
    assert made['interface'] == Interfaces.RSGI
    assert made['workers'] == 3
    assert made['http1_settings'].keep_alive
    assert made['http1_settings'].header_read_timeout == 7000
    assert made['workers_kill_timeout'] == server.GRACEFUL_TIMEOUT
    assert made['respawn_failed_workers']
    # uvloop is a requirement: the loop is named, whatever else is there.
    assert made['loop'] == Loops.uvloop


def pools(conf: cfg.ConfigOpts) -> tuple[int, int]:
    """The threads of a worker's bridge for ordinary requests and for
    those that may wait (0: none), as built in a worker (a child of this
    process, as granian runs it)."""
    def sizes(pool: Any) -> int:
        return 0 if pool is None else pool._max_workers

    loader = server._WorkerApp(conf, dict)
    working = in_child(lambda: sizes(loader()._working))
    waiting = in_child(lambda: sizes(loader()._waiting))
    return working, waiting


def test_threads_for_waiting_requests(conf: cfg.ConfigOpts) -> None:
    # threads = 3 (the fixture): ordinary requests on three threads, and
    # one thread for each request that may wait, a few more to refuse
    # those beyond the limit on.
    assert pools(conf) == (3, 100 + server.WAITING_SPARE)


def test_one_thread_runs_requests_on_the_event_loop(
        conf: cfg.ConfigOpts) -> None:
    conf.set_override('threads', 1, group=server.GROUP)
    conf.set_override('max_waiting_requests', 7, group='transport')
    assert pools(conf) == (0, 7 + server.WAITING_SPARE)


def test_without_long_polling_no_thread_is_added(
        conf: cfg.ConfigOpts) -> None:
    conf.set_override('max_message_wait', 0, group='transport')
    conf.set_override('threads', 1, group=server.GROUP)
    assert pools(conf) == (0, 0)


def test_granians_access_log_stays_off(conf: cfg.ConfigOpts,
                                      recorded: type[Recorded]) -> None:
    # The app's own request log (access_log.py) has the request id.
    serve(conf)
    assert not recorded.made['log_access']
    conf.set_override('debug', True)
    serve(conf)
    assert not recorded.made['log_access']


def test_ipv6_addresses_are_bracketed() -> None:
    assert server.address('::1', 8888) == '[::1]:8888'
    assert server.address('10.0.0.1', 8888) == '10.0.0.1:8888'


def threads_of_the_app(conf: cfg.ConfigOpts) -> server._WorkerApp:
    """A worker's loader whose app is the ``threads`` it read."""
    loader = server._WorkerApp(conf, lambda: conf[server.GROUP].threads)
    return lambda: loader().app


def test_a_worker_reads_the_configuration_files_again(
        conf: cfg.ConfigOpts, tmp_path: Path) -> None:
    loader = threads_of_the_app(conf)
    (tmp_path / 'zaqar.conf').write_text(
        '[drivers:transport:wsgi]\nthreads = 5\n')
    # In a child of the "master" (this process), as granian runs it.
    assert in_child(loader) == 5


def test_a_worker_keeps_its_configuration_if_the_files_break(
        conf: cfg.ConfigOpts, tmp_path: Path) -> None:
    loader = threads_of_the_app(conf)
    (tmp_path / 'zaqar.conf').write_text('[drivers:transport:wsgi\n')
    assert in_child(loader) == 3
