"""Notifications end to end: a real webhook receiver (and SMTP server) on
loopback gets what is posted to a queue (or topic) it subscribed to, in
order, with retries on failure, through a crash of the server, and only
once confirmed when confirmation is required."""

from __future__ import annotations

import json
import socket
import threading
import urllib.parse
import uuid

import pytest
import requests

from zaqar_testing.ports import free_port
from zaqar_testing.receivers import Inbox
from zaqar_testing.receivers import Receiver
from zaqar_testing.receivers import SMTPServer
from zaqar_testing.waiting import eventually

from .helpers import ApiClient
from .helpers import Server

# Fast retries for tests: three at once, then one a second for a while.
FAST_RETRIES = {'retries_with_no_delay': 3, 'minimum_delay_retries': 30,
                'minimum_delay': 1, 'maximum_delay': 20,
                'maximum_delay_retries': 0,
                'retry_backoff_function': 'linear'}
SIGNING_KEY = 'notification-test-key'


def subscribe(client: ApiClient, subscriber: str, queue: str = 'q1',
              kind: str = 'queues', **options) -> str:
    resp = client.post(f'/v2/{kind}/{queue}/subscriptions',
                       json={'subscriber': subscriber, 'options': options})
    assert resp.status_code == 201, resp.text
    return resp.json()['subscription_id']


def post(client: ApiClient, queue: str, *bodies, kind: str = 'queues',
         ttl: int = 300) -> None:
    resp = client.post(f'/v2/{kind}/{queue}/messages', json={
        'messages': [{'body': b, 'ttl': ttl} for b in bodies]})
    assert resp.status_code == 201, resp.text


def deliveries(hook: Receiver) -> list[tuple[str, object]]:
    """(path, what) of each delivery so far: a notification's body, or a
    confirmation's type."""
    found = []
    for request in hook.delivered:
        doc = request.json()
        found.append((request.path, doc['body'] if
                      doc['Message_Type'] == 'Notification'
                      else doc['Message_Type']))
    return found


# "Nothing else arrives" cannot be waited for, so tests wait for a later
# notification instead, one that cannot arrive before what they rule out
# would have. Within one server process, a subscription's notifications
# go out one after another in the order they were written (see
# test_a_subscriber_sees_posts_in_order), so one process is enough when
# both go to the same subscription. SERIAL adds a single delivery thread:
# it claims the oldest notifications first and finishes each
# subscription's before starting the next, so a notification to a
# subscription made after everything else comes after every one written
# before it (see settle).
ONE_PROCESS = {'drivers:transport:wsgi': {'workers': 1}}
SERIAL = {**ONE_PROCESS, 'notification': {'max_notifier_workers': 1}}


def settle(client: ApiClient, hook: Receiver) -> None:
    """On a SERIAL server, wait until every notification written so far
    has been delivered (or given up on): a new subscription's first
    notification, which ``hook`` gets at ``/settled``, goes out last."""
    queue = f'settle-{uuid.uuid4().hex[:8]}'
    subscribe(client, hook.url + '/settled', queue=queue)
    post(client, queue, 'settled')
    hook.wait_for(lambda r: any(q.path == '/settled' for q in r.delivered))


def test_each_posted_message_reaches_the_subscriber(
        client: ApiClient, hook: Receiver) -> None:
    subscribe(client, hook.url + '/in', post_headers={'X-Team': 'ops'})
    post(client, 'q1', {'event': 'BackupStarted'}, 'second')
    first, second = hook.wait_count(2)
    assert first.path == '/in'
    assert first.headers['content-type'] == 'application/json'
    assert first.headers['x-team'] == 'ops'
    assert first.json() == {'body': {'event': 'BackupStarted'},
                            'ttl': 300, 'queue_name': 'q1',
                            'Message_Type': 'Notification'}
    assert second.json()['body'] == 'second'


def test_post_data_templates_the_message(client: ApiClient,
                                         hook: Receiver) -> None:
    subscribe(client, hook.url,
              post_data='{"wrapped": "$zaqar_message$", "n": 1}')
    post(client, 'q1', [1, 2])
    (got,) = hook.wait_count(1)
    assert got.json() == {'wrapped': {'body': [1, 2], 'ttl': 300,
                                      'queue_name': 'q1',
                                      'Message_Type': 'Notification'},
                          'n': 1}


def test_only_subscribers_of_the_queue_are_notified(make_server) -> None:
    client = make_server(private_store=True, **SERIAL).client()
    with Receiver() as mine, Receiver() as theirs:
        subscribe(client, mine.url)
        subscribe(client, theirs.url, queue='q2')
        gone = subscribe(client, theirs.url + '/gone')
        assert client.delete(
            f'/v2/queues/q1/subscriptions/{gone}').status_code == 204
        post(client, 'q1', 'only-q1')
        post(client, 'q2', 'only-q2')
        settle(client, mine)
        assert deliveries(mine) == [('/', 'only-q1'),
                                    ('/settled', 'settled')]
        assert deliveries(theirs) == [('/', 'only-q2')]


def test_a_subscriber_sees_posts_in_order(make_server,
                                          hook: Receiver) -> None:
    # Order holds per server process (several may interleave posts).
    client = make_server(private_store=True, **{
        'drivers:transport:wsgi': {'workers': 1}}).client()
    subscribe(client, hook.url)
    for n in range(8):
        post(client, 'q1', n, n + 100)
    got = hook.wait_count(16)
    assert [r.json()['body'] for r in got] == \
        [b for n in range(8) for b in (n, n + 100)]


def test_5xx_answers_are_retried(client: ApiClient,
                                 hook: Receiver) -> None:
    hook.statuses = [503, 500]
    subscribe(client, hook.url, _retry_policy=FAST_RETRIES)
    post(client, 'q1', 'persistent')
    assert hook.wait_count(1)[0].json()['body'] == 'persistent'
    assert hook.attempts == 3


def test_4xx_answers_are_not_retried(client: ApiClient,
                                     hook: Receiver) -> None:
    hook.statuses = [404]
    subscribe(client, hook.url, _retry_policy=FAST_RETRIES)
    post(client, 'q1', 'dropped')
    # Answered before the next is posted: the delivery workers of two
    # processes may deliver two posts in either order.
    hook.wait_for(lambda h: h.attempts >= 1, 15)
    post(client, 'q1', 'next')
    assert hook.wait_count(1)[0].json()['body'] == 'next'
    assert [r.json()['body'] for r in hook.requests] == ['dropped', 'next']


def test_topic_subscribers_get_topic_messages(client: ApiClient,
                                              hook: Receiver) -> None:
    subscribe(client, hook.url, queue='alerts', kind='topics')
    subscribe(client, hook.url + '/queue', queue='alerts')
    post(client, 'alerts', 'to-the-topic', kind='topics')
    (got,) = hook.wait_count(1)
    assert (got.path, got.json()['body']) == ('/', 'to-the-topic')
    post(client, 'alerts', 'to-the-queue')
    assert hook.wait_count(2)[1].path == '/queue'


def test_upstream_pipeline_option_is_accepted(make_server,
                                              hook: Receiver) -> None:
    server = make_server(storage={
        'message_pipeline': 'zaqar.notification.notifier'})
    client = server.client()
    subscribe(client, hook.url)
    post(client, 'q1', 'piped')
    assert hook.wait_count(1)[0].json()['body'] == 'piped'


@pytest.fixture
def confirming(make_server) -> Server:
    return make_server(private_store=True, **ONE_PROCESS,
                       notification={'require_confirmation': True},
                       signed_url={'secret_key': SIGNING_KEY})


def test_confirmation_flow_with_the_signed_url(
        confirming: Server, hook: Receiver) -> None:
    client = confirming.client()
    sid = subscribe(client, hook.url)
    (request,) = hook.wait_count(1)
    doc = request.json()
    path = f'/v2/queues/q1/subscriptions/{sid}/confirm'
    assert doc['Message_Type'] == 'SubscriptionConfirmation'
    assert doc['URL-Paths'] == path
    assert doc['URL-Methods'] == 'PUT'
    assert doc['X-Project-ID'] == client.project_id
    assert doc['SubscribeBody'] == {'confirmed': True}
    assert doc['UnsubscribeBody'] == {'confirmed': False}
    # Unconfirmed: posts are not delivered.
    post(client, 'q1', 'too-early')
    # The receiver confirms with nothing but the document.
    resp = requests.put(confirming.url + doc['URL-Paths'], headers={
        'URL-Signature': doc['URL-Signature'],
        'URL-Expires': doc['URL-Expires'],
        'URL-Methods': doc['URL-Methods'],
        'URL-Paths': doc['URL-Paths'],
        'X-Project-ID': doc['X-Project-ID'],
        'Client-ID': 'd3b07384-d9a0-4c9b-8f1e-2b2f1d7f5a10'},
        json=doc['SubscribeBody'], timeout=10)
    assert resp.status_code == 204, resp.text
    post(client, 'q1', 'now')
    hook.wait_count(2)
    # One process, one subscription: "too-early" would have come first.
    assert deliveries(hook) == [('/', 'SubscriptionConfirmation'),
                                ('/', 'now')]
    # Unsubscribing sends the other document; posts stop...
    resp = client.put(path, json={'confirmed': False})
    assert resp.status_code == 204
    post(client, 'q1', 'after')
    # ... until it is confirmed again.
    assert client.put(path, json={'confirmed': True}).status_code == 204
    post(client, 'q1', 'again')
    hook.wait_count(4)
    assert deliveries(hook)[2:] == [('/', 'UnsubscribeConfirmation'),
                                    ('/', 'again')]


def test_a_tampered_confirmation_is_refused(confirming: Server,
                                            hook: Receiver) -> None:
    client = confirming.client()
    subscribe(client, hook.url)
    doc = hook.wait_count(1)[0].json()
    resp = requests.put(confirming.url + doc['URL-Paths'], headers={
        'URL-Signature': doc['URL-Signature'][::-1],
        'URL-Expires': doc['URL-Expires'], 'URL-Methods': 'PUT',
        'URL-Paths': doc['URL-Paths'], 'X-Project-ID': client.project_id,
        'Client-ID': client.client_id}, json={'confirmed': True},
        timeout=10)
    assert resp.status_code == 404


def test_a_pending_notification_survives_a_crash(
        make_server, hook: Receiver) -> None:
    server = make_server(private_store=True, **ONE_PROCESS,
                         notification={'outbox_claim_ttl': 2})
    client = server.client()
    hook.failing = 503
    subscribe(client, hook.url, _retry_policy=FAST_RETRIES)
    post(client, 'q1', 'must-arrive')
    # Accepted, and being retried: the server dies mid-delivery.
    hook.wait_for(lambda r: r.attempts >= 4)
    server.process.kill()
    hook.failing = None
    attempts = hook.attempts
    assert hook.delivered == []
    server.process.start()
    (got,) = hook.wait_count(1, timeout=30)
    assert got.json()['body'] == 'must-arrive'
    assert hook.attempts > attempts
    # Delivered once: anything of it left in the outbox is older than
    # this next notification, of the same subscription, so would come
    # first.
    post(client, 'q1', 'next')
    hook.wait_count(2)
    assert deliveries(hook) == [('/', 'must-arrive'), ('/', 'next')]


class _HangUp:
    """An SMTP server that is down: it takes each connection and closes
    it at once (a failure the sender retries), counting them."""

    def __init__(self, port: int) -> None:
        self.tries = 0
        self._socket = socket.create_server(('127.0.0.1', port))
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._socket.accept()
            except OSError:
                return  # closed
            conn.close()
            self.tries += 1

    def close(self) -> None:
        self._socket.shutdown(socket.SHUT_RDWR)
        self._socket.close()


def test_a_mail_reaches_the_smtp_server_after_a_crash(make_server) -> None:
    port = free_port()
    server = make_server(private_store=True, notification={
        'smtp_mode': 'self_local', 'smtp_host': '127.0.0.1',
        'smtp_port': port, 'smtp_security': 'none',
        'outbox_claim_ttl': 2})
    client = server.client()
    subscribe(client, 'mailto:ops@example.com?subject=Backups',
              _retry_policy=FAST_RETRIES, **{'from': 'zaqar@example.com'})
    down = _HangUp(port)
    try:
        post(client, 'q1', {'event': 'BackupDone'})
        # The mail is being retried when the server dies.
        eventually(lambda: down.tries >= 2, timeout=30,
                   what='a second try of the mail')
        server.process.kill()
    finally:
        down.close()
    inbox = Inbox()
    with SMTPServer(inbox, port=port):
        server.process.start()
        assert inbox.arrived.wait(30)
    (mail,) = inbox.mails
    assert (mail['To'], mail['From'], mail['Subject']) == \
        ('ops@example.com', 'zaqar@example.com', 'Backups')
    assert json.loads(mail.get_payload(decode=True)) == {
        'body': {'event': 'BackupDone'}, 'ttl': 300, 'queue_name': 'q1',
        'Message_Type': 'Notification'}


def _every_body(client: ApiClient, queue: str) -> list[object]:
    """The bodies of every message of ``queue``, page after page."""
    bodies: list[object] = []
    params = {'echo': 'true', 'include_claimed': 'true', 'limit': '20'}
    while True:
        resp = client.get(f'/v2/queues/{queue}/messages', params=params)
        assert resp.status_code == 200, resp.text
        page = resp.json()
        if not page['messages']:
            return bodies
        bodies += [m['body'] for m in page['messages']]
        query = urllib.parse.urlsplit(page['links'][0]['href']).query
        params['marker'] = urllib.parse.parse_qs(query)['marker'][0]


def test_every_stored_message_is_notified_through_a_kill_during_posts(
        make_server, hook: Receiver) -> None:
    """A post and its notification job are one storage write: kill -9 of
    the server (and its workers) while it accepts posts, right after a
    201 or in the middle of a request, loses the notification of no
    message it stored."""
    # A post cut off before its answer leaves its fan-out to the garbage
    # collector once FAN_OUT_GRACE has passed: collecting every second
    # keeps that within the wait below (at the default 30 s, a busy host
    # passed 60 s now and then).
    server = make_server(private_store=True,
                         notification={'outbox_claim_ttl': 2},
                         storage={'gc_interval': 1})
    client = server.client()
    # Nothing is delivered before the crash: every notification has to
    # survive it.
    hook.failing = 503
    subscribe(client, hook.url, _retry_policy=FAST_RETRIES)
    accepted: list[str] = []
    stop = threading.Event()

    def produce() -> None:
        n = 0
        while not stop.is_set():
            body = f'm{n}'
            n += 1
            try:
                resp = client.post('/v2/queues/q1/messages', json={
                    'messages': [{'body': body, 'ttl': 600}]}, timeout=5)
            except requests.RequestException:
                return  # the server is gone
            if resp.status_code == 201:
                accepted.append(body)

    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    eventually(lambda: len(accepted) >= 20, timeout=60,
               what='20 accepted posts')
    server.process.kill()
    stop.set()
    producer.join(10)
    hook.failing = None
    server.process.start()
    stored = _every_body(client, 'q1')
    # A post cut off before its answer may be stored or not; each one
    # answered 201 is.
    assert set(accepted) <= set(stored)
    assert len(stored) >= 20
    hook.wait_for(
        lambda r: set(stored) <= {q.json()['body'] for q in r.delivered},
        timeout=60)
