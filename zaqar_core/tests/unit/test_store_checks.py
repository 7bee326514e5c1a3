"""Store checks: at start (bootstrap.check_stores), in ping and in health,
on a Redis nobody listens on, an empty PostgreSQL database and SQLite."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from oslo_config import cfg
from oslo_context import context as oslo_context

from zaqar_core import bootstrap
from zaqar_core import conf as zconf
from zaqar_core.api import errors
from zaqar_core.api.request import Request
from zaqar_core.api.service import Api
from zaqar_core.storage import errors as storage_errors
from zaqar_plugins.storage.redis import options as redis_stores
from zaqar_plugins.storage.sqlalchemy import options as sqlalchemy_stores
from zaqar_testing.databases import Database
from zaqar_testing.databases import DatabaseFactory
from zaqar_testing.ports import free_port

PASSWORD = 'sekrit'
#: What a start may spend on the checks, and ping when a store is down.
START_BOUND = 3.0
PING_BOUND = 1.5


def conf_with(tmp_path: Path, driver: str, uri: str) -> cfg.ConfigOpts:
    """Options read from a file of their own (the fix names it)."""
    if driver == 'redis':
        groups = (redis_stores.MESSAGE_GROUP, redis_stores.MANAGEMENT_GROUP)
    else:
        groups = (sqlalchemy_stores.MESSAGE_GROUP,
                  sqlalchemy_stores.MANAGEMENT_GROUP)
    path = tmp_path / 'zaqar.conf'
    path.write_text(
        f'[DEFAULT]\nadmin_mode = true\n'
        f'[drivers]\nmessage_store = {driver}\n'
        f'management_store = {driver}\n' +
        ''.join(f'[{group}]\nuri = {uri}\n' for group in groups))
    options = zconf.register_opts(cfg.ConfigOpts())
    options(['--config-file', str(path)], project='zaqar',
            default_config_files=[], default_config_dirs=[])
    return options


@pytest.fixture
def down_redis(tmp_path: Path) -> cfg.ConfigOpts:
    return conf_with(tmp_path, 'redis',
                     f'redis://:{PASSWORD}@127.0.0.1:{free_port()}')


@pytest.fixture
def empty_postgresql(tmp_path: Path) -> Iterator[Database]:
    factory = DatabaseFactory(tmp_path)
    try:
        yield factory.create('postgresql')
    finally:
        factory.drop_all()


@pytest.fixture
def no_schema(tmp_path: Path,
              empty_postgresql: Database) -> cfg.ConfigOpts:
    user, _, place = empty_postgresql.uri.partition('://')[2].partition('@')
    # Trust authentication ignores the password: it is there to be hidden.
    uri = f'postgresql+psycopg2://{user}:{PASSWORD}@{place}'
    return conf_with(tmp_path, 'sqlalchemy', uri)


def admin_request() -> Request:
    return Request(project_id='p',
                   client_id='3b7a8c0e-1111-4bb5-9a3c-7a0f1e2d3c4b',
                   context=oslo_context.RequestContext(project_id='p',
                                                       roles=['admin']))


def refused(api: Api, name: str) -> tuple[errors.ApiError, float]:
    """The error ``name`` answers, and how long it took."""
    start = time.monotonic()
    with pytest.raises(errors.ApiError) as caught:
        api.call(name, admin_request())
    return caught.value, time.monotonic() - start


# -- at start ----------------------------------------------------------------

def test_an_unreachable_redis_fails_the_start_quickly(
        down_redis: cfg.ConfigOpts) -> None:
    port = down_redis[redis_stores.MESSAGE_GROUP].uri.rpartition(':')[2]
    start = time.monotonic()
    with pytest.raises(bootstrap.StoresUnavailable) as caught:
        bootstrap.check_stores(down_redis)
    assert time.monotonic() - start < START_BOUND
    lines = caught.value.lines
    assert str(caught.value) == '\n'.join(lines)
    assert [line.split(' (')[0] for line in lines] == [
        'The management store', 'The message store']
    for line in lines:
        assert f'(redis://:***@127.0.0.1:{port}) does not answer' in line
        assert PASSWORD not in line
        assert 'db upgrade' not in line


def test_a_database_without_schema_fails_the_start_with_the_fix(
        no_schema: cfg.ConfigOpts) -> None:
    with pytest.raises(bootstrap.StoresUnavailable) as caught:
        bootstrap.check_stores(no_schema)
    [conf_file] = no_schema.config_file
    for label, line in zip(('management', 'message'), caught.value.lines,
                           strict=True):
        assert line.startswith(f'The {label} store (postgresql+psycopg2:'
                               f'//postgres:***@'), line
        assert line.endswith(
            f') has no schema; run zaqar-manage --config-file {conf_file} '
            f'db upgrade'), line
    assert PASSWORD not in str(caught.value)


def test_a_degraded_start_logs_the_lines_and_goes_on(
        down_redis: cfg.ConfigOpts, caplog: pytest.LogCaptureFixture
        ) -> None:
    down_redis.set_override('allow_degraded_start', True, group='storage')
    with caplog.at_level(logging.WARNING, logger='zaqar_core.bootstrap'):
        bootstrap.check_stores(down_redis)
    warned = [r.getMessage() for r in caplog.records
              if r.levelno == logging.WARNING]
    assert len(warned) == 2, warned
    assert all('does not answer' in w and 'allow_degraded_start' in w
               for w in warned)


def test_current_stores_pass(sqlite_conf: cfg.ConfigOpts) -> None:
    bootstrap.check_stores(sqlite_conf)


def test_an_outdated_sqlite_needs_an_upgrade(conf: cfg.ConfigOpts,
                                             tmp_path: Path) -> None:
    uri = f'sqlite:///{tmp_path / "old.sqlite"}'
    for group in (sqlalchemy_stores.MESSAGE_GROUP,
                  sqlalchemy_stores.MANAGEMENT_GROUP):
        conf.set_override('uri', uri, group=group)
    stores = bootstrap.load_stores(conf)
    try:
        stores.control.upgrade('0001')
        state = stores.control.check(1.0)
    finally:
        stores.close()
    assert state.needs_upgrade
    assert state.problem.startswith('has schema revision 0001; this '
                                    'release needs ')


# -- ping and health ---------------------------------------------------------

def test_ping_answers_503_at_once_when_redis_is_down(
        down_redis: cfg.ConfigOpts) -> None:
    api = bootstrap.make_api(down_redis)
    try:
        error, took = refused(api, 'ping_node')
    finally:
        api.stores.close()
    assert took < PING_BOUND
    assert error.status == 503
    assert 'The management store does not answer' in error.description
    assert 'The message store does not answer' in error.description
    # Anyone may ping: no URI.
    assert 'redis://' not in error.description


def test_health_reports_each_store(down_redis: cfg.ConfigOpts) -> None:
    api = bootstrap.make_api(down_redis)
    try:
        start = time.monotonic()
        result = api.call('check_node_health', admin_request())
        assert time.monotonic() - start < PING_BOUND
    finally:
        api.stores.close()
    assert result.status == 200
    body = result.body
    assert body['storage_reachable'] is False
    assert 'operation_status' not in body
    for key, label in (('management_store', 'management'),
                       ('message_store', 'message')):
        assert body['stores'][key]['ok'] is False
        assert body['stores'][key]['problem'].startswith(
            f'The {label} store (redis://:***@127.0.0.1:')


def test_ping_names_a_missing_schema_and_its_fix(
        no_schema: cfg.ConfigOpts) -> None:
    api = bootstrap.make_api(no_schema)
    try:
        error, _ = refused(api, 'ping_node')
        health = api.call('check_node_health', admin_request()).body
    finally:
        api.stores.close()
    assert error.status == 503
    assert error.description == (
        'The management store has no schema; run zaqar-manage db upgrade. '
        'The message store has no schema; run zaqar-manage db upgrade.')
    assert health['storage_reachable'] is False
    assert 'has no schema; run zaqar-manage --config-file' in \
        health['stores']['message_store']['problem']


def test_a_request_on_a_database_without_schema_is_unavailable(
        no_schema: cfg.ConfigOpts) -> None:
    stores = bootstrap.load_stores(no_schema)
    try:
        with pytest.raises(storage_errors.Unavailable,
                           match='no Zaqar schema .*zaqar-manage db '
                                 'upgrade'):
            stores.queues.create('p', 'q')
        with pytest.raises(storage_errors.Unavailable,
                           match='no Zaqar schema'):
            stores.claims.create('p', 'q', 60, 60, 10)
    finally:
        stores.close()
