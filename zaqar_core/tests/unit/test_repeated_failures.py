"""A background task that keeps failing is logged once, summarised once a
minute and its recovery once; the delivery worker on a store that is down
logs one line, not one per poll."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from oslo_config import cfg

from zaqar_core import bootstrap
from zaqar_core.notification import delivery
from zaqar_core.repeated_failures import RepeatedFailures
from zaqar_core.storage import errors as storage_errors
from zaqar_testing.ports import free_port

LOGGER = 'zaqar.test.repeated'


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def failures(clock: Clock) -> RepeatedFailures:
    return RepeatedFailures(logging.getLogger(LOGGER), 'Task', clock=clock)


def lines(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str, bool]]:
    return [(r.levelno, r.getMessage(), r.exc_info is not None)
            for r in caplog.records if r.name == LOGGER]


def test_a_storage_outage_is_one_line_then_a_summary_a_minute(
        failures: RepeatedFailures, clock: Clock,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, LOGGER)
    down = storage_errors.Unavailable('Redis is unavailable:\n refused')
    for _ in range(59):
        failures.failed(down)
        clock.now += 1
    assert lines(caplog) == [
        (logging.WARNING, 'Task failed: Redis is unavailable: refused',
         False)]
    failures.failed(down)  # the 60th, 59 s after the first
    clock.now += 1
    failures.failed(down)  # 60 s after the first
    assert lines(caplog)[1:] == [
        (logging.WARNING, 'Task failing for 60 s, 61 times: Redis is '
                          'unavailable: refused', False)]
    failures.succeeded()
    failures.succeeded()
    assert lines(caplog)[2:] == [
        (logging.INFO, 'Task recovered after 61 failures (60 s)', False)]
    assert not failures.failing


def test_an_unexpected_error_gets_its_traceback_once(
        failures: RepeatedFailures, clock: Clock,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, LOGGER)
    for _ in range(3):
        try:
            raise KeyError('boom')
        except KeyError as exc:
            failures.failed(exc)
    assert lines(caplog) == [(logging.ERROR, "Task failed: 'boom'", True)]


def test_a_new_outage_after_recovery_is_logged_again(
        failures: RepeatedFailures, caplog: pytest.LogCaptureFixture
        ) -> None:
    caplog.set_level(logging.DEBUG, LOGGER)
    failures.failed(storage_errors.Unavailable('down'))
    failures.succeeded()
    failures.failed(storage_errors.Unavailable('down again'))
    assert [message for _, message, _ in lines(caplog)] == [
        'Task failed: down', 'Task recovered after 1 failures (0 s)',
        'Task failed: down again']


def test_the_delivery_worker_logs_a_store_outage_once(
        conf: cfg.ConfigOpts, caplog: pytest.LogCaptureFixture) -> None:
    # Polls 20 times a second against a Redis nobody listens on.
    conf.set_override('message_store', 'redis', group='drivers')
    conf.set_override('management_store', 'redis', group='drivers')
    uri = f'redis://127.0.0.1:{free_port()}'
    for group in ('drivers:message_store:redis',
                  'drivers:management_store:redis'):
        conf.set_override('uri', uri, group=group)
        conf.set_override('max_reconnect_attempts', 0, group=group)
    conf.set_override('outbox_poll_interval', 0.05, group='notification')
    stores = bootstrap.load_stores(conf)
    caplog.set_level(logging.DEBUG, delivery.LOG.logger.name)
    worker = delivery.Worker(conf, stores, {}, threading.Event())
    worker.start()
    try:
        time.sleep(1.5)
    finally:
        worker.stop()
        assert worker._thread is not None
        worker._thread.join(5)
        stores.close()
    records = [r for r in caplog.records
               if r.name == delivery.LOG.logger.name]
    assert [(r.levelno, r.exc_info) for r in records] == [
        (logging.WARNING, None)], [r.getMessage() for r in records]
    assert records[0].getMessage().startswith(
        'Outbox delivery (outbox) failed: Redis is unavailable')

