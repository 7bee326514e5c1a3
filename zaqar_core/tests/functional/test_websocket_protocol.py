"""The WebSocket protocol itself: the envelope, hostile input, ordering,
pushes (facts: zaqar-websocket-facts.md sections 2 and 5).

Nothing a client sends may close its connection or get a 5xx: every bad
frame gets a 400 reply in the envelope, and the connection keeps
working. The exceptions are the protocol's own: a frame over
``max_frame_size`` closes it with 1009, invalid UTF-8 in a text frame
with 1007 (RFC 6455). Replies come in request order, echo the request
(but its token), and never come between another request and its reply
as pushes could.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import re
import struct
import threading
import time
from collections.abc import Iterator
from typing import Any

import msgpack
import pytest
import requests
import websocket

from zaqar_testing.waiting import eventually

from .helpers import ApiClient
from .transports import MAX_FRAME
from .transports import Servers
from .transports import start_servers
from .wsclient import Reply
from .wsclient import WsClient

NO_REQUEST = {'action': None, 'body': {}, 'headers': {}, 'api': 'v2'}
CLOSE_TOO_BIG = 1009
CLOSE_INVALID_DATA = 1007
SUBSCRIBER = 'http://127.0.0.1:1/hook'


@pytest.fixture
def servers(make_server, make_ws_server,
            tmp_path_factory: pytest.TempPathFactory) -> Servers:
    return start_servers(make_server, make_ws_server, tmp_path_factory)


@pytest.fixture
def ws(servers: Servers) -> Iterator[WsClient]:
    with WsClient(servers.ws.url) as client:
        yield client


def rest_of(servers: Servers, ws: WsClient) -> ApiClient:
    """A REST client in the socket's project."""
    return ApiClient(servers.http.url, project_id=ws.project_id,
                     client_id=ws.client_id)


def envelope(ws: WsClient, action: Any, body: Any = None,
             **headers: Any) -> dict[str, Any]:
    document = {'action': action, 'headers': {**ws.headers, **headers}}
    if body is not None:
        document['body'] = body
    return document


def assert_alive(ws: WsClient) -> None:
    """The connection still serves requests."""
    reply = ws.call('queue_create', queue_name='alive')
    assert reply.status in (201, 204), reply
    reply = ws.call('queue_list', marker='aliv', limit=1)
    assert reply.status == 200, reply
    assert reply.body['queues'] == [{'name': 'alive'}], reply


def assert_refused(reply: Reply, description: str,
                   title: str | None = None) -> None:
    """A 400 reply whose description starts with ``description``."""
    assert reply.status == 400, reply
    body = reply.body
    assert set(body) == {'title', 'description', 'error'}, body
    assert body['description'].startswith(description), body
    assert body['error'] == body['description'], body
    if title is not None:
        assert body['title'] == title, body


def closed_with(ws: WsClient) -> int:
    """The code of the close frame the server sends next (a connection
    dropped without one fails the test)."""
    while True:
        opcode, data = ws.ws.recv_data()
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return struct.unpack('!H', data[:2])[0]


# -- hostile input: each class on its own -------------------------------

def _msgpack(document: Any) -> bytes:
    return msgpack.packb(document, use_bin_type=True)


def _deep(depth: int) -> Any:
    value: Any = 'bottom'
    for _ in range(depth):
        value = [value]
    return value


TEXT_DECODE = "Can't decode text (JSON) request"
BINARY_DECODE = "Can't decode binary (MessagePack) request"
NOT_AN_OBJECT = 'Unexpected body type. Expected dict or dict like.'
QUEUE_LIST = {'action': 'queue_list', 'headers': {}}

# id -> (frame, start of the description)
UNDECODABLE: dict[str, tuple[str | bytes, str]] = {
    'not-json': ('queue_list please', TEXT_DECODE),
    'bom': ('\ufeff' + json.dumps(QUEUE_LIST), TEXT_DECODE),
    'truncated-json': (json.dumps(QUEUE_LIST)[:-1], TEXT_DECODE),
    'json-nan': ('{"action": "queue_list", "body": {"limit": NaN}}',
                 TEXT_DECODE),
    'json-infinity': ('{"action": "queue_list", "x": 1e999}', TEXT_DECODE),
    'json-huge-int': ('{"action": "queue_list", "x": ' + str(2 ** 64) + '}',
                      TEXT_DECODE),
    'json-5000-digits': ('{"action": "queue_list", "x": ' + '9' * 5000 + '}',
                         TEXT_DECODE),
    'json-nested-65': (json.dumps({**QUEUE_LIST, 'x': _deep(65)}),
                       TEXT_DECODE),
    'json-nested-10000': ('{"x": ' + '[' * 10000 + ']' * 10000 + '}',
                          TEXT_DECODE),
    'json-lone-surrogate': (json.dumps({**QUEUE_LIST, 'body': {
        'marker': '\ud800'}}), TEXT_DECODE),
    'json-lone-surrogate-key': (json.dumps({**QUEUE_LIST, 'body': {
        'x\udfff': 1}}), TEXT_DECODE),
    'json-lone-surrogate-in-message': (json.dumps({
        'action': 'message_post', 'body': {'queue_name': 'q', 'messages': [
            {'body': ['fine \ud83d\ude00', 'not \udc00']}]}}),
        TEXT_DECODE),
    'msgpack-invalid': (b'\xc1', BINARY_DECODE),
    'msgpack-truncated': (_msgpack(QUEUE_LIST)[:-2], BINARY_DECODE),
    'msgpack-extra-data': (_msgpack(QUEUE_LIST) + b'\x00', BINARY_DECODE),
    'msgpack-bin': (_msgpack({**QUEUE_LIST, 'body': {'marker': b'q'}}),
                    BINARY_DECODE),
    'msgpack-ext': (_msgpack({**QUEUE_LIST, 'x': msgpack.ExtType(5, b'x')}),
                    BINARY_DECODE),
    'msgpack-timestamp': (_msgpack({**QUEUE_LIST,
                                    'x': msgpack.Timestamp(0)}),
                          BINARY_DECODE),
    'msgpack-nan': (_msgpack({**QUEUE_LIST, 'x': math.nan}), BINARY_DECODE),
    'msgpack-infinity': (_msgpack({**QUEUE_LIST, 'x': -math.inf}),
                         BINARY_DECODE),
    'msgpack-uint64': (_msgpack({**QUEUE_LIST, 'x': 2 ** 64 - 1}),
                       BINARY_DECODE),
    'msgpack-int-key': (_msgpack({**QUEUE_LIST, 1: 'one'}), BINARY_DECODE),
    'msgpack-bin-key': (_msgpack({b'action': 'queue_list'}), BINARY_DECODE),
    'msgpack-bin-key-in-body': (_msgpack({
        'action': 'message_post', 'body': {'queue_name': 'q', 'messages': [
            {'body': {b'key': 1}}]}}), BINARY_DECODE),
    'msgpack-nested-65': (_msgpack({**QUEUE_LIST, 'x': _deep(65)}),
                          BINARY_DECODE),
    'msgpack-nested-5000': (b'\x91' * 5000 + b'\xc0', BINARY_DECODE),
    'msgpack-invalid-utf8': (b'\x81\xa6action\xa2\xff\xfe', BINARY_DECODE),
    'not-an-object-array': ('[]', NOT_AN_OBJECT),
    'not-an-object-string': ('"queue_list"', NOT_AN_OBJECT),
    'not-an-object-number': ('42', NOT_AN_OBJECT),
    'not-an-object-null': ('null', NOT_AN_OBJECT),
    'msgpack-not-a-map': (_msgpack(['queue_list']), NOT_AN_OBJECT),
    'msgpack-not-a-map-int': (_msgpack(7), NOT_AN_OBJECT),
}


@pytest.mark.parametrize(('frame', 'description'), [
    pytest.param(*value, id=key) for key, value in UNDECODABLE.items()])
def test_undecodable_frame_is_400_and_connection_stays(
        ws: WsClient, frame: str | bytes, description: str) -> None:
    ws.send_raw(frame)
    reply = ws.reply()
    assert_refused(reply, description)
    # Nothing of the request could be read: nothing is echoed.
    assert reply.request == NO_REQUEST
    # A binary frame gets a MessagePack reply, a text frame JSON.
    assert reply.binary is isinstance(frame, bytes)
    assert_alive(ws)


@pytest.mark.parametrize('binary', [False, True], ids=['text', 'binary'])
@pytest.mark.parametrize(('document', 'title', 'description'), [
    pytest.param({'headers': {}}, 'Invalid action',
                 'None is not a valid action', id='no-action'),
    pytest.param({'action': 'frobnicate'}, 'Invalid action',
                 'frobnicate is not a valid action', id='unknown-action'),
    pytest.param({'action': 'pool_list'}, 'Invalid action',
                 'pool_list is not a valid action', id='pool-action'),
    pytest.param({'action': 5}, 'Invalid action', '5 is not a valid action',
                 id='int-action'),
    pytest.param({'action': ['queue_list']}, 'Invalid action',
                 "['queue_list'] is not a valid action", id='list-action'),
    pytest.param({'action': 'queue_list', 'headers': ['Client-ID']},
                 'Invalid request', '"headers" must be an object.',
                 id='headers-not-object'),
    pytest.param({'action': 'queue_list', 'body': 'limit=2'},
                 'Invalid request', '"body" must be an object.',
                 id='body-not-object'),
    pytest.param({'action': 'queue_list', 'body': [{'limit': 2}]},
                 'Invalid request', '"body" must be an object.',
                 id='body-array'),
])
def test_bad_envelope_is_400(ws: WsClient, document: dict, title: str,
                             description: str, binary: bool) -> None:
    document = {'headers': ws.headers, **document}
    ws.send_document(document, binary)
    reply = ws.reply()
    assert_refused(reply, description, title)
    assert reply.binary is binary
    # What could be read is echoed: the action, as sent.
    assert reply.request['action'] == document.get('action')
    assert_alive(ws)


@pytest.mark.parametrize(('action', 'body', 'title', 'description'), [
    pytest.param('queue_list', {'bogus': 1}, 'Invalid request body',
                 'Unknown field(s) for queue_list: bogus.',
                 id='unknown-key'),
    pytest.param('message_list', {'queue_name': 'q', 'colour': 'red',
                                  'size': 2}, 'Invalid request body',
                 'Unknown field(s) for message_list: colour, size.',
                 id='unknown-keys'),
    pytest.param('queue_create', {'queue_name': 'q', 'ttl': 60},
                 'Invalid request body',
                 'Unknown field(s) for queue_create: ttl.',
                 id='unknown-key-beside-document'),
    pytest.param('queue_list', {'limit': 'ten'}, 'Invalid parameter',
                 'The value of the "limit" parameter must be an integer.',
                 id='limit-string'),
    pytest.param('queue_list', {'limit': True}, 'Invalid parameter',
                 'The value of the "limit" parameter must be an integer.',
                 id='limit-bool'),
    pytest.param('queue_list', {'limit': 2 ** 63 - 1}, 'Invalid API request',
                 'Limit must be at least 1 and no greater than 20.',
                 id='limit-huge'),
    pytest.param('queue_list', {'marker': {'name': 'q'}},
                 'Invalid parameter',
                 'The value of the "marker" parameter must be a string.',
                 id='marker-object'),
    pytest.param('message_list', {'queue_name': 'q', 'echo': [True]},
                 'Invalid parameter',
                 'The value of the "echo" parameter must be a boolean.',
                 id='echo-list'),
    pytest.param('message_get', {'queue_name': 5, 'message_id': 'm'},
                 'Invalid parameter',
                 'The value of the "queue_name" parameter must be a '
                 'non-empty string without "/".', id='queue-name-int'),
    pytest.param('message_get', {'queue_name': 'q', 'message_id': None},
                 'Missing parameter', 'Missing "message_id".',
                 id='message-id-null'),
    pytest.param('message_get', {'queue_name': 'q'}, 'Missing parameter',
                 'Missing "message_id".', id='message-id-missing'),
    pytest.param('message_get_many', {'queue_name': 'q',
                                      'message_ids': [1, 2]},
                 'Invalid parameter',
                 'The value of the "message_ids" parameter must be a list '
                 'of strings.', id='message-ids-ints'),
    pytest.param('message_delete_many', {'queue_name': 'q',
                                         'message_ids': {'a': 1}},
                 'Invalid parameter',
                 'The value of the "message_ids" parameter must be a list '
                 'of strings.', id='message-ids-object'),
    pytest.param('message_post', {'queue_name': 'q',
                                  'messages': [{'body': 1, 'ttl': 60.5}]},
                 'Invalid request body',
                 'The value of the "ttl" field must be a int.',
                 id='ttl-float'),
    pytest.param('claim_create', {'queue_name': 'q', 'grace': '60'},
                 'Invalid request body',
                 'The value of the "grace" field must be a int.',
                 id='grace-string'),
    pytest.param('queue_create', {'queue_name': 'q', 'metadata': 'big'},
                 'Invalid request body',
                 'Queue metadata must be a JSON object.',
                 id='metadata-string'),
    pytest.param('queue_purge', {'queue_name': 'q',
                                 'resource_types': 'messages'},
                 'Invalid API request', 'Resource types must be a sub set',
                 id='resource-types-string'),
    pytest.param('subscription_create', {'queue_name': 'q',
                                         'ttl': 'forever'},
                 'Invalid API request', 'TTL must be an integer.',
                 id='subscription-ttl-string'),
])
def test_bad_body_is_400_naming_the_field(ws: WsClient, action: str,
                                          body: dict, title: str,
                                          description: str) -> None:
    reply = ws.request(action, body)
    assert_refused(reply, description, title)
    assert reply.request == {'action': action, 'body': body,
                             'headers': ws.headers, 'api': 'v2'}
    assert_alive(ws)


def test_body_over_the_post_size_limit_is_400(ws: WsClient) -> None:
    # 300 KB: over max_messages_post_size (256 KiB), under the frame limit.
    big = 'x' * (300 * 1024)
    reply = ws.call('message_post', queue_name='big',
                    messages=[{'body': big}])
    assert_refused(reply, 'Message collection size is too large. Max size '
                          '262144')
    assert ws.call('queue_get_stats', queue_name='big').body == {
        'messages': {'claimed': 0, 'free': 0, 'total': 0}}
    assert_alive(ws)


def test_metadata_over_its_limit_is_400(ws: WsClient) -> None:
    reply = ws.call('queue_create', queue_name='fat',
                    metadata={'k': 'x' * 70000})
    assert_refused(reply, 'Queue metadata is too large. Max size: 65536')
    assert_alive(ws)


def test_invalid_utf8_in_a_text_frame_closes_with_1007(ws: WsClient
                                                       ) -> None:
    # RFC 6455 8.1: the endpoint MUST fail the connection (1007); it is a
    # clean close, not a drop.
    ws.ws.send(b'{"action": "queue_list", "x": "\xff\xfe"}',
               opcode=websocket.ABNF.OPCODE_TEXT)
    assert closed_with(ws) == CLOSE_INVALID_DATA


def _frame_of_size(ws: WsClient, size: int, binary: bool) -> bytes | str:
    """A message_post request of exactly ``size`` bytes."""
    def encode(pad: int) -> bytes:
        document = envelope(ws, 'message_post', {
            'queue_name': 'huge', 'messages': [{'body': 'x' * pad}]})
        return _msgpack(document) if binary else \
            json.dumps(document).encode()
    pad = size - 1000
    pad += size - len(encode(pad))
    frame = encode(pad)
    assert len(frame) == size
    return frame if binary else frame.decode()


@pytest.mark.parametrize('binary', [False, True], ids=['text', 'binary'])
def test_frame_over_max_frame_size_closes_with_1009(ws: WsClient,
                                                    binary: bool) -> None:
    # The documented exception: what the server will not even read. Up
    # to the limit, the API refuses the request (over its own limits)
    # and the connection stays.
    ws.send_raw(_frame_of_size(ws, MAX_FRAME, binary))
    assert_refused(ws.reply(), 'Message collection size is too large')
    assert_alive(ws)
    ws.send_raw(_frame_of_size(ws, MAX_FRAME + 1, binary))
    assert closed_with(ws) == CLOSE_TOO_BIG


# -- the envelope: framing, echo, order ---------------------------------

@pytest.mark.parametrize('binary', [False, True], ids=['text', 'binary'])
def test_reply_uses_the_request_framing(ws: WsClient, binary: bool) -> None:
    reply = ws.request('queue_list', {}, binary=binary)
    assert reply.status == 200
    assert reply.binary is binary
    # Each frame on its own: the next one may use the other framing.
    reply = ws.request('queue_list', {}, binary=not binary)
    assert reply.binary is not binary


@pytest.mark.parametrize('binary', [False, True], ids=['text', 'binary'])
def test_reply_echoes_the_request_but_secrets(ws: WsClient,
                                              binary: bool) -> None:
    headers = {**ws.headers, 'X-Seq': '7', 'X-Auth-Token': 'secret-token',
               'x-auth-token': 'another', 'User-Agent': 'tests',
               'X-Count': 3}
    body = {'queue_name': 'echoed', 'limit': 1, 'echo': True}
    reply = ws.request('message_list', body, headers=headers, binary=binary)
    assert reply.status == 200, reply
    expected = {k: v for k, v in headers.items()
                if k.lower() != 'x-auth-token'}
    assert reply.request == {'action': 'message_list', 'body': body,
                             'headers': expected, 'api': 'v2'}
    # Errors echo the request too.
    reply = ws.request('message_list', {'queue_name': 'echoed', 'limit': 0},
                       headers=headers, binary=binary)
    assert reply.status == 400
    assert reply.request['headers'] == expected
    assert reply.request['body'] == {'queue_name': 'echoed', 'limit': 0}


def test_reply_without_body_echoes_an_empty_one(ws: WsClient) -> None:
    ws.send_document({'action': 'queue_list', 'headers': ws.headers})
    reply = ws.reply()
    assert reply.status == 200
    assert reply.request == {'action': 'queue_list', 'body': {},
                             'headers': ws.headers, 'api': 'v2'}


def send_at_once(ws: WsClient, frames: list[str | bytes]) -> None:
    """Send ``frames`` in one write: they reach the server together."""
    data = b''.join(websocket.ABNF.create_frame(
        frame, websocket.ABNF.OPCODE_BINARY if isinstance(frame, bytes)
        else websocket.ABNF.OPCODE_TEXT).format() for frame in frames)
    ws.ws.sock.sendall(data)


def encode(document: Any, binary: bool) -> str | bytes:
    return _msgpack(document) if binary else json.dumps(document)


def _pipeline(ws: WsClient, count: int) -> list[tuple[str, Reply]]:
    """Send ``count`` requests at once, then read the replies; each
    request has its own X-Seq, some fail, framings alternate."""
    frames = []
    for seq in range(count):
        headers = {**ws.headers, 'X-Seq': str(seq)}
        if seq % 3 == 0:
            action, body = 'queue_create', {'queue_name': f'p{seq}'}
        elif seq % 3 == 1:
            action, body = 'message_post', {'queue_name': 'p', 'messages': [
                {'body': seq}]}
        else:
            action, body = 'queue_list', {'limit': 0}  # a 400
        frames.append(encode({'action': action, 'headers': headers,
                              'body': body}, binary=seq % 2 == 1))
    send_at_once(ws, frames)
    return [(str(seq), ws.reply()) for seq in range(count)]


@pytest.mark.parametrize('count', [3, 50])
def test_pipelined_requests_are_answered_in_order(ws: WsClient,
                                                  count: int) -> None:
    answered = _pipeline(ws, count)
    for seq, reply in answered:
        assert reply.request['headers']['X-Seq'] == seq
        assert reply.binary is (int(seq) % 2 == 1)
        assert reply.status == {0: 201, 1: 201, 2: 400}[int(seq) % 3], reply
    # The posts ran in order too.
    listed = ws.call('message_list', queue_name='p', echo=True, limit=20)
    bodies = [m['body'] for m in listed.body['messages']]
    assert bodies == [seq for seq in range(count) if seq % 3 == 1][:20]


def test_authenticate_with_auth_off_is_200(ws: WsClient) -> None:
    reply = ws.request('authenticate', {}, headers={
        **ws.headers, 'X-Auth-Token': 'anything'})
    assert reply.status == 200, reply
    assert reply.body == {'message': 'Authenticated.'}
    assert 'X-Auth-Token' not in reply.request['headers']
    assert_alive(ws)


@pytest.mark.parametrize('project', ['p\x1ftopics', 'p\n', 'p' * 257])
def test_project_id_that_is_no_project_id_is_400(ws: WsClient,
                                                 project: str) -> None:
    # The topics of project p live in its scope "p\x1ftopics": no client
    # may name it (nor any project id REST could not carry).
    reply = ws.request('queue_list', {}, headers={**ws.headers,
                                                  'X-Project-ID': project})
    assert_refused(reply, 'The format of the submitted queue name or '
                          'project id is not valid.',
                   'Invalid queue identification')
    assert_alive(ws)


def test_plain_http_gets_an_http_answer(servers: Servers) -> None:
    url = servers.ws.url.replace('ws://', 'http://', 1) + '/'
    resp = requests.get(url, timeout=10)
    assert resp.status_code == 426, (resp.status_code, resp.text)
    assert resp.headers.get('Upgrade', '').lower() == 'websocket'


# -- pushes ----------------------------------------------------------------

WS_SUBSCRIBER = re.compile(r'ws://([0-9a-f]{32})/([0-9a-f]{32})')


def next_frame(ws: WsClient, timeout: float = 15) -> tuple[Any, bool]:
    """The next frame: (its document, whether it was binary)."""
    ws.ws.settimeout(timeout)
    try:
        opcode, data = ws.ws.recv_data()
    finally:
        ws.ws.settimeout(30)
    if opcode == websocket.ABNF.OPCODE_BINARY:
        return msgpack.unpackb(data), True
    assert opcode == websocket.ABNF.OPCODE_TEXT, opcode
    return json.loads(data), False


def next_push(ws: WsClient, timeout: float = 15) -> tuple[Any, bool]:
    """The next frame, a push: (its document, whether it was binary)."""
    assert not ws.pushes, ws.pushes
    push, binary = next_frame(ws, timeout)
    assert 'request' not in push, push
    return push, binary


def no_more_pushes(ws: WsClient, wait: float = 1.0) -> None:
    """Nothing else comes for ``wait`` seconds."""
    assert not ws.pushes, ws.pushes
    with pytest.raises(websocket.WebSocketTimeoutException):
        next_push(ws, wait)


def subscribe(ws: WsClient, queue: str, binary: bool = False,
              action: str = 'subscription_create') -> str:
    reply = ws.request(action, {'queue_name': queue, 'ttl': 600},
                       binary=binary)
    assert reply.status == 201, reply
    return reply.body['subscription_id']


def subscriptions(rest: ApiClient, queue: str, kind: str = 'queues'
                  ) -> list[dict[str, Any]]:
    # One page of the most a page holds (tests make at most 16).
    resp = rest.get(f'/v2/{kind}/{queue}/subscriptions',
                    params={'limit': 20})
    assert resp.status_code == 200, resp.text
    return resp.json()['subscriptions']


def test_pushes_keep_the_order_of_posts_whichever_process_takes_them(
        servers: Servers, ws: WsClient) -> None:
    """Consecutive posts, each on a connection of its own, so that the
    HTTP server's processes take them as the kernel spreads connections:
    each post's notification is queued before its answer, so the
    subscriber gets them in posting order."""
    subscribe(ws, 'ordered')
    posts = 30
    for n in range(posts):
        poster = rest_of(servers, ws)
        poster.post_messages('ordered', n, ttl=120)
        poster.session.close()
    assert [next_push(ws)[0]['body'] for _ in range(posts)] == \
        list(range(posts))


@pytest.mark.parametrize('binary', [False, True], ids=['text', 'binary'])
def test_push_is_the_notification_in_the_subscribing_framing(
        servers: Servers, ws: WsClient, binary: bool) -> None:
    subscribe(ws, 'pushed', binary=binary)
    rest_of(servers, ws).post_messages('pushed', {'n': [1, 'two']}, ttl=120)
    assert next_push(ws) == ({'body': {'n': [1, 'two']}, 'ttl': 120,
                              'queue_name': 'pushed',
                              'Message_Type': 'Notification'}, binary)


def test_push_of_a_delayed_queue_says_the_delay(servers: Servers,
                                                ws: WsClient) -> None:
    rest = rest_of(servers, ws)
    rest.create_queue('later', {'_default_message_delay': 30})
    subscribe(ws, 'later')
    rest.post_messages('later', 'soon', ttl=300, delay=5)
    rest.post_messages('later', 'default', ttl=300)
    pushes = sorted([next_push(ws)[0], next_push(ws)[0]],
                    key=lambda push: push['delay'])
    assert pushes == [
        {'body': 'soon', 'ttl': 300, 'delay': 5, 'queue_name': 'later',
         'Message_Type': 'Notification'},
        {'body': 'default', 'ttl': 300, 'delay': 30, 'queue_name': 'later',
         'Message_Type': 'Notification'}]


def test_push_of_a_topic(servers: Servers, ws: WsClient) -> None:
    subscribe(ws, 'news', action='topic_subscription_create')
    rest = rest_of(servers, ws)
    # The queue of the same name is another resource: nothing pushed.
    rest.post_messages('news', 'to the queue')
    resp = rest.post('/v2/topics/news/messages',
                     json={'messages': [{'body': 'to the topic',
                                         'ttl': 90}]})
    assert resp.status_code == 201, resp.text
    assert next_push(ws)[0] == {'body': 'to the topic', 'ttl': 90,
                                'queue_name': 'news',
                                'Message_Type': 'Notification'}
    no_more_pushes(ws)
    [listed] = subscriptions(rest, 'news', 'topics')
    assert WS_SUBSCRIBER.fullmatch(listed['subscriber']), listed
    assert subscriptions(rest, 'news') == []


def test_a_connection_subscribes_once_per_queue(ws: WsClient) -> None:
    subscribe(ws, 'once')
    again = ws.call('subscription_create', queue_name='once', ttl=600)
    assert again.status == 409, again
    assert again.body['title'] == 'Resource conflict'
    subscribe(ws, 'other')
    # Another connection may subscribe to the same queue.
    with WsClient(ws.url, project_id=ws.project_id) as second:
        subscribe(second, 'once')


def test_a_subscriber_named_over_websocket_is_a_plain_subscription(
        servers: Servers, ws: WsClient) -> None:
    reply = ws.call('subscription_create', queue_name='hooked',
                    subscriber=SUBSCRIBER, ttl=600, options={'k': 'v'})
    assert reply.status == 201, reply
    rest = rest_of(servers, ws)
    [listed] = subscriptions(rest, 'hooked')
    assert listed['id'] == reply.body['subscription_id']
    assert {k: v for k, v in listed.items() if k not in ('id', 'age')} == {
        'source': 'hooked', 'subscriber': SUBSCRIBER, 'ttl': 600,
        'options': {'k': 'v'}, 'confirmed': False}
    # The connection itself is not subscribed.
    rest.post_messages('hooked', 'for the hook')
    no_more_pushes(ws)
    # Nor can it name itself (or any ws:// URI) as the subscriber.
    reply = ws.call('subscription_create', queue_name='hooked',
                    subscriber=listed['subscriber'].replace('http', 'ws'))
    assert reply.status == 400, reply


def test_subscription_lives_with_the_connection(servers: Servers) -> None:
    rest = servers.http.client()
    ws = WsClient(servers.ws.url, project_id=rest.project_id)
    try:
        first = subscribe(ws, 'a')
        second = subscribe(ws, 'b')
        [on_a] = subscriptions(rest, 'a')
        [on_b] = subscriptions(rest, 'b')
        assert (on_a['id'], on_b['id']) == (first, second)
        # One subscriber URI per connection: ws://<process>/<connection>.
        assert on_a['subscriber'] == on_b['subscriber']
        assert WS_SUBSCRIBER.fullmatch(on_a['subscriber']), on_a
        assert on_a['confirmed'] is True
        assert 0 < on_a['ttl'] <= 600
    finally:
        ws.close()
    eventually(lambda: not subscriptions(rest, 'a') and
               not subscriptions(rest, 'b'), 5,
               what='the subscriptions of a closed connection to go')


def test_rest_delete_of_the_subscription_stops_pushes(servers: Servers,
                                                      ws: WsClient) -> None:
    rest = rest_of(servers, ws)
    subscription_id = subscribe(ws, 'stop')
    resp = rest.delete(f'/v2/queues/stop/subscriptions/{subscription_id}')
    assert resp.status_code == 204
    assert subscriptions(rest, 'stop') == []
    rest.post_messages('stop', 'not pushed')
    # A push posted after it comes; the one before it never does.
    subscribe(ws, 'go')
    rest.post_messages('go', 'pushed')
    assert next_push(ws)[0]['body'] == 'pushed'
    no_more_pushes(ws)
    # Nor is it renewed behind the client's back.
    assert subscriptions(rest, 'stop') == []


def test_posts_over_http_reach_sockets_of_every_worker(
        servers: Servers) -> None:
    # The WebSocket server runs two worker processes; each socket's
    # subscriber URI names its process.
    rest = servers.http.client()
    sockets: list[WsClient] = []
    try:
        nodes: set[str] = set()
        while len(nodes) < 2 and len(sockets) < 16:
            client = WsClient(servers.ws.url, project_id=rest.project_id)
            sockets.append(client)
            subscribe(client, 'fan')
            nodes = {WS_SUBSCRIBER.fullmatch(s['subscriber']).group(1)
                     for s in subscriptions(rest, 'fan')}
        assert len(nodes) == 2, 'every socket went to one worker'
        assert len(subscriptions(rest, 'fan')) == len(sockets)
        rest.post_messages('fan', 'one', 'two')
        for client in sockets:
            got = sorted(next_push(client)[0]['body'] for _ in range(2))
            assert got == ['one', 'two']
    finally:
        for client in sockets:
            client.close()


def _batch(ws: WsClient, pushed: list[Any]) -> None:
    """Five requests sent at once: their replies come in order, and no
    push comes among them (one before the first reply is kept)."""
    send_at_once(ws, [encode(envelope(
        ws, 'queue_get_stats', {'queue_name': 'other'},
        **{'X-Seq': str(seq)}), binary=False) for seq in range(5)])
    replies = 0
    while replies < 5:
        frame, _ = next_frame(ws)
        if 'request' in frame:
            assert frame['request']['headers']['X-Seq'] == str(replies), \
                frame
            replies += 1
        else:
            # Sent before the server read the batch.
            assert replies == 0, ('a push between replies', frame)
            pushed.append(frame['body'])


def test_no_push_between_a_request_and_its_reply(servers: Servers,
                                                 ws: WsClient) -> None:
    # Messages are posted over HTTP while the socket sends batches of
    # requests, and reads a few pushes between batches.
    subscribe(ws, 'busy')
    rest = rest_of(servers, ws)
    posts = 30
    poster = threading.Thread(target=lambda: [
        rest.post_messages('busy', n) for n in range(posts)])
    poster.start()
    pushed: list[Any] = []
    batches = 0
    try:
        while len(pushed) < posts and batches < 200:
            batches += 1
            _batch(ws, pushed)
            with contextlib.suppress(websocket.WebSocketTimeoutException):
                for _ in range(3):
                    if len(pushed) < posts:
                        pushed.append(next_push(ws, 0.5)[0]['body'])
    finally:
        poster.join()
    assert sorted(pushed) == list(range(posts))


@pytest.mark.parametrize('backend', ['sqlite'], indirect=True)
def test_pushes_reach_a_client_that_never_pauses(servers: Servers,
                                                 ws: WsClient) -> None:
    # As python-zaqarclient polls: each request as soon as the reply to
    # the one before is in.
    subscribe(ws, 'starved')
    rest_of(servers, ws).post_messages('starved', *range(5))
    pushed: list[Any] = []
    # Pushes held past a second go out between two replies.
    deadline = time.monotonic() + 20
    while len(pushed) < 5 and time.monotonic() < deadline:
        assert ws.call('queue_get_stats', queue_name='other').status == 200
        pushed += [push['body'] for push in ws.pushes]
        ws.pushes.clear()
    assert sorted(pushed) == list(range(5))


# -- the fuzzer -------------------------------------------------------------

FUZZ_SEED = 20261204
FUZZ_FRAMES = 2000
FUZZ_PIPELINE = 4
# The queue the fuzzer's subscriptions are on: it posts to others, so
# that nothing is ever delivered to the subscribers it makes.
F = {'queue_name': 'fz'}
FS = {'queue_name': 'fs'}
TEMPLATES: list[tuple[str, dict[str, Any]]] = [
    ('queue_list', {'limit': 2, 'detailed': True, 'marker': 'a'}),
    ('queue_create', {**F, 'metadata': {'k': [1, 'v'],
                                        '_default_message_ttl': 120}}),
    ('queue_get', F),
    ('queue_update', {**F, 'patch': [
        {'op': 'add', 'path': '/metadata/k', 'value': 2}]}),
    ('queue_delete', {'queue_name': 'gone'}),
    ('queue_get_stats', F),
    ('queue_purge', {**F, 'resource_types': ['messages']}),
    ('queue_share', {**F, 'paths': ['messages'], 'methods': ['GET'],
                     'expires': '2099-01-01T00:00:00'}),
    ('message_post', {**F, 'messages': [
        {'body': {'event': 'x', 'n': [1, 2.5, None]}, 'ttl': 300},
        {'body': 'text', 'delay': 0}]}),
    ('message_list', {**F, 'limit': 5, 'echo': True,
                      'include_claimed': True, 'include_delayed': False}),
    ('message_get', {**F, 'message_id': '1'}),
    ('message_get_many', {**F, 'message_ids': ['1', '2']}),
    ('message_delete', {**F, 'message_id': '1', 'claim_id': 'c'}),
    ('message_delete_many', {**F, 'message_ids': ['1']}),
    ('message_delete_many', {**F, 'pop': 2}),
    ('claim_create', {**F, 'limit': 2, 'ttl': 60, 'grace': 60}),
    ('claim_get', {**F, 'claim_id': 'c'}),
    ('claim_update', {**F, 'claim_id': 'c', 'ttl': 60, 'grace': 60}),
    ('claim_delete', {**F, 'claim_id': 'c'}),
    ('subscription_create', {**FS, 'subscriber': SUBSCRIBER, 'ttl': 3600,
                             'options': {'k': 'v'}}),
    ('subscription_create', {**FS, 'ttl': 600}),
    ('subscription_list', {**FS, 'limit': 2}),
    ('subscription_get', {**FS, 'subscription_id': 's'}),
    ('subscription_update', {**FS, 'subscription_id': 's', 'ttl': 600}),
    ('subscription_delete', {**FS, 'subscription_id': 's'}),
    ('subscription_confirm', {**FS, 'subscription_id': 's',
                              'confirmed': True}),
    ('topic_create', {'queue_name': 'ft'}),
    ('topic_message_post', {'queue_name': 'ft', 'messages': [
        {'body': 1}]}),
    ('topic_message_list', {'queue_name': 'ft', 'echo': True}),
    ('topic_list', {}),
    ('get_versions', {}),
    ('get_home_doc', {}),
    ('ping_node', {}),
    ('authenticate', {}),
]
_SURROGATES = re.compile('[\ud800-\udfff]')
ACTION_NAMES = [name for name, _ in TEMPLATES] + [
    'frobnicate', '', 'QUEUE_LIST', 'pool_list', 'flavor_create']
KEYS = ['queue_name', 'action', 'headers', 'body', 'limit', 'marker',
        'messages', 'message_ids', 'ids', 'claim_id', 'ttl', 'grace',
        'delay', 'echo', 'metadata', 'patch', 'subscriber', 'options',
        'Client-ID', 'X-Project-ID', 'X-Roles', '', 'é', 'k' * 300]


class Fuzzer:
    """Frames made from valid requests by a few random mutations each
    (values, types, keys, nesting), encoded either way, sometimes with
    their bytes or characters damaged."""

    def __init__(self, seed: int, headers: dict[str, str]) -> None:
        self.rng = random.Random(seed)
        self.headers = headers

    def frame(self) -> str | bytes:
        rng = self.rng
        binary = rng.random() < 0.5
        if rng.random() < 0.03:
            return self._noise(binary)
        action, body = rng.choice(TEMPLATES)
        document: Any = {'action': action, 'headers': dict(self.headers),
                         'body': json.loads(json.dumps(body))}
        # Some frames stay valid: they make the state (messages, claims)
        # that the others then hit.
        for _ in range(rng.choice([0, 1, 1, 1, 2, 3])):
            document = self._mutate(document, binary)
        try:
            encoded: str | bytes = _msgpack(document) if binary else \
                json.dumps(document, ensure_ascii=rng.random() < 0.5)
            if isinstance(encoded, str) and _SURROGATES.search(encoded):
                # Only escaped can lone surrogates go in a text frame.
                encoded = json.dumps(document)
        except (TypeError, ValueError, OverflowError):
            return self.frame()  # not encodable that way: another one
        if rng.random() < 0.1:
            encoded = self._damage(encoded)
        return encoded

    def _noise(self, binary: bool) -> str | bytes:
        size = self.rng.randint(0, 200)
        if binary:
            return self.rng.randbytes(size)
        return ''.join(self._char() for _ in range(size))

    def _char(self) -> str:
        rng = self.rng
        if rng.random() < 0.7:
            return chr(rng.randint(32, 126))
        code = rng.randint(0, 0x10FFFF)
        # No lone surrogates: a text frame must be UTF-8 (RFC 6455).
        return chr(code) if not 0xD800 <= code <= 0xDFFF else '\ufffd'

    def _string(self) -> str:
        rng = self.rng
        return rng.choice([
            '', 'fz', 'q' * 65, 'bad name', '12', '-1', 'true', 'null',
            '/v2/queues', 'ws://0/0', SUBSCRIBER, '\x00', '🙂',
            'lone \ud800', '\udfff',
            'x' * rng.randint(100, 5000),
            ''.join(self._char() for _ in range(rng.randint(1, 20)))])

    def _value(self, binary: bool, depth: int = 0) -> Any:
        rng = self.rng
        kinds = ['none', 'bool', 'int', 'float', 'str', 'str', 'list',
                 'dict']
        if binary:
            kinds += ['bytes', 'ext']
        kind = rng.choice(kinds)
        if kind == 'none':
            return None
        if kind == 'bool':
            return rng.random() < 0.5
        if kind == 'int':
            return rng.choice([0, 1, -1, 20, 21, 59, 60, 43201, 2 ** 31,
                               2 ** 63 - 1, -2 ** 63, 2 ** 63, 2 ** 64,
                               rng.randint(-10 ** 6, 10 ** 6)])
        if kind == 'float':
            return rng.choice([0.5, -0.0, 60.0, 1e308, -1e-308, math.nan,
                               math.inf])
        if kind == 'str':
            return self._string()
        if kind == 'bytes':
            return rng.randbytes(rng.randint(0, 20))
        if kind == 'ext':
            return msgpack.ExtType(rng.randint(0, 127), b'x')
        if depth > 2:
            return None
        if kind == 'list':
            return [self._value(binary, depth + 1)
                    for _ in range(rng.randint(0, 3))]
        return {rng.choice(KEYS): self._value(binary, depth + 1)
                for _ in range(rng.randint(0, 3))}

    def _mutate(self, document: Any, binary: bool) -> Any:
        rng = self.rng
        places = list(_places(document))
        if not places or rng.random() < 0.02:
            return self._value(binary)  # a whole other document
        container, key = rng.choice(places)
        how = rng.choice(['value', 'value', 'delete', 'add', 'rename',
                          'wrap', 'deepen', 'retype', 'action'])
        if how == 'action' and isinstance(document, dict):
            document['action'] = rng.choice(ACTION_NAMES)
        elif how == 'delete':
            del container[key]
        elif how == 'add':
            target = container[key] if isinstance(
                container[key], dict | list) else container
            if isinstance(target, dict):
                target[rng.choice(KEYS)] = self._value(binary)
            else:
                target.append(self._value(binary))
        elif how == 'rename' and isinstance(container, dict):
            container[rng.choice(KEYS)] = container.pop(key)
        elif how == 'wrap':
            container[key] = rng.choice([[container[key]],
                                         {'x': container[key]}])
        elif how == 'deepen':
            container[key] = _deep(rng.randint(55, 75))
        elif how == 'retype':
            value = container[key]
            container[key] = str(value) if not isinstance(value, str) \
                else (int(value) if value.lstrip('-').isdigit()
                      else [value])
        else:
            container[key] = self._value(binary)
        return document

    def _damage(self, frame: str | bytes) -> str | bytes:
        rng = self.rng
        at = rng.randint(0, len(frame))
        if isinstance(frame, bytes):
            junk = rng.randbytes(rng.randint(1, 4))
        else:
            junk = ''.join(self._char() for _ in range(rng.randint(1, 4)))
        how = rng.choice(['insert', 'replace', 'truncate'])
        if how == 'truncate':
            return frame[:at]
        if how == 'insert':
            return frame[:at] + junk + frame[at:]
        return frame[:at] + junk + frame[at + len(junk):]


def _places(document: Any) -> Iterator[tuple[Any, Any]]:
    """Every (container, key or index) in ``document``."""
    if isinstance(document, dict):
        for key, value in document.items():
            yield document, key
            yield from _places(value)
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield document, index
            yield from _places(value)


def assert_envelope(frame: Any, binary: bool, sent_binary: bool) -> int:
    """Check a reply's envelope; its status."""
    assert binary is sent_binary, frame
    assert isinstance(frame, dict) and set(frame) == {
        'request', 'body', 'headers'}, frame
    request = frame['request']
    assert set(request) == {'action', 'body', 'headers', 'api'}, frame
    assert request['api'] == 'v2'
    assert isinstance(request['body'], dict), frame
    assert isinstance(request['headers'], dict), frame
    assert set(frame['headers']) == {'status'}, frame
    status = frame['headers']['status']
    assert isinstance(status, int) and 200 <= status < 500, frame
    return status


@pytest.mark.parametrize('backend', ['redis'], indirect=True)
def test_fuzzed_frames_get_envelopes_below_500(ws: WsClient) -> None:
    fuzzer = Fuzzer(FUZZ_SEED, ws.headers)
    statuses: dict[int, int] = {}
    for _ in range(FUZZ_FRAMES // FUZZ_PIPELINE):
        sent = [fuzzer.frame() for _ in range(FUZZ_PIPELINE)]
        send_at_once(ws, sent)
        for frame in sent:
            while True:
                reply, binary = next_frame(ws, 30)
                if 'request' in reply:
                    break
                assert reply.get('Message_Type') == 'Notification', reply
            status = assert_envelope(reply, binary, isinstance(frame, bytes))
            statuses[status] = statuses.get(status, 0) + 1
    # The mutations hit every layer: decoding, the envelope, the
    # parameters, the actions (some requests succeed).
    assert sum(statuses.values()) == FUZZ_FRAMES // FUZZ_PIPELINE * \
        FUZZ_PIPELINE
    assert sum(n for s, n in statuses.items() if s < 300) > \
        FUZZ_FRAMES // 20, statuses
    assert statuses.get(400, 0) > FUZZ_FRAMES // 4, statuses
    assert_alive(ws)
