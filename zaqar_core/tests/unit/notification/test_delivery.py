"""The delivery worker over a real (SQLite) outbox, with an in-process
notifier standing in for the subscribers."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
from oslo_config import cfg

from zaqar_core import bootstrap
from zaqar_core.notification import delivery
from zaqar_core.notification import outbox
from zaqar_core.notification.base import NotifierBase
from zaqar_core.notification.base import Target
from zaqar_core.storage.stores import Stores

TIMEOUT = 30.0
HUNG = 'http://hung.test/'


class Subscribers(NotifierBase):
    """Records what each subscriber got; ``HUNG`` answers only once
    ``release`` is set, like an endpoint that stopped responding."""

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        super().__init__(conf)
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.got: dict[str, list[Any]] = defaultdict(list)

    def notify(self, target: Target, message: dict[str, Any]) -> None:
        if target['subscriber'] == HUNG:
            self.release.wait(TIMEOUT)
        with self.lock:
            self.got[target['subscriber']].append(message['body']['n'])

    def confirm(self, target: Target, document: dict[str, Any]) -> None:
        raise AssertionError('no confirmations here')

    def count(self, subscriber: str) -> int:
        with self.lock:
            return len(self.got[subscriber])


@pytest.fixture
def stores(sqlite_conf: cfg.ConfigOpts) -> Iterator[Stores]:
    sqlite_conf.set_override('outbox_poll_interval', 0.05,
                             group='notification')
    stores = bootstrap.load_stores(sqlite_conf)
    yield stores
    stores.close()


def wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, f'timed out waiting for {what}'
        time.sleep(0.02)


def test_a_hung_subscriber_does_not_hold_up_the_others(
        conf: cfg.ConfigOpts, stores: Stores) -> None:
    # Three threads, six jobs ahead: without a bound per lane the hung
    # subscriber's jobs would take every place.
    conf.set_override('max_notifier_workers', 3, group='notification')
    healthy = [f'http://ok{i}.test/' for i in range(3)]
    stores.queues.create('p', 'q')
    for subscriber in [HUNG, *healthy]:
        stores.subscriptions.create('p', 'q', subscriber, 3600, {})
    box = outbox.Outbox(conf, stores)
    posts = 30
    for n in range(posts):
        box.notify_posted('p', 'q', 'queues', {},
                             [{'body': {'n': n}, 'ttl': 300, 'delay': 0}])
    subscribers = Subscribers(conf)
    worker = delivery.Worker(conf, stores, {'http': subscribers},
                             box.wakeup)
    worker.start()
    try:
        wait_until(lambda: all(subscribers.count(s) == posts
                               for s in healthy),
                   'the healthy subscribers')
        assert subscribers.count(HUNG) == 0
        for subscriber in healthy:
            assert subscribers.got[subscriber] == list(range(posts))

        # Its parked jobs come back, in the order they were posted.
        subscribers.release.set()
        wait_until(lambda: subscribers.count(HUNG) == posts,
                   'the hung subscriber once it answers')
        assert subscribers.got[HUNG] == list(range(posts))
        wait_until(lambda: stores.messages.stats(
            outbox.PROJECT, outbox.QUEUE)['total'] == 0, 'an empty outbox')
    finally:
        subscribers.release.set()
        worker.stop()
