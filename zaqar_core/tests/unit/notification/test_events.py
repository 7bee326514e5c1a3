"""Queue events on the notification bus: which actions emit what, a
disabled emitter, and a real RabbitMQ listener receiving the events.

Environment: ``ZAQAR_TEST_RABBIT_URL`` (default
``rabbit://guest:guest@127.0.0.1:5672/``); under ``CI=true`` an
unreachable broker fails the RabbitMQ test instead of skipping it.
"""

import json
import socket
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import oslo_messaging
import pytest
from oslo_config import cfg
from oslo_context import context as oslo_context

from zaqar_core.api.request import Request
from zaqar_core.api.request import Result
from zaqar_core.notification import events
from zaqar_testing.rabbitmq import RABBIT_URL
from zaqar_testing.rabbitmq import Broker
from zaqar_testing.rabbitmq import Received

TIMEOUT = 30.0


def request(**params: Any) -> Request:
    return Request(project_id='p1', client_id='c-1',
                   params={'queue_name': 'q1', **params})


POSTED = Result(201, {'message_ids': ['m1', 'm2']})


# --- what each action emits ------------------------------------------

@pytest.mark.parametrize(('action', 'expected'), [
    ('queue_create', 'messaging.queue.create'),
    ('queue_update', 'messaging.queue.update'),
    ('queue_delete', 'messaging.queue.delete'),
    ('queue_purge', 'messaging.queue.purge'),
    ('message_post', 'messaging.message.post'),
    ('message_delete', 'messaging.message.delete'),
    ('message_delete_many', 'messaging.message.delete'),
    ('claim_create', 'messaging.claim.create'),
    ('claim_update', 'messaging.claim.update'),
    ('claim_delete', 'messaging.claim.delete'),
    ('subscription_create', 'messaging.subscription.create'),
    ('subscription_update', 'messaging.subscription.update'),
    ('subscription_delete', 'messaging.subscription.delete'),
    ('subscription_confirm', 'messaging.subscription.confirm'),
    ('topic_create', 'messaging.topic.create'),
    ('topic_update', 'messaging.topic.update'),
    ('topic_delete', 'messaging.topic.delete'),
    ('topic_purge', 'messaging.topic.purge'),
    ('topic_message_post', 'messaging.topic.message.post'),
    ('topic_subscription_create', 'messaging.topic.subscription.create'),
    # Reads emit nothing.
    ('queue_get', None), ('queue_list', None), ('queue_get_stats', None),
    ('queue_share', None), ('message_list', None), ('message_get', None),
    ('message_get_many', None), ('claim_get', None), ('ping_node', None),
    ('get_home_doc', None), ('topic_get', None), ('topic_list', None),
    ('topic_get_stats', None), ('topic_message_list', None),
    ('topic_', None), ('subscription_get', None),
])
def test_event_types(action: str, expected: str | None) -> None:
    assert events.event_type(action) == expected


def test_message_post_names_the_ids_and_the_poster() -> None:
    req = request()
    req.body = {'messages': [{'body': 'SECRET-BODY', 'ttl': 60}]}
    data = events.payload('message_post', req, POSTED)
    assert data == {'project_id': 'p1', 'queue_name': 'q1',
                    'message_ids': ['m1', 'm2'], 'client_id': 'c-1'}


def test_message_deletes_name_the_ids() -> None:
    assert events.payload('message_delete',
                          request(message_id='m1', claim_id='c1'),
                          Result(204)) == {
        'project_id': 'p1', 'queue_name': 'q1', 'message_id': 'm1',
        'claim_id': 'c1'}
    assert events.payload('message_delete_many', request(ids='m1,m2'),
                          Result(204))['message_ids'] == ['m1', 'm2']
    assert events.payload('message_delete_many', request(ids=['m3']),
                          Result(204))['message_ids'] == ['m3']
    popped = Result(200, {'messages': [
        {'id': 'm4', 'body': 'SECRET-BODY', 'ttl': 60, 'age': 1}]})
    data = events.payload('message_delete_many', request(pop='1'), popped)
    assert data['message_ids'] == ['m4']
    assert 'SECRET-BODY' not in json.dumps(data)


def test_claims_name_the_claim_and_its_messages() -> None:
    claimed = Result(201, {'claim_id': 'c9', 'messages': [
        {'id': 'm1', 'body': 'SECRET-BODY', 'claim_id': 'c9'}]})
    data = events.payload('claim_create', request(), claimed)
    assert data == {'project_id': 'p1', 'queue_name': 'q1',
                    'claim_id': 'c9', 'message_ids': ['m1']}
    assert events.payload('claim_update', request(claim_id='c9'),
                          Result(204))['claim_id'] == 'c9'


def test_subscriptions_name_the_subscription_not_the_subscriber() -> None:
    req = request()
    req.body = {'subscriber': 'mailto:someone@example.com', 'ttl': 3600}
    data = events.payload('subscription_create', req,
                          Result(201, {'subscription_id': 's1'}))
    assert data == {'project_id': 'p1', 'queue_name': 'q1',
                    'subscription_id': 's1'}
    confirm = request(subscription_id='s1')
    confirm.body = {'confirmed': True}
    assert events.payload('subscription_confirm', confirm, Result(204)) \
        == {'project_id': 'p1', 'queue_name': 'q1', 'subscription_id': 's1',
            'confirmed': True}


def test_purge_and_topics() -> None:
    req = request()
    req.body = {'resource_types': ['messages']}
    assert events.payload('queue_purge', req, Result(204))[
        'resource_types'] == ['messages']
    # As the API leaves a topic request: the topic in queue_name, the
    # project pointed at the topic scope, the client's in tenant.
    topic = Request(project_id='p1\x1ftopics', client_id='c',
                    params={'queue_name': 't1'}, kind='topics',
                    tenant='p1')
    assert events.payload('topic_create', topic, Result(201)) == {
        'project_id': 'p1', 'topic_name': 't1'}
    assert events.payload('topic_message_post', topic, POSTED)[
        'message_ids'] == ['m1', 'm2']


def test_topic_events_name_the_client_project(conf: cfg.ConfigOpts
                                              ) -> None:
    notifier = RecordingNotifier()
    emitter = events.Emitter(conf, background=False, notifier=notifier)
    topic = Request(project_id='p1\x1ftopics', client_id='c',
                    params={'queue_name': 't1'}, kind='topics',
                    tenant='p1')
    emitter.emit('topic_create', topic, Result(204))  # existed
    emitter.emit('topic_delete', topic, Result(204))
    ((ctxt, kind, data),) = notifier.sent
    assert kind == 'messaging.topic.delete'
    assert data == {'project_id': 'p1', 'topic_name': 't1'}
    assert ctxt.project_id == 'p1'


# --- the emitter with a recording notifier ---------------------------

class RecordingNotifier:
    def __init__(self, error: Exception | None = None,
                 gate: threading.Event | None = None) -> None:
        self.sent: list[tuple[Any, str, dict]] = []
        self.error = error
        self.gate = gate
        self.entered = threading.Event()

    def is_enabled(self) -> bool:
        return True

    def info(self, ctxt: Any, event_type: str, payload: dict) -> None:
        self.entered.set()
        if self.gate is not None:
            self.gate.wait(TIMEOUT)
        if self.error is not None:
            raise self.error
        self.sent.append((ctxt, event_type, payload))


def test_only_successful_changes_are_sent(conf: cfg.ConfigOpts) -> None:
    notifier = RecordingNotifier()
    emitter = events.Emitter(conf, background=False, notifier=notifier)
    assert emitter.enabled
    emitter.emit('queue_create', request(), Result(201))
    emitter.emit('queue_create', request(), Result(204))  # existed
    emitter.emit('claim_create', request(), Result(204))  # nothing free
    emitter.emit('queue_get', request(), Result(200, {}))
    emitter.emit('queue_delete', request(), Result(404))
    emitter.emit('message_post', request(), POSTED)
    assert [kind for _, kind, _ in notifier.sent] == [
        'messaging.queue.create', 'messaging.message.post']
    ctxt = notifier.sent[0][0]
    assert isinstance(ctxt, oslo_context.RequestContext)
    assert ctxt.project_id == 'p1'


def test_the_request_context_is_passed_on(conf: cfg.ConfigOpts) -> None:
    notifier = RecordingNotifier()
    req = request()
    req.context = oslo_context.RequestContext(project_id='p1',
                                              user_id='u1')
    events.Emitter(conf, background=False, notifier=notifier).emit(
        'queue_delete', req, Result(204))
    assert notifier.sent[0][0] is req.context


def test_send_failures_are_logged_not_raised(
        conf: cfg.ConfigOpts, caplog: pytest.LogCaptureFixture) -> None:
    notifier = RecordingNotifier(oslo_messaging.MessageDeliveryFailure())
    emitter = events.Emitter(conf, background=False, notifier=notifier)
    emitter.emit('queue_create', request(), Result(201))
    assert notifier.entered.is_set()
    assert 'Could not send messaging.queue.create' in caplog.text
    # Even a malformed result is no reason to fail the request.
    emitter.emit('message_post', request(), Result(201, {'message_ids': 5}))
    assert 'Could not emit the event of message_post' in caplog.text


def test_background_sending_and_flush(conf: cfg.ConfigOpts) -> None:
    notifier = RecordingNotifier()
    emitter = events.Emitter(conf, notifier=notifier)
    for _ in range(5):
        emitter.emit('queue_delete', request(), Result(204))
    emitter.flush()
    assert len(notifier.sent) == 5
    emitter.close()
    assert not emitter.enabled


def test_a_stuck_bus_drops_events_instead_of_blocking(
        conf: cfg.ConfigOpts, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events, 'MAX_PENDING', 2)
    gate = threading.Event()
    notifier = RecordingNotifier(gate=gate)
    emitter = events.Emitter(conf, notifier=notifier)
    emitter.emit('queue_delete', request(), Result(204))
    assert notifier.entered.wait(TIMEOUT)
    for _ in range(9):  # would block for TIMEOUT if emit waited
        emitter.emit('queue_delete', request(), Result(204))
    gate.set()
    emitter.close()
    # One in the sender's hands, two waiting; the rest dropped.
    assert len(notifier.sent) == 3


# --- disabled ----------------------------------------------------------

@pytest.mark.parametrize('drivers', [[], ['noop']])
def test_without_a_driver_nothing_is_built_or_sent(
        conf: cfg.ConfigOpts, monkeypatch: pytest.MonkeyPatch,
        drivers: list[str]) -> None:
    events._notifications_conf(conf)
    conf.set_override('driver', drivers, group=events.NOTIFICATIONS_GROUP)

    def forbidden(*args: Any, **kwargs: Any) -> None:
        raise AssertionError('a disabled emitter did some work')

    monkeypatch.setattr(oslo_messaging, 'get_notification_transport',
                        forbidden)
    monkeypatch.setattr(events, 'event_type', forbidden)
    monkeypatch.setattr(events, 'payload', forbidden)
    emitter = events.Emitter(conf)
    assert not emitter.enabled
    assert emitter.notifier is None and emitter.transport is None
    emitter.emit('queue_create', request(), Result(201))
    assert emitter._sender is None  # no thread either
    emitter.flush()
    emitter.close()


# --- a real bus ----------------------------------------------------------

@pytest.fixture
def bus_conf(conf: cfg.ConfigOpts) -> Iterator[cfg.ConfigOpts]:
    """Notifications on, to a private exchange and topic; removed after."""
    broker = Broker(RABBIT_URL)
    broker.check()
    unique = f'zaqar-test-{uuid.uuid4().hex[:12]}'
    oslo_messaging.get_notification_transport(conf).cleanup()  # registers
    conf.set_override('transport_url', RABBIT_URL)
    conf.set_override('control_exchange', unique)
    conf.set_override('driver', ['messagingv2'],
                      group=events.NOTIFICATIONS_GROUP)
    conf.set_override('topics', [unique], group=events.NOTIFICATIONS_GROUP)
    try:
        yield conf
    finally:
        broker.delete([f'{unique}.info'], [unique])


def test_events_reach_a_listener_on_rabbitmq(bus_conf: cfg.ConfigOpts
                                             ) -> None:
    received = Received(expected=2)
    transport = oslo_messaging.get_notification_transport(bus_conf)
    topic = bus_conf.oslo_messaging_notifications.topics[0]
    listener = oslo_messaging.get_notification_listener(
        transport, [oslo_messaging.Target(topic=topic)], [received],
        executor='threading')
    listener.start()
    emitter = events.Emitter(bus_conf)
    try:
        assert emitter.enabled
        req = request()
        req.context = oslo_context.RequestContext(
            project_id='p1', user_id='u1', auth_token='TOKEN')
        emitter.emit('queue_create', req, Result(201))
        emitter.emit('message_post', req, POSTED)
        emitter.emit('queue_get', req, Result(200, {}))
        assert received.done.wait(TIMEOUT), received.got
    finally:
        emitter.close()
        listener.stop()
        listener.wait()
        transport.cleanup()
    # The listener's threads may hand the two over in either order.
    create, post = sorted(received.got, key=lambda n: n['event_type'],
                          reverse=True)
    assert create['event_type'] == 'messaging.queue.create'
    assert create['publisher_id'] == f'messaging.{socket.gethostname()}'
    assert create['payload'] == {'project_id': 'p1', 'queue_name': 'q1'}
    assert create['ctxt']['project_id'] == 'p1'
    # oslo.messaging redacts the context: no token on the bus.
    assert 'TOKEN' not in json.dumps(create['ctxt'])
    assert post['event_type'] == 'messaging.message.post'
    assert post['payload']['message_ids'] == ['m1', 'm2']
