"""The delivery worker over a real outbox (SQLite; Redis for the claim
tests), delivering to real webhooks on loopback or to an in-process
notifier standing in for the subscribers where a test must hold a
delivery or break a notifier."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from oslo_config import cfg

from zaqar_core import bootstrap
from zaqar_core.api import encryption
from zaqar_core.api.request import Request
from zaqar_core.notification import delivery
from zaqar_core.notification import outbox
from zaqar_core.notification import retry
from zaqar_core.notification.base import DeliveryFailed
from zaqar_core.notification.base import NotifierBase
from zaqar_core.notification.base import Target
from zaqar_core.storage import errors as storage_errors
from zaqar_core.storage.stores import Stores
from zaqar_core.tests.unit import sqlite_copies
from zaqar_testing.receivers import Receiver

TIMEOUT = 30.0
HUNG = 'http://hung.test/'
#: The quickest a policy gives up: two retries at once, then waits of
#: 0 and 5 s (a policy backs off over at least two steps of 5 s).
FAST = {'retries_with_no_delay': 2, 'minimum_delay_retries': 0,
        'minimum_delay': 0, 'maximum_delay': 10, 'maximum_delay_retries': 0}
#: A first retry only after a long wait.
SLOW = {'retries_with_no_delay': 0, 'minimum_delay_retries': 1,
        'minimum_delay': 60, 'maximum_delay': 70,
        'maximum_delay_retries': 0}


class Subscribers(NotifierBase):
    """Records what each subscriber got; ``HUNG`` answers only once
    ``release`` is set, like an endpoint that stopped responding.
    ``failures`` are raised, one per call, before anything succeeds."""

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        super().__init__(conf)
        self.release = threading.Event()
        #: Set once a delivery to ``HUNG`` started.
        self.entered = threading.Event()
        self.failures: list[Exception] = []
        self.lock = threading.Lock()
        self.got: dict[str, list[Any]] = defaultdict(list)

    def notify(self, target: Target, message: dict[str, Any]) -> None:
        with self.lock:
            if self.failures:
                raise self.failures.pop(0)
        if target['subscriber'] == HUNG:
            self.entered.set()
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


@pytest.fixture(params=['sqlite', 'redis'])
def any_stores(request: pytest.FixtureRequest,
               conf: cfg.ConfigOpts) -> Iterator[Stores]:
    """Stores on each backend whose claims the worker relies on."""
    if request.param == 'sqlite':
        yield request.getfixturevalue('stores')
        return
    conf = request.getfixturevalue('redis_conf')
    conf.set_override('outbox_poll_interval', 0.05, group='notification')
    stores = bootstrap.load_stores(conf)
    yield stores
    stores.close()


def wait_until(condition: Callable[[], Any], what: str,
               timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f'timed out waiting for {what}'
        time.sleep(0.02)


def post(box: outbox.Outbox, *numbers: int,
         metadata: dict | None = None) -> None:
    box.notify_posted('p', 'q', 'queues', metadata or {},
                      [{'body': {'n': n}, 'ttl': 300, 'delay': 0}
                       for n in numbers])


def outbox_jobs(stores: Stores) -> list[dict[str, Any]]:
    """The jobs left in the shared outbox, claimed or not."""
    found, _ = stores.messages.list(outbox.PROJECT, outbox.QUEUE,
                                    limit=100, echo=True,
                                    include_claimed=True)
    return found


def outbox_empty(stores: Stores) -> bool:
    return not outbox_jobs(stores)


def claim_of(stores: Stores) -> str | None:
    """The live claim holding the one job of the outbox."""
    [job] = outbox_jobs(stores)
    return job['claim_id']


@pytest.mark.parametrize('claim_ttl', [60, 3])
def test_a_hung_subscriber_does_not_hold_up_the_others(
        conf: cfg.ConfigOpts, stores: Stores, claim_ttl: int) -> None:
    # Three threads, six jobs ahead: without a bound per lane the hung
    # subscriber's jobs would take every place. With short claims, the
    # claims are renewed and those parking jobs lapse meanwhile.
    conf.set_override('max_notifier_workers', 3, group='notification')
    conf.set_override('outbox_claim_ttl', claim_ttl, group='notification')
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


# A claim that lapses while its job is being delivered.
#
# A worker renews its claims every third of [notification]
# outbox_claim_ttl. When a renewal comes too late (the process stalled,
# the store was unreachable), the job is free again: another worker (or
# process) claims and delivers it, so it is not lost; the first delivery
# still ends, so the subscriber may get it twice (at least once). What
# must never happen is two live claims on the job at once, or the late
# worker deleting a job that another claim now holds.


class Stalled:
    """A worker whose loop does not run: it claims when told to and never
    renews, as a process that stalled after taking its jobs."""

    def __init__(self, conf: cfg.ConfigOpts, stores: Stores,
                 answers: bool = False) -> None:
        self.subscribers = Subscribers(conf)
        if answers:
            self.subscribers.release.set()
        #: Set by the worker each time a job of it ends.
        self.done = threading.Event()
        self.worker = delivery.Worker(conf, stores,
                                      {'http': self.subscribers}, self.done)

    def delivered(self) -> int:
        return self.subscribers.count(HUNG)

    def stop(self) -> None:
        self.subscribers.release.set()
        self.worker.stop()


@pytest.fixture
def hung_job(conf: cfg.ConfigOpts, any_stores: Stores) -> Stores:
    """One job for ``HUNG`` in the outbox; claims last two seconds."""
    conf.set_override('outbox_claim_ttl', 2, group='notification')
    any_stores.queues.create('p', 'q')
    any_stores.subscriptions.create('p', 'q', HUNG, 3600, {})
    post(outbox.Outbox(conf, any_stores), 1)
    return any_stores


def lapse(stores: Stores, claim_id: str) -> None:
    wait_until(lambda: claim_of(stores) is None, 'the claim to lapse')
    with pytest.raises(storage_errors.ClaimDoesNotExist):
        stores.claims.get(outbox.PROJECT, outbox.QUEUE, claim_id)


def test_a_lapsed_claims_job_is_delivered_by_another_worker(
        conf: cfg.ConfigOpts, hung_job: Stores,
        caplog: pytest.LogCaptureFixture) -> None:
    stores = hung_job
    first, second = Stalled(conf, stores), Stalled(conf, stores, True)
    try:
        assert first.worker.take() == 1
        assert first.subscribers.entered.wait(TIMEOUT)
        claim_id = claim_of(stores)
        assert claim_id is not None
        # While the claim lives, nobody else gets the job.
        assert second.worker.take() == 0
        assert claim_of(stores) == claim_id

        lapse(stores, claim_id)
        # A renewal that comes too late does not revive it.
        with caplog.at_level(logging.WARNING):
            first.worker._renew()
        assert f'Outbox claim {claim_id} expired' in caplog.text
        assert claim_of(stores) is None

        # The job is not lost: the other worker delivers it.
        assert second.worker.take() == 1
        wait_until(lambda: second.delivered() == 1, 'the second delivery')
        wait_until(lambda: outbox_empty(stores), 'an empty outbox')
    finally:
        second.stop()
        first.subscribers.release.set()
    # The stalled delivery ends as well (at least once: twice here); its
    # delete is refused quietly, and nothing comes back.
    assert first.done.wait(TIMEOUT)
    assert first.delivered() == 1
    assert outbox_empty(stores)
    first.stop()
    assert 'Could not remove' not in caplog.text


def test_a_late_worker_cannot_delete_a_job_another_claim_holds(
        conf: cfg.ConfigOpts, hung_job: Stores) -> None:
    stores = hung_job
    first, second = Stalled(conf, stores), Stalled(conf, stores)
    try:
        assert first.worker.take() == 1
        assert first.subscribers.entered.wait(TIMEOUT)
        first_claim = claim_of(stores)
        lapse(stores, first_claim)
        assert second.worker.take() == 1
        assert second.subscribers.entered.wait(TIMEOUT)
        second_claim = claim_of(stores)
        assert second_claim not in (None, first_claim)

        # The first delivery ends while the second is in progress.
        first.subscribers.release.set()
        assert first.done.wait(TIMEOUT)
        assert first.delivered() == 1
        # The job stays, held by the live claim only...
        assert claim_of(stores) == second_claim
        # ... which no other worker can take from it.
        assert first.worker.take() == 0
        assert claim_of(stores) == second_claim

        second.subscribers.release.set()
        wait_until(lambda: outbox_empty(stores), 'an empty outbox')
        assert second.delivered() == 1
    finally:
        first.stop()
        second.stop()


def test_a_job_whose_claim_lapsed_comes_back_until_deleted(
        conf: cfg.ConfigOpts, hung_job: Stores) -> None:
    stores = hung_job
    first = Stalled(conf, stores)
    try:
        assert first.worker.take() == 1
        assert first.subscribers.entered.wait(TIMEOUT)
        lapse(stores, claim_of(stores))
        # Delivered, but too late to delete it under its claim: the job
        # stays free, and is delivered again (at least once).
        first.subscribers.release.set()
        assert first.done.wait(TIMEOUT)
        assert len(outbox_jobs(stores)) == 1
        assert claim_of(stores) is None
        first.done.clear()
        assert first.worker.take() == 1
        assert first.done.wait(TIMEOUT)
        assert first.delivered() == 2
        wait_until(lambda: outbox_empty(stores), 'an empty outbox')
    finally:
        first.stop()


def test_renewals_keep_a_slow_delivery_to_one_worker(
        conf: cfg.ConfigOpts, stores: Stores) -> None:
    # Claims of three seconds, renewed every second, under a delivery
    # that takes five: another worker of the same outbox (in another
    # process, say) never gets the job.
    conf.set_override('outbox_claim_ttl', 3, group='notification')
    stores.queues.create('p', 'q')
    stores.subscriptions.create('p', 'q', HUNG, 3600, {})
    box = outbox.Outbox(conf, stores)
    post(box, 1)
    slow, other = Subscribers(conf), Subscribers(conf)
    other.release.set()
    first = delivery.Worker(conf, stores, {'http': slow}, box.wakeup)
    second = delivery.Worker(conf, stores, {'http': other},
                             threading.Event())
    first.start()
    try:
        assert slow.entered.wait(TIMEOUT)
        claim_id = claim_of(stores)
        second.start()
        time.sleep(5)
        assert other.count(HUNG) == 0
        assert claim_of(stores) == claim_id
        slow.release.set()
        wait_until(lambda: outbox_empty(stores), 'an empty outbox')
        assert slow.count(HUNG) == 1
        assert other.count(HUNG) == 0
    finally:
        slow.release.set()
        first.stop()
        second.stop()


# Delivery, retries and giving up (real webhooks)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as hook:
        yield hook


@pytest.fixture
def webhooks(conf: cfg.ConfigOpts, stores: Stores
             ) -> Iterator[tuple[outbox.Outbox, delivery.Worker]]:
    """An outbox and its running worker, with the installed notifiers."""
    conf.set_override('webhook_timeout', 5, group='notification')
    stores.queues.create('p', 'q')
    box = outbox.Outbox(conf, stores)
    worker = delivery.Worker(conf, stores, bootstrap.load_notifiers(conf),
                             box.wakeup)
    worker.start()
    yield box, worker
    worker.stop()


def subscribe(stores: Stores, subscriber: str,
              policy: dict | None = None) -> str:
    options = {retry.KEY: policy} if policy is not None else {}
    return stores.subscriptions.create('p', 'q', subscriber, 3600, options)


def test_a_notification_is_delivered_and_removed(
        webhooks: tuple[outbox.Outbox, delivery.Worker], stores: Stores,
        receiver: Receiver) -> None:
    box, _ = webhooks
    subscribe(stores, receiver.url + '/a')
    post(box, 1, 2)
    first, second = receiver.wait_count(2)
    assert [first.json()['body'], second.json()['body']] == [{'n': 1},
                                                            {'n': 2}]
    assert first.path == '/a'
    wait_until(lambda: outbox_empty(stores), 'an empty outbox')


def test_a_failing_subscriber_is_retried_until_it_answers(
        webhooks: tuple[outbox.Outbox, delivery.Worker], stores: Stores,
        receiver: Receiver) -> None:
    box, _ = webhooks
    receiver.statuses = [500, 429]
    subscribe(stores, receiver.url, FAST)
    post(box, 1)
    [got] = receiver.wait_count(1)
    assert got.json()['body'] == {'n': 1}
    assert receiver.attempts == 3
    wait_until(lambda: outbox_empty(stores), 'an empty outbox')


def test_retries_run_out_and_the_job_is_dropped(
        webhooks: tuple[outbox.Outbox, delivery.Worker], stores: Stores,
        receiver: Receiver,
        caplog: pytest.LogCaptureFixture) -> None:
    box, _ = webhooks
    receiver.failing = 503
    subscription_id = subscribe(stores, receiver.url, FAST)
    assert retry.delays(retry.complete(FAST)) == [0.0, 0.0, 0.0, 5.0]
    with caplog.at_level(logging.WARNING):
        post(box, 1)
        wait_until(lambda: outbox_empty(stores), 'an empty outbox')
    assert receiver.attempts == 5
    assert receiver.delivered == []
    assert f'Gave up delivering to {receiver.url} (subscription ' \
           f'{subscription_id})' in caplog.text
    assert '503' in caplog.text


def test_a_refusal_is_not_retried(
        webhooks: tuple[outbox.Outbox, delivery.Worker], stores: Stores,
        receiver: Receiver,
        caplog: pytest.LogCaptureFixture) -> None:
    box, _ = webhooks
    receiver.statuses = [404]
    subscribe(stores, receiver.url, FAST)
    with caplog.at_level(logging.WARNING):
        post(box, 1)
        wait_until(lambda: outbox_empty(stores), 'an empty outbox')
    assert receiver.attempts == 1
    assert 'Gave up delivering' in caplog.text


def test_a_confirmation_request_is_delivered(
        webhooks: tuple[outbox.Outbox, delivery.Worker], stores: Stores,
        receiver: Receiver, conf: cfg.ConfigOpts) -> None:
    box, _ = webhooks
    conf.set_override('require_confirmation', True, group='notification')
    conf.set_override('secret_key', 'k', group='signed_url')
    subscription_id = subscribe(stores, receiver.url)
    req = Request(project_id='p', client_id=outbox.CLIENT_ID,
                  params={'queue_name': 'q'}, tenant='p')
    assert box.request_confirmation(req, subscription_id)
    [got] = receiver.wait_count(1)
    document = got.json()
    assert document['Message_Type'] == 'SubscriptionConfirmation'
    assert document['URL-Paths'] == \
        f'/v2/queues/q/subscriptions/{subscription_id}/confirm'
    wait_until(lambda: outbox_empty(stores), 'an empty outbox')


def test_a_job_without_a_notifier_is_dropped(
        conf: cfg.ConfigOpts, stores: Stores,
        caplog: pytest.LogCaptureFixture) -> None:
    stores.queues.create('p', 'q')
    subscribe(stores, 'gopher://example.com/')
    box = outbox.Outbox(conf, stores)
    worker = delivery.Worker(conf, stores, bootstrap.load_notifiers(conf),
                             box.wakeup)
    worker.start()
    try:
        with caplog.at_level(logging.ERROR):
            post(box, 1)
            wait_until(lambda: outbox_empty(stores), 'an empty outbox')
    finally:
        worker.stop()
    assert "Dropping a notification for gopher://example.com:" in \
        caplog.text


def test_a_broken_notifier_is_logged_and_retried(
        conf: cfg.ConfigOpts, stores: Stores,
        caplog: pytest.LogCaptureFixture) -> None:
    stores.queues.create('p', 'q')
    subscribe(stores, 'http://ok.test/', FAST)
    box = outbox.Outbox(conf, stores)
    subscribers = Subscribers(conf)
    subscribers.failures = [RuntimeError('plugin bug'),
                            DeliveryFailed('timed out')]
    worker = delivery.Worker(conf, stores, {'http': subscribers},
                             box.wakeup)
    worker.start()
    try:
        with caplog.at_level(logging.ERROR):
            post(box, 1)
            wait_until(lambda: subscribers.count('http://ok.test/') == 1,
                       'the third attempt')
            wait_until(lambda: outbox_empty(stores), 'an empty outbox')
    finally:
        worker.stop()
    assert 'Notifier error' in caplog.text
    assert 'plugin bug' in caplog.text


def test_a_stopped_worker_leaves_its_job_for_the_next(
        conf: cfg.ConfigOpts, stores: Stores,
        receiver: Receiver) -> None:
    conf.set_override('outbox_claim_ttl', 1, group='notification')
    stores.queues.create('p', 'q')
    subscribe(stores, receiver.url, SLOW)
    box = outbox.Outbox(conf, stores)
    receiver.statuses = [500]
    notifiers = bootstrap.load_notifiers(conf)
    worker = delivery.Worker(conf, stores, notifiers, box.wakeup)
    worker.start()
    try:
        post(box, 1)
        # The first attempt failed; the retry waits a minute.
        receiver.wait_for(lambda r: r.attempts == 1)
    finally:
        worker.stop()
    # Stopping ends the wait at once, and the job stays.
    time.sleep(0.2)
    assert receiver.attempts == 1
    assert len(outbox_jobs(stores)) == 1
    restarted = delivery.Worker(conf, stores, notifiers, threading.Event())
    restarted.start()
    try:
        [got] = receiver.wait_count(1)
        assert got.json()['body'] == {'n': 1}
        wait_until(lambda: outbox_empty(stores), 'an empty outbox')
    finally:
        restarted.stop()


def test_an_unreachable_outbox_is_logged_and_survived(
        conf: cfg.ConfigOpts, stores: Stores, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    stores.queues.create('p', 'q')
    subscribe(stores, HUNG)
    box = outbox.Outbox(conf, stores)
    post(box, 1)
    subscribers = Subscribers(conf)
    worker = delivery.Worker(conf, stores, {'http': subscribers},
                             box.wakeup)
    worker.start()
    try:
        assert subscribers.entered.wait(TIMEOUT)
        with caplog.at_level(logging.WARNING):
            # The store breaks under the worker while it delivers.
            with sqlite3.connect(tmp_path / sqlite_copies.NAME) as db:
                db.execute('DROP TABLE messages')
            wait_until(lambda: 'Outbox delivery (outbox) failed' in
                       caplog.text, 'the outage to be logged')
            subscribers.release.set()
            wait_until(lambda: 'Could not remove delivered job' in
                       caplog.text, 'the failed removal to be logged')
        assert subscribers.count(HUNG) == 1
        # The worker keeps trying, counting its failures without a line
        # for each.
        caplog.clear()
        tried = worker.failures.count
        with caplog.at_level(logging.WARNING):
            box.wakeup.set()
            wait_until(lambda: worker.failures.count > tried,
                       'the worker to try again')
        assert 'Outbox delivery' not in caplog.text
    finally:
        subscribers.release.set()
        worker.stop()


@pytest.mark.parametrize('readable', [True, False])
def test_an_unreadable_job_does_not_hold_up_the_others(
        conf: cfg.ConfigOpts, stores: Stores,
        caplog: pytest.LogCaptureFixture, readable: bool) -> None:
    # A job sealed under a key the deployment no longer has (the key was
    # changed while jobs waited) can never be delivered; it is dropped,
    # and the jobs claimed with it are delivered, well before their claim
    # would lapse.
    conf.set_override('message_encryption_key', 'old-key',
                      group='transport')
    stores.queues.create('p', 'q')
    subscribe(stores, 'http://ok.test/')
    box = outbox.Outbox(conf, stores)
    post(box, 1, metadata={encryption.FLAG: True})
    post(box, 2, metadata={encryption.FLAG: not readable})
    conf.set_override('message_encryption_key', 'new-key',
                      group='transport')
    subscribers = Subscribers(conf)
    worker = delivery.Worker(conf, stores, {'http': subscribers},
                             box.wakeup)
    worker.start()
    try:
        with caplog.at_level(logging.ERROR):
            wait_until(lambda: outbox_empty(stores), 'an empty outbox',
                       timeout=10)
            wait_until(lambda: subscribers.count('http://ok.test/') ==
                       int(readable), 'the readable job', timeout=10)
    finally:
        worker.stop()
    assert subscribers.got['http://ok.test/'] == ([2] if readable else [])
    assert caplog.text.count('cannot be read') == (1 if readable else 2)


# fan-out jobs: those their posters left (see test_outbox for the rest)


def left_by_its_poster(box: outbox.Outbox, stores: Stores, *numbers: int,
                       metadata: dict | None = None) -> None:
    """Post as message_post does (the messages and their fan-out job in
    one storage call), then leave the job as a crashed poster does. Once
    the grace has passed, storage hands it over as a free job of the
    outbox (the storage contract's fan-out tests prove that with a
    frozen clock); here it is handed over at once."""
    meta = metadata or {}
    sealed = encryption.seal(box.conf, 'p', meta,
                             [{'body': {'n': n}, 'ttl': 300, 'delay': 0}
                              for n in numbers])
    job = stores.messages.post_counting_subscriptions(
        'p', 'q', sealed, 'client',
        box.fan_out('p', 'q', 'queues', meta)).fan_out
    assert job is not None
    stores.messages.delete(job['project'], job['queue'], job['id'])
    stores.messages.post(outbox.PROJECT, outbox.QUEUE,
                         [{'body': job['body'], 'ttl': 300, 'delay': 0}],
                         outbox.CLIENT_ID)


@pytest.mark.parametrize('encrypted', [False, True])
def test_a_fan_out_job_is_expanded_delivered_and_removed(
        conf: cfg.ConfigOpts, any_stores: Stores, encrypted: bool) -> None:
    conf.set_override('message_encryption_key', 'k', group='transport')
    any_stores.queues.create('p', 'q')
    subscribe(any_stores, 'http://a.test/')
    subscribe(any_stores, 'http://b.test/')
    box = outbox.Outbox(conf, any_stores)
    left_by_its_poster(box, any_stores, 1, 2,
                       metadata={encryption.FLAG: encrypted})
    left_by_its_poster(box, any_stores, 3)
    subscribers = Subscribers(conf)
    worker = delivery.Worker(conf, any_stores, {'http': subscribers},
                             box.wakeup)
    worker.start()
    try:
        wait_until(lambda: subscribers.count('http://a.test/') == 3 and
                   subscribers.count('http://b.test/') == 3,
                   'every notification')
        wait_until(lambda: outbox_empty(any_stores), 'an empty outbox')
    finally:
        worker.stop()
    # In posting order, bodies opened.
    assert subscribers.got == {'http://a.test/': [1, 2, 3],
                               'http://b.test/': [1, 2, 3]}


def test_a_fan_out_job_that_cannot_be_expanded_now_is_kept(
        conf: cfg.ConfigOpts, stores: Stores,
        monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    conf.set_override('outbox_claim_ttl', 1, group='notification')
    stores.queues.create('p', 'q')
    subscribe(stores, 'http://a.test/')
    box = outbox.Outbox(conf, stores)
    left_by_its_poster(box, stores, 1)
    subscribers = Subscribers(conf)
    worker = delivery.Worker(conf, stores, {'http': subscribers},
                             box.wakeup)
    expand = worker.outbox.expand
    failures = [storage_errors.Unavailable('subscriptions down')]

    def flaky(job: dict[str, Any]) -> int:
        if failures:
            raise failures.pop()
        return expand(job)

    monkeypatch.setattr(worker.outbox, 'expand', flaky)
    worker.start()
    try:
        with caplog.at_level(logging.WARNING):
            # Expanded again once the claim of the failed try lapses.
            wait_until(lambda: subscribers.count('http://a.test/') == 1,
                       'the notification')
        wait_until(lambda: outbox_empty(stores), 'an empty outbox')
    finally:
        worker.stop()
    assert 'Could not expand fan-out job' in caplog.text
    assert subscribers.got == {'http://a.test/': [1]}


def test_a_malformed_fan_out_job_is_dropped(
        conf: cfg.ConfigOpts, stores: Stores,
        caplog: pytest.LogCaptureFixture) -> None:
    stores.queues.create('p', 'q')
    subscribe(stores, 'http://a.test/')
    box = outbox.Outbox(conf, stores)
    stores.messages.post(outbox.PROJECT, outbox.QUEUE, [
        {'body': {'what': 'fan_out', 'post': {}}, 'ttl': 300, 'delay': 0}],
        outbox.CLIENT_ID)
    post(box, 7)
    subscribers = Subscribers(conf)
    worker = delivery.Worker(conf, stores, {'http': subscribers},
                             box.wakeup)
    worker.start()
    try:
        with caplog.at_level(logging.ERROR):
            wait_until(lambda: subscribers.count('http://a.test/') == 1,
                       'the other notification')
            wait_until(lambda: outbox_empty(stores), 'an empty outbox')
    finally:
        worker.stop()
    assert 'Dropping malformed fan-out job' in caplog.text
