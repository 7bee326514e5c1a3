"""A running server emits queue events onto a real RabbitMQ, where an
oslo.messaging notification listener receives them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import oslo_messaging
import pytest
from oslo_config import cfg

from zaqar_testing.rabbitmq import RABBIT_URL
from zaqar_testing.rabbitmq import Broker
from zaqar_testing.rabbitmq import Received

from .helpers import Server


@pytest.fixture
def exchange() -> Iterator[str]:
    broker = Broker(RABBIT_URL)
    broker.check()
    unique = f'zaqar-test-{uuid.uuid4().hex[:12]}'
    yield unique
    broker.delete([f'{unique}.info'], [unique])


def test_a_server_emits_queue_events(make_server, exchange: str) -> None:
    server: Server = make_server(
        DEFAULT={'transport_url': RABBIT_URL, 'control_exchange': exchange},
        oslo_messaging_notifications={'driver': 'messagingv2',
                                      'topics': exchange})
    conf = cfg.ConfigOpts()
    conf([])
    transport = oslo_messaging.get_notification_transport(
        conf, url=RABBIT_URL)
    conf.set_override('control_exchange', exchange)
    received = Received(expected=3)
    listener = oslo_messaging.get_notification_listener(
        transport, [oslo_messaging.Target(topic=exchange)], [received],
        executor='threading')
    listener.start()
    try:
        client = server.client()
        client.create_queue('audited')
        ids = client.post_messages('audited', 'SECRET-BODY', 'b')
        assert client.get('/v2/queues/audited').status_code == 200
        assert client.delete('/v2/queues/audited').status_code == 204
        assert received.done.wait(30), received.got
    finally:
        listener.stop()
        listener.wait()
        transport.cleanup()
    # A notification listener hands events to a pool of threads, so they
    # may arrive in any order: each must arrive exactly once.
    assert sorted(n['event_type'] for n in received.got) == [
        'messaging.message.post', 'messaging.queue.create',
        'messaging.queue.delete']
    kinds: dict[str, Any] = {n['event_type']: n['payload']
                             for n in received.got}
    assert kinds['messaging.queue.create'] == {
        'project_id': client.project_id, 'queue_name': 'audited'}
    assert kinds['messaging.message.post']['message_ids'] == ids
    assert 'SECRET-BODY' not in str(received.got)
