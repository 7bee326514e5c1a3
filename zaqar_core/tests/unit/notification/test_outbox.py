"""The outbox: which jobs a post or a new subscription writes, where they
go and what they hold, over a real SQLite store."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from oslo_config import cfg

from zaqar_core import bootstrap
from zaqar_core.api import encryption
from zaqar_core.api import signed_url
from zaqar_core.api.request import Request
from zaqar_core.api.v2 import topics
from zaqar_core.notification import outbox
from zaqar_core.notification import push
from zaqar_core.notification import retry
from zaqar_core.storage import base
from zaqar_core.storage import errors as storage_errors
from zaqar_core.storage.stores import Stores
from zaqar_core.tests.unit import sqlite_copies
from zaqar_plugins.storage.sqlalchemy import signals

PROJECT = 'project-a'
HOOK = 'http://127.0.0.1:9/hook'
NODE = 'a' * 32
CONNECTION = 'b' * 32
KEY = 'unit-test-secret'


@pytest.fixture
def stores(sqlite_conf: cfg.ConfigOpts) -> Iterator[Stores]:
    stores = bootstrap.load_stores(sqlite_conf)
    stores.queues.create(PROJECT, 'q')
    yield stores
    stores.close()


@pytest.fixture
def box(sqlite_conf: cfg.ConfigOpts, stores: Stores) -> outbox.Outbox:
    return outbox.Outbox(sqlite_conf, stores)


def message(n: int, ttl: int = 300, delay: int = 0) -> base.NewMessage:
    return {'body': {'n': n}, 'ttl': ttl, 'delay': delay}


def stored(stores: Stores, queue: str = outbox.QUEUE) -> list[base.Message]:
    """Every job in an outbox queue, oldest first."""
    found, _ = stores.messages.list(outbox.PROJECT, queue, limit=100,
                                    echo=True, include_claimed=True)
    return found


def jobs(stores: Stores, conf: cfg.ConfigOpts,
         queue: str = outbox.QUEUE) -> list[dict[str, Any]]:
    reveal = encryption.opener(conf, outbox.PROJECT)
    return [reveal(m['body']) for m in stored(stores, queue)]


def subscribe(stores: Stores, subscriber: str = HOOK, source: str = 'q',
              options: dict | None = None, confirmed: bool | None = None,
              project: str = PROJECT) -> str:
    subscription_id = stores.subscriptions.create(project, source,
                                                  subscriber, 3600,
                                                  options or {})
    if confirmed is not None:
        stores.subscriptions.confirm(project, source, subscription_id,
                                     confirmed)
    return subscription_id


# notify_posted


def test_nothing_is_written_without_subscribers(
        box: outbox.Outbox, stores: Stores) -> None:
    assert box.notify_posted(PROJECT, 'q', 'queues', {}, [message(1)]) == 0
    assert stored(stores) == []
    assert not box.wakeup.is_set()


def test_one_job_per_subscriber_holds_every_message(
        box: outbox.Outbox, stores: Stores,
        sqlite_conf: cfg.ConfigOpts) -> None:
    first = subscribe(stores, HOOK, options={'k': 'v'})
    second = subscribe(stores, 'mailto:someone@example.com')
    # Another queue's subscriber hears nothing.
    subscribe(stores, 'http://127.0.0.1:9/other', source='other')
    written = box.notify_posted(PROJECT, 'q', 'queues', {},
                                [message(1), message(2, ttl=60)])
    assert written == 2
    assert box.wakeup.is_set()
    found = {job['target']['id']: job for job in jobs(stores, sqlite_conf)}
    assert set(found) == {first, second}
    job = found[first]
    assert job['what'] == outbox.NOTIFICATION
    assert job['kind'] == 'queues'
    assert job['target'] == {'id': first, 'project': PROJECT, 'source': 'q',
                             'subscriber': HOOK, 'options': {'k': 'v'}}
    assert job['retry_policy'] == retry.effective({}, {})
    assert job['messages'] == [
        {'body': {'n': 1}, 'ttl': 300, 'queue_name': 'q',
         'Message_Type': 'Notification'},
        {'body': {'n': 2}, 'ttl': 60, 'queue_name': 'q',
         'Message_Type': 'Notification'},
    ]


def test_jobs_are_stored_as_the_outbox_client_for_the_outbox_ttl(
        box: outbox.Outbox, stores: Stores,
        sqlite_conf: cfg.ConfigOpts) -> None:
    sqlite_conf.set_override('outbox_ttl', 1234, group='notification')
    subscribe(stores)
    box.notify_posted(PROJECT, 'q', 'queues', {}, [message(1)])
    [job] = stored(stores)
    assert job['ttl'] == 1234
    assert job['client_uuid'] == outbox.CLIENT_ID
    # No tenant can name the outbox's project.
    assert not outbox.PROJECT.isprintable()


def test_the_delay_is_shown_when_the_queue_has_a_default_delay(
        box: outbox.Outbox, stores: Stores,
        sqlite_conf: cfg.ConfigOpts) -> None:
    subscribe(stores)
    box.notify_posted(PROJECT, 'q', 'queues', {'_default_message_delay': 5},
                      [message(1, delay=7)])
    [job] = jobs(stores, sqlite_conf)
    assert job['messages'][0]['delay'] == 7


def test_the_subscriptions_retry_policy_is_resolved_when_queued(
        box: outbox.Outbox, stores: Stores,
        sqlite_conf: cfg.ConfigOpts) -> None:
    own = {'retries_with_no_delay': 1, 'minimum_delay_retries': 0,
           'maximum_delay_retries': 0}
    queue = {'retries_with_no_delay': 2, 'minimum_delay_retries': 0,
             'maximum_delay_retries': 0}
    mine = subscribe(stores, HOOK, options={retry.KEY: own})
    theirs = subscribe(stores, 'http://127.0.0.1:9/plain')
    box.notify_posted(PROJECT, 'q', 'queues', {retry.KEY: queue},
                      [message(1)])
    policies = {job['target']['id']: job['retry_policy']
                for job in jobs(stores, sqlite_conf)}
    assert policies[mine] == retry.complete(own)
    assert policies[theirs] == retry.complete(queue)


def test_only_confirmed_subscribers_when_confirmation_is_required(
        box: outbox.Outbox, stores: Stores,
        sqlite_conf: cfg.ConfigOpts) -> None:
    sqlite_conf.set_override('require_confirmation', True,
                             group='notification')
    confirmed = subscribe(stores, 'http://127.0.0.1:9/yes', confirmed=True)
    subscribe(stores, 'http://127.0.0.1:9/no', confirmed=False)
    subscribe(stores, 'http://127.0.0.1:9/unanswered')
    assert box.notify_posted(PROJECT, 'q', 'queues', {}, [message(1)]) == 1
    assert [job['target']['id'] for job in jobs(stores, sqlite_conf)] == [
        confirmed]


def test_unconfirmed_subscribers_are_notified_when_not_required(
        box: outbox.Outbox, stores: Stores) -> None:
    subscribe(stores, 'http://127.0.0.1:9/no', confirmed=False)
    subscribe(stores, 'http://127.0.0.1:9/yes', confirmed=True)
    assert box.notify_posted(PROJECT, 'q', 'queues', {}, [message(1)]) == 2


@pytest.mark.parametrize('count', [2, 3, 4, 7])
def test_every_page_of_subscribers_is_read(
        box: outbox.Outbox, stores: Stores, sqlite_conf: cfg.ConfigOpts,
        monkeypatch: pytest.MonkeyPatch, count: int) -> None:
    # Pages of three: fewer, exactly one page, one more, several.
    monkeypatch.setattr(outbox, 'PAGE', 3)
    ids = {subscribe(stores, f'http://127.0.0.1:9/{i}')
           for i in range(count)}
    assert box.notify_posted(PROJECT, 'q', 'queues', {}, [message(1)]) \
        == count
    assert {job['target']['id'] for job in jobs(stores, sqlite_conf)} == ids


def test_topic_jobs_name_their_kind(box: outbox.Outbox, stores: Stores,
                                    sqlite_conf: cfg.ConfigOpts) -> None:
    scoped = topics.scope(PROJECT)
    subscribe(stores, source='t', project=scoped)
    box.notify_posted(scoped, 't', topics.KIND, {}, [message(1)])
    [job] = jobs(stores, sqlite_conf)
    assert job['kind'] == topics.KIND
    assert job['target']['project'] == scoped
    assert job['messages'][0]['queue_name'] == 't'


def test_jobs_of_an_encrypting_queue_are_sealed(
        box: outbox.Outbox, stores: Stores,
        sqlite_conf: cfg.ConfigOpts) -> None:
    sqlite_conf.set_override('message_encryption_key', 'k',
                             group='transport')
    subscribe(stores)
    box.notify_posted(PROJECT, 'q', 'queues', {encryption.FLAG: True},
                      [message(1)])
    box.notify_posted(PROJECT, 'q', 'queues', {}, [message(2)])
    sealed, plain = stored(stores)
    assert isinstance(sealed['body'], str)
    assert sealed['body'].startswith(encryption.PREFIX)
    assert '"n"' not in sealed['body']
    assert plain['body']['messages'][0]['body'] == {'n': 2}
    opened = jobs(stores, sqlite_conf)
    assert [j['messages'][0]['body'] for j in opened] == [{'n': 1},
                                                           {'n': 2}]


# fan-out jobs: stored with the post, expanded by the posting request


def post_with_fan_out(box: outbox.Outbox, stores: Stores,
                      conf: cfg.ConfigOpts, meta: dict[str, Any],
                      *messages: base.NewMessage) -> base.Posted:
    """Post as message_post does: sealed bodies, and the fan-out job."""
    sealed = encryption.seal(conf, PROJECT, meta, list(messages))
    return stores.messages.post_counting_subscriptions(
        PROJECT, 'q', sealed, 'client', box.fan_out(PROJECT, 'q', 'queues',
                                                    meta))


def waiting(stores: Stores) -> list[base.Message]:
    """The outbox's jobs, those that wait for their poster included."""
    found, _ = stores.messages.list(outbox.PROJECT, outbox.QUEUE, limit=100,
                                    echo=True, include_claimed=True,
                                    include_delayed=True)
    return found


def test_a_post_stores_one_fan_out_job_for_its_poster(
        box: outbox.Outbox, stores: Stores,
        sqlite_conf: cfg.ConfigOpts) -> None:
    subscribe(stores)
    subscribe(stores, HOOK + '2')
    job = post_with_fan_out(box, stores, sqlite_conf, {}, message(1),
                            message(2)).fan_out
    assert job is not None
    assert job['body']['what'] == base.FAN_OUT
    assert job['body']['post'] == {'project': PROJECT, 'source': 'q',
                                   'kind': 'queues', 'metadata': {}}
    [found] = waiting(stores)
    assert (found['id'], found['body']) == (job['id'], job['body'])
    assert found['ttl'] == sqlite_conf.notification.outbox_ttl
    assert found['client_uuid'] == outbox.CLIENT_ID
    # No delivery worker takes it while its poster expands it.
    assert stored(stores) == []


def test_expand_posted_writes_each_subscribers_job_and_deletes_the_fan_out(
        box: outbox.Outbox, stores: Stores,
        sqlite_conf: cfg.ConfigOpts) -> None:
    subscribe(stores)
    subscribe(stores, HOOK + '2')
    job = post_with_fan_out(box, stores, sqlite_conf,
                            {'_default_message_delay': 5}, message(1),
                            message(2, delay=3)).fan_out
    assert job is not None
    box.wakeup.clear()
    box.expand_posted(job)
    assert box.wakeup.is_set()
    written = jobs(stores, sqlite_conf)
    assert sorted(j['target']['subscriber'] for j in written) == \
        [HOOK, HOOK + '2']
    assert written[0]['messages'] == [
        {'body': {'n': 1}, 'ttl': 300, 'delay': 0, 'queue_name': 'q',
         'Message_Type': 'Notification'},
        {'body': {'n': 2}, 'ttl': 300, 'delay': 3, 'queue_name': 'q',
         'Message_Type': 'Notification'}]
    assert [m['body']['what'] for m in waiting(stores)] == \
        [outbox.NOTIFICATION] * 2


def test_a_fan_out_its_poster_cannot_expand_is_left_to_the_worker(
        box: outbox.Outbox, stores: Stores, sqlite_conf: cfg.ConfigOpts,
        monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    subscribe(stores)
    job = post_with_fan_out(box, stores, sqlite_conf, {},
                            message(1)).fan_out
    assert job is not None

    def down(*args: Any, **kwargs: Any) -> None:
        raise storage_errors.Unavailable('store down')
    monkeypatch.setattr(stores.subscriptions, 'list', down)
    with caplog.at_level(logging.WARNING):
        box.expand_posted(job)  # the post has succeeded: no error
    assert "Notifications of a post to 'q' left to the delivery worker" \
        in caplog.text
    assert [m['id'] for m in waiting(stores)] == [job['id']]


def test_the_fan_out_job_of_an_encrypting_queue_holds_sealed_bodies(
        box: outbox.Outbox, stores: Stores,
        sqlite_conf: cfg.ConfigOpts) -> None:
    sqlite_conf.set_override('message_encryption_key', 'k',
                             group='transport')
    subscribe(stores)
    meta = {encryption.FLAG: True}
    job = post_with_fan_out(box, stores, sqlite_conf, meta,
                            message(1)).fan_out
    assert job is not None
    body = job['body']['messages'][0]['body']
    assert body.startswith(encryption.PREFIX) and '"n"' not in body
    box.expand_posted(job)
    # The subscriber's job is sealed as any job of that queue, and opens
    # to the plaintext notification.
    [written] = stored(stores)
    assert written['body'].startswith(encryption.PREFIX)
    assert jobs(stores, sqlite_conf)[0]['messages'][0]['body'] == {'n': 1}


def test_no_fan_out_job_without_subscribers(
        box: outbox.Outbox, stores: Stores,
        sqlite_conf: cfg.ConfigOpts) -> None:
    posted = post_with_fan_out(box, stores, sqlite_conf, {}, message(1))
    assert (posted.subscribed, posted.fan_out) == (0, None)
    assert waiting(stores) == []


# push subscribers


def test_a_connections_jobs_go_to_its_nodes_queue_and_wake_it(
        box: outbox.Outbox, stores: Stores,
        sqlite_conf: cfg.ConfigOpts) -> None:
    subscriber = push.subscriber_of(NODE, CONNECTION)
    subscribe(stores, subscriber, confirmed=True)
    woken = threading.Event()
    with stores.signals.listen([push.channel_of(NODE)],
                               lambda channel: woken.set()):
        assert box.notify_posted(PROJECT, 'q', 'queues', {},
                                 [message(1)]) == 1
        assert woken.wait(10)
    assert stored(stores) == []
    # The shared worker has nothing to do.
    assert not box.wakeup.is_set()
    [job] = stored(stores, push.queue_of(NODE))
    assert job['ttl'] == push.JOB_TTL
    assert job['body']['target']['subscriber'] == subscriber


def test_pushes_and_webhooks_of_one_post_are_split(
        box: outbox.Outbox, stores: Stores,
        sqlite_conf: cfg.ConfigOpts) -> None:
    other = 'c' * 32
    subscribe(stores, push.subscriber_of(NODE, CONNECTION))
    subscribe(stores, push.subscriber_of(NODE, 'd' * 32))
    subscribe(stores, push.subscriber_of(other, CONNECTION))
    subscribe(stores, HOOK)
    # Not a connection of a node: the shared queue, like any URI.
    subscribe(stores, 'ws://not-a-node/x')
    assert box.notify_posted(PROJECT, 'q', 'queues', {}, [message(1)]) == 5
    assert len(stored(stores)) == 2
    assert len(stored(stores, push.queue_of(NODE))) == 2
    assert len(stored(stores, push.queue_of(other))) == 1
    assert box.wakeup.is_set()


def test_a_node_that_cannot_be_woken_gets_its_jobs_anyway(
        box: outbox.Outbox, stores: Stores, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    # Where SQLite's signals go is a file, not a directory: no signals.
    blocked = Path(signals.socket_directory(
        str(tmp_path / sqlite_copies.NAME)))
    blocked.write_text('')
    try:
        subscribe(stores, push.subscriber_of(NODE, CONNECTION))
        with caplog.at_level(logging.WARNING):
            assert box.notify_posted(PROJECT, 'q', 'queues', {},
                                     [message(1)]) == 1
    finally:
        blocked.unlink()
    assert f'Could not wake server process {NODE}' in caplog.text
    assert len(stored(stores, push.queue_of(NODE))) == 1


# confirmations


def subscription_request(subscription_id: str, kind: str = 'queues',
                         source: str = 'q') -> Request:
    project = topics.scope(PROJECT) if kind == topics.KIND else PROJECT
    return Request(project_id=project, client_id=outbox.CLIENT_ID,
                   params={'queue_name': source,
                           'subscription_id': subscription_id},
                   kind=kind, tenant=PROJECT)


@pytest.fixture
def confirming(sqlite_conf: cfg.ConfigOpts) -> cfg.ConfigOpts:
    sqlite_conf.set_override('require_confirmation', True,
                             group='notification')
    sqlite_conf.set_override('secret_key', KEY, group='signed_url')
    return sqlite_conf


@pytest.mark.parametrize(('required', 'key'), [
    (False, KEY), (True, None), (True, ''), (False, None)])
def test_no_confirmation_unless_required_and_signable(
        box: outbox.Outbox, stores: Stores, sqlite_conf: cfg.ConfigOpts,
        required: bool, key: str | None) -> None:
    sqlite_conf.set_override('require_confirmation', required,
                             group='notification')
    sqlite_conf.set_override('secret_key', key, group='signed_url')
    subscription_id = subscribe(stores)
    assert not box.request_confirmation(subscription_request(
        subscription_id), subscription_id)
    assert stored(stores) == []
    assert not box.wakeup.is_set()


def test_a_confirmation_request_is_queued(
        box: outbox.Outbox, stores: Stores,
        confirming: cfg.ConfigOpts) -> None:
    subscription_id = subscribe(stores, options={'k': 'v'})
    assert box.request_confirmation(subscription_request(subscription_id),
                                    subscription_id)
    assert box.wakeup.is_set()
    [job] = jobs(stores, confirming)
    assert job['what'] == outbox.CONFIRMATION
    assert job['kind'] == 'queues'
    assert job['target'] == {'id': subscription_id, 'project': PROJECT,
                             'source': 'q', 'subscriber': HOOK,
                             'options': {'k': 'v'}}
    assert job['retry_policy'] == retry.effective({'k': 'v'}, {})
    document = job['document']
    path = f'/v2/queues/q/subscriptions/{subscription_id}/confirm'
    assert document['Message_Type'] == 'SubscriptionConfirmation'
    assert document['Message'] == ('You have chosen to subscribe to the '
                                   'queue: q')
    assert document['URL-Paths'] == path
    assert document['URL-Methods'] == 'PUT'
    assert document['X-Project-ID'] == PROJECT
    assert document['SubscribeBody'] == {'confirmed': True}
    assert document['UnsubscribeBody'] == {'confirmed': False}
    assert document['queue_name'] == 'q'
    # The URL it carries confirms that subscription, and nothing else.
    signed = signed_url.Signed(document['URL-Signature'],
                               document['URL-Expires'], ['PUT'], [path])
    assert signed_url.allows(KEY, signed, PROJECT, 'PUT', path)
    assert not signed_url.allows(KEY, signed, PROJECT, 'PUT',
                                 '/v2/queues/q/subscriptions')
    assert not signed_url.allows(KEY, signed, 'project-b', 'PUT', path)


def test_a_topic_confirmation_names_the_topic_and_the_clients_project(
        box: outbox.Outbox, stores: Stores,
        confirming: cfg.ConfigOpts) -> None:
    subscription_id = subscribe(stores, source='t',
                                project=topics.scope(PROJECT))
    assert box.request_confirmation(
        subscription_request(subscription_id, topics.KIND, 't'),
        subscription_id)
    [job] = jobs(stores, confirming)
    document = job['document']
    path = f'/v2/topics/t/subscriptions/{subscription_id}/confirm'
    assert job['kind'] == topics.KIND
    assert job['target']['project'] == topics.scope(PROJECT)
    assert document['URL-Paths'] == path
    assert document['X-Project-ID'] == PROJECT
    assert document['Message'] == ('You have chosen to subscribe to the '
                                   'topic: t')
    signed = signed_url.Signed(document['URL-Signature'],
                               document['URL-Expires'], ['PUT'], [path])
    assert signed_url.allows(KEY, signed, PROJECT, 'PUT', path)


def test_an_unsubscribe_notice_is_queued(
        box: outbox.Outbox, stores: Stores,
        confirming: cfg.ConfigOpts) -> None:
    subscription_id = subscribe(stores)
    assert box.request_confirmation(subscription_request(subscription_id),
                                    subscription_id, unsubscribe=True)
    [job] = jobs(stores, confirming)
    assert job['document']['Message_Type'] == 'UnsubscribeConfirmation'
    assert job['document']['Message'] == ('You have unsubscribed '
                                          'successfully to the queue: q')


def expiry_in(document: dict[str, Any]) -> float:
    expires = signed_url.parse_expires(document['URL-Expires'])
    return (expires - signed_url.utcnow()).total_seconds()


def test_the_confirm_url_lives_as_long_as_the_subscription() -> None:
    subscription: base.Subscription = {
        'id': 's1', 'source': 'q', 'subscriber': HOOK, 'ttl': 600,
        'age': 0, 'options': {}, 'confirmed': False}
    document = outbox.confirmation(KEY, 'queues', 'q', subscription,
                                   PROJECT, False, 3600)
    assert 590 <= expiry_in(document) <= 600
    # After an unsubscribe: the default subscription TTL.
    document = outbox.confirmation(KEY, 'queues', 'q', subscription,
                                   PROJECT, True, 3600)
    assert 3590 <= expiry_in(document) <= 3600


def test_a_confirmation_of_a_connection_is_pushed(
        box: outbox.Outbox, stores: Stores,
        confirming: cfg.ConfigOpts) -> None:
    subscription_id = subscribe(stores, push.subscriber_of(NODE,
                                                           CONNECTION))
    assert box.request_confirmation(subscription_request(subscription_id),
                                    subscription_id)
    assert stored(stores) == []
    [job] = stored(stores, push.queue_of(NODE))
    assert job['body']['what'] == outbox.CONFIRMATION
