"""uWSGI's command line from ``[drivers:transport:wsgi]``."""

import os

import pytest
from oslo_config import cfg
from oslo_log import log

from zaqar_core import conf as zconf
from zaqar_plugins.transport.wsgi import server


@pytest.fixture
def conf() -> cfg.ConfigOpts:
    options = zconf.register_opts(cfg.ConfigOpts())
    log.register_options(options)  # debug
    options([], project='zaqar', default_config_files=[],
            default_config_dirs=[])
    return options


def value(args: list[str], option: str) -> str:
    return args[args.index(option) + 1]


def test_workers_default_to_the_cpu_count(conf: cfg.ConfigOpts) -> None:
    args = server.uwsgi_args(conf)
    assert value(args, '--processes') == str(os.cpu_count() or 1)


def test_workers_threads_and_address_as_configured(
        conf: cfg.ConfigOpts) -> None:
    conf.set_override('workers', 3, group=server.GROUP)
    conf.set_override('threads', 7, group=server.GROUP)
    conf.set_override('port', 9999, group=server.GROUP)
    args = server.uwsgi_args(conf)
    assert value(args, '--processes') == '3'
    assert value(args, '--threads') == '7'
    assert value(args, '--http-socket') == '127.0.0.1:9999'


def test_ipv6_addresses_are_bracketed(conf: cfg.ConfigOpts) -> None:
    conf.set_override('bind', '::1', group=server.GROUP)
    assert value(server.uwsgi_args(conf), '--http-socket') == \
        '[::1]:8888'


def test_the_app_is_built_in_each_worker(conf: cfg.ConfigOpts) -> None:
    args = server.uwsgi_args(conf)
    assert '--lazy-apps' in args
    assert value(args, '--module') == f'{server.WORKER_MODULE}:application'


def test_access_log_only_in_debug(conf: cfg.ConfigOpts) -> None:
    assert '--disable-logging' in server.uwsgi_args(conf)
    conf.set_override('debug', True)
    assert '--disable-logging' not in server.uwsgi_args(conf)


def test_the_worker_module_needs_a_factory() -> None:
    with pytest.raises(RuntimeError, match='zaqar_core.wsgi'):
        server.build_app()
