"""The WebSocket clients of other projects, unchanged, with auth off: the
flows of python-zaqarclient's ``ws://`` transport and of the TripleO CLI,
and requests pipelined without waiting for replies.

Messages come in over REST, through the HTTP server beside the WebSocket
one (another process on the same store), as Heat and Mistral post them.

The flows are functions of the URL, project and token, so that
``zaqar_core/tests/keystone/test_websocket.py`` runs them against the
real Keystone too.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from collections.abc import Iterator
from typing import Any

import pytest
import websocket
from zaqarclient import transport
from zaqarclient.transport import request as zaqar_request

from zaqar_testing.waiting import eventually

from .helpers import ApiClient
from .helpers import Server
from .wsclient import WsClient

#: Seconds any one reply or push may take.
TIMEOUT = 30.0
#: What python-zaqarclient needs as a token when auth is off: anything.
NO_TOKEN = 'unused-auth-is-off'

#: Posts message bodies to a queue over REST.
PostOverRest = Callable[[str, list[Any]], None]


@pytest.fixture
def bounded_websockets() -> Iterator[None]:
    """python-zaqarclient's transport connects with no timeout and its
    ``recv()`` waits for a push forever; websocket-client's default timeout
    bounds both (a missing push fails the test instead of hanging it)."""
    before = websocket.getdefaulttimeout()
    websocket.setdefaulttimeout(TIMEOUT)
    try:
        yield
    finally:
        websocket.setdefaulttimeout(before)


# -- the flows, also run against Keystone -----------------------------------

def zaqarclient_flow(url: str, project_id: str, token: str,
                     queue: str) -> None:
    """python-zaqarclient's ``ws://`` transport as its documentation and
    os-collect-config use it: everything in the request body, one
    connection subscribed (``recv()`` for the push), another posting,
    listing and popping. Each connection authenticates first, as the
    transport always does."""
    conf = {'auth_opts': {'backend': 'keystone', 'options': {
        'os_auth_token': token, 'os_project_id': project_id}}}

    def req(action: str, **body: Any) -> zaqar_request.Request:
        return zaqar_request.Request(
            url, action, content=json.dumps(body) if body else None)

    with transport.get_transport_for(url, options=conf) as subscriber, \
            transport.get_transport_for(url, options=conf) as publisher:
        resp = subscriber.send(req('queue_create', queue_name=queue))
        assert resp.status_code == 201, resp.content
        resp = subscriber.send(req('subscription_create', queue_name=queue,
                                   ttl=600))
        assert resp.status_code == 201, resp.content
        subscription_id = resp.deserialized_content['subscription_id']

        body = {'event': 'hello', 'id': uuid.uuid4().hex}
        resp = publisher.send(req('message_post', queue_name=queue,
                                  messages=[{'body': body, 'ttl': 300}]))
        assert resp.status_code == 201, resp.content
        message_ids = resp.deserialized_content['message_ids']
        assert len(message_ids) == 1

        pushed = subscriber.recv()
        assert pushed['body'] == body
        assert pushed['ttl'] == 300
        assert pushed['queue_name'] == queue
        assert pushed['Message_Type'] == 'Notification'

        resp = publisher.send(req('queue_list', marker=queue[:-1], limit=20))
        assert resp.status_code == 200, resp.content
        assert queue in [q['name'] for q in
                         resp.deserialized_content['queues']]
        resp = publisher.send(req('subscription_list', queue_name=queue))
        assert [s['id'] for s in resp.deserialized_content[
            'subscriptions']] == [subscription_id]

        resp = publisher.send(req('message_delete_many', queue_name=queue,
                                  pop=1))
        assert resp.status_code == 200, resp.content
        popped = resp.deserialized_content['messages']
        assert [(m['id'], m['body']) for m in popped] == \
            [(message_ids[0], body)]
        resp = publisher.send(req('message_delete_many', queue_name=queue,
                                  pop=1))
        assert resp.deserialized_content['messages'] == []


def pipelined_flow(ws: WsClient, queue: str) -> None:
    """Three requests sent at once, without waiting: three replies, in
    the order of the requests, each run after the one before (the list
    sees the message the post made)."""
    body = {'pipelined': uuid.uuid4().hex}
    ws.send('queue_create', {'queue_name': queue})
    ws.send('message_post', {'queue_name': queue,
                             'messages': [{'body': body, 'ttl': 300}]})
    ws.send('message_list', {'queue_name': queue, 'echo': True})
    replies = [ws.reply() for _ in range(3)]
    assert [(r.request['action'], r.status) for r in replies] == [
        ('queue_create', 201), ('message_post', 201), ('message_list', 200)
    ], [r.body for r in replies]
    assert [m['body'] for m in replies[2].body['messages']] == [body]
    assert not ws.pushes


#: Payloads a Mistral execution posts to the TripleO queue, in order: one
#: of another execution (the CLI skips it), one of a sub-workflow of ours
#: (shown), the last one of ours (ends the wait).
def tripleo_payloads(execution_id: str) -> list[dict[str, Any]]:
    return [
        {'status': 'RUNNING', 'execution_id': uuid.uuid4().hex,
         'message': 'another execution'},
        {'status': 'RUNNING', 'execution_id': uuid.uuid4().hex,
         'root_execution_id': execution_id, 'message': 'a sub-workflow'},
        {'status': 'SUCCESS', 'execution_id': execution_id,
         'message': 'done'},
    ]


def post_tripleo_payloads(post: PostOverRest, queue: str,
                          payloads: list[dict[str, Any]]) -> None:
    """As Mistral's zaqar actions post them: one message each, the payload
    under ``payload`` beside the message type."""
    for payload in payloads:
        post(queue, [{'type': 'tripleo.test.v1.workflow', 'payload':
                      payload}])


def subscriptions(client: ApiClient, queue: str) -> list[dict[str, Any]]:
    """The queue's subscriptions, over REST."""
    resp = client.get(f'/v2/queues/{queue}/subscriptions')
    assert resp.status_code == 200, resp.text
    return resp.json()['subscriptions']


# -- auth off ---------------------------------------------------------------

def rest_poster(client: ApiClient) -> PostOverRest:
    def post(queue: str, bodies: list[Any]) -> None:
        client.post_messages(queue, *bodies, ttl=300)
    return post


def test_zaqarclient_ws_transport(ws_server: Server, client: ApiClient,
                                  bounded_websockets: None) -> None:
    zaqarclient_flow(ws_server.url, client.project_id, NO_TOKEN, 'zqc')
    # What the WebSocket server did, seen over REST: the queue is there,
    # emptied; the subscription went with its connection.
    assert client.stats('zqc')['total'] == 0
    eventually(lambda: not subscriptions(client, 'zqc'), TIMEOUT,
               'the subscription of the closed connection to go')


def test_zaqarclient_push_of_a_message_posted_over_rest(
        ws_server: Server, client: ApiClient,
        bounded_websockets: None) -> None:
    conf = {'auth_opts': {'backend': 'keystone', 'options': {
        'os_auth_token': NO_TOKEN, 'os_project_id': client.project_id}}}
    url = ws_server.url
    with transport.get_transport_for(url, options=conf) as subscriber:
        resp = subscriber.send(zaqar_request.Request(
            url, 'subscription_create',
            content=json.dumps({'queue_name': 'from-rest', 'ttl': 600})))
        assert resp.status_code == 201, resp.content
        client.post_messages('from-rest', {'over': 'rest'}, ttl=120)
        pushed = subscriber.recv()
    assert (pushed['body'], pushed['ttl'], pushed['queue_name']) == \
        ({'over': 'rest'}, 120, 'from-rest')


def test_tripleo_flow(ws_server: Server, client: ApiClient) -> None:
    """The TripleO CLI's WebsocketClient protocol, spoken with
    websocket-client as that class does (the class itself needs an
    osc-lib ClientManager logged in to Keystone: see the Keystone
    tests)."""
    queue = 'tripleo'
    execution_id = uuid.uuid4().hex
    ws = websocket.create_connection(ws_server.url, timeout=TIMEOUT)
    headers = {'Client-ID': str(uuid.uuid4()),
               'X-Project-ID': client.project_id}

    def send(action: str, body: dict[str, Any] | None = None,
             extra_headers: dict[str, str] | None = None) -> dict[str, Any]:
        message: dict[str, Any] = {'action': action, 'headers': {
            **headers, **(extra_headers or {})}}
        if body:
            message['body'] = body
        ws.send(json.dumps(message))
        reply = json.loads(ws.recv())
        assert reply['headers']['status'] in (200, 201, 204), reply
        return reply

    try:
        send('authenticate', extra_headers={'X-Auth-Token': NO_TOKEN})
        send('queue_create', {'queue_name': queue})
        send('subscription_create', {'queue_name': queue, 'ttl': 43200})
        payloads = tripleo_payloads(execution_id)
        post_tripleo_payloads(rest_poster(client), queue, payloads)
        received = []
        while not received or received[-1]['status'] == 'RUNNING':
            received.append(json.loads(ws.recv())['body']['payload'])
    finally:
        ws.close()
    assert received == payloads


def test_pipelined_requests(ws_server: Server, client: ApiClient) -> None:
    with WsClient(ws_server.url, project_id=client.project_id) as ws:
        pipelined_flow(ws, 'pipelined')
    assert client.stats('pipelined')['total'] == 1
