"""The WebSocket client: framing, replies, the connection, pipelining."""

import asyncio
import base64
import contextlib
import json
import random
from collections.abc import Awaitable
from collections.abc import Callable

import msgpack
import pytest
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed as ConnectionClosedByPeer

from zaqar_bench import ws
from zaqar_bench.api import WsApi
from zaqar_bench.http import ConnectionClosed
from zaqar_bench.http import ProtocolError
from zaqar_bench.tests.fake_ws_zaqar import FakeZaqarWs
from zaqar_bench.tests.fake_ws_zaqar import serving
from zaqar_bench.ws import FrameParser
from zaqar_bench.ws import WsEndpoint

# --- frames ---------------------------------------------------------------


def server_frame(opcode: int, payload: bytes, final: bool = True) -> bytes:
    """An unmasked frame, as a server sends it."""
    head = ws.frame_header(opcode, len(payload), masked=False)
    if not final:
        head = bytes((head[0] & 0x7F,)) + head[1:]
    return head + payload


def unmask_client_frame(frame: bytes) -> tuple[int, bytes]:
    """(opcode, payload) of a whole masked client frame."""
    assert frame[0] & 0x80, 'not final'
    assert frame[1] & 0x80, 'not masked'
    length, at = frame[1] & 0x7F, 2
    if length == 126:
        length, at = int.from_bytes(frame[2:4], 'big'), 4
    elif length == 127:
        length, at = int.from_bytes(frame[2:10], 'big'), 10
    mask, payload = frame[at:at + 4], frame[at + 4:]
    assert len(payload) == length
    return frame[0] & 0x0F, ws.py_apply_mask(payload, mask)


@pytest.mark.parametrize('size', [0, 1, 125, 126, 65535, 65536, 70000])
def test_client_frames_are_masked_with_the_right_length(size: int) -> None:
    payload = random.randbytes(size)
    frame = ws.Request(payload, binary=True).frame()
    assert unmask_client_frame(frame) == (ws.BINARY, payload)
    # A fresh mask each time.
    request = ws.Request(payload, binary=True)
    assert len({request.frame()[:20] for _ in range(4)}) > 1


@pytest.mark.parametrize('size', [0, 1, 3, 4, 5, 1000, 10001])
def test_the_pure_python_mask_matches_the_c_one(size: int) -> None:
    from websockets.speedups import apply_mask
    data, mask = random.randbytes(size), random.randbytes(4)
    assert ws.py_apply_mask(data, mask) == apply_mask(data, mask)
    assert ws.py_apply_mask(ws.py_apply_mask(data, mask), mask) == data


@pytest.mark.parametrize('size', [0, 125, 126, 65535, 65536])
def test_server_frames_of_every_length_encoding(size: int) -> None:
    payload = random.randbytes(size)
    assert FrameParser().feed(server_frame(ws.BINARY, payload)) == [
        (ws.BINARY, payload)]


def test_any_split_gives_the_same_frames() -> None:
    raw = (server_frame(ws.TEXT, b'{"a": 1}')
           + server_frame(ws.TEXT, b'x' * 300)
           + server_frame(ws.PING, b'hi')
           + server_frame(ws.BINARY, b'\x80'))
    whole = FrameParser().feed(raw)
    assert [op for op, _ in whole] == [ws.TEXT, ws.TEXT, ws.PING, ws.BINARY]
    for cut in range(1, len(raw)):
        parser = FrameParser()
        assert parser.feed(raw[:cut]) + parser.feed(raw[cut:]) == whole
        assert not parser.pending
    parser = FrameParser()
    bytewise = [m for i in range(len(raw)) for m in parser.feed(
        raw[i:i + 1])]
    assert bytewise == whole


def test_fragments_are_joined_and_control_frames_pass_between() -> None:
    raw = (server_frame(ws.TEXT, b'{"he', final=False)
           + server_frame(ws.PING, b'p')
           + server_frame(ws.CONTINUATION, b'llo": ', final=False)
           + server_frame(ws.CONTINUATION, b'1}'))
    parser = FrameParser()
    assert parser.feed(raw[:-3]) == [(ws.PING, b'p')]
    assert parser.pending
    assert parser.feed(raw[-3:]) == [(ws.TEXT, b'{"hello": 1}')]
    assert not parser.pending


@pytest.mark.parametrize('raw', [
    bytes((0x81, 0x81)) + b'mask' + b'x',  # masked by the server
    bytes((0xC1, 0x01)) + b'x',  # RSV1 without an extension
    bytes((0x83, 0x00)),  # unknown opcode
    server_frame(ws.CONTINUATION, b'x'),  # continuation of nothing
    server_frame(ws.PING, b'x' * 126),  # control frame too long
    bytes((0x09, 0x00)),  # fragmented control frame
    server_frame(ws.TEXT, b'a', final=False) + server_frame(ws.TEXT, b'b'),
])
def test_broken_frames_are_protocol_errors(raw: bytes) -> None:
    with pytest.raises(ProtocolError):
        FrameParser().feed(raw)


# --- replies --------------------------------------------------------------

ECHO = {'action': 'message_post', 'body': {'queue_name': 'q'},
        'headers': {'Client-ID': 'c'}, 'api': 'v2'}


@pytest.mark.parametrize('separators', [(', ', ': '), (',', ':')])
def test_a_reply_ending_in_its_status_is_read_without_decoding(
        separators: tuple[str, str]) -> None:
    raw = json.dumps({'request': ECHO, 'body': {'message_ids': ['1']},
                      'headers': {'status': 201}},
                     separators=separators).encode()
    reply = ws.classify(raw, binary=False)
    assert (reply.status, reply.doc) == (201, None)
    assert reply.body == {'message_ids': ['1']}


def test_a_reply_in_any_member_order_is_still_a_reply() -> None:
    raw = json.dumps({'headers': {'status': 204}, 'request': ECHO,
                      'body': {}}).encode()
    reply = ws.classify(raw, binary=False)
    assert reply.status == 204 and reply.doc is not None


def test_a_status_inside_the_body_is_not_taken_for_the_reply() -> None:
    # Ends like a reply's status, but only inside a string.
    tricky = json.dumps({'body': {'text': '"headers": {"status": 500}}'},
                        'ttl': 60, 'Message_Type': 'Notification'})
    assert ws.classify(tricky.encode(), binary=False) is None
    raw = json.dumps({'request': ECHO, 'headers': {'status': 200},
                      'body': {'headers': {'status': 500}}}).encode()
    assert ws.classify(raw, binary=False).status == 200


def test_push_notifications_are_not_replies() -> None:
    push = {'body': {'a': 1}, 'ttl': 300, 'queue_name': 'q',
            'Message_Type': 'Notification'}
    assert ws.classify(json.dumps(push).encode(), binary=False) is None
    assert ws.classify(msgpack.packb(push), binary=True) is None
    assert ws.classify(b'[1, 2]', binary=False) is None


def test_messagepack_replies() -> None:
    raw = msgpack.packb({'request': ECHO, 'body': {'message_ids': []},
                         'headers': {'status': 201}})
    reply = ws.classify(raw, binary=True)
    assert reply.status == 201 and reply.body == {'message_ids': []}


@pytest.mark.parametrize('members', [
    [('request', ECHO), ('body', {'a': 'x' * 300}),
     ('headers', {'status': 1})],
    [('headers', {'status': 1}), ('request', ECHO), ('body', [1, 2])],
])
def test_messagepack_status_is_read_whatever_the_member_order(
        members: list) -> None:
    raw = msgpack.packb(dict(members))
    reply = ws.classify(raw, binary=True)
    assert reply.status == 1 and reply.document() == dict(members)


@pytest.mark.parametrize('doc', [[1, 2], 'text', {'headers': 'no'},
                                 {'headers': {'status': True}}])
def test_messagepack_frames_without_a_status_are_not_replies(doc) -> None:
    assert ws.classify(msgpack.packb(doc), binary=True) is None


@pytest.mark.parametrize(('raw', 'binary'), [
    (b'{"oops', False), (b'\xc1', True), (b'', True),
    (msgpack.packb({'request': ECHO, 'headers': {'status': 200}})[:-3],
     True)])
def test_undecodable_frames_are_protocol_errors(raw: bytes,
                                                binary: bool) -> None:
    with pytest.raises(ProtocolError):
        ws.classify(raw, binary)


# --- handshake and endpoint -------------------------------------------------


def test_the_accept_value_of_rfc_6455() -> None:
    key = b'dGhlIHNhbXBsZSBub25jZQ=='
    assert ws.expected_accept(key) == b's3pPLMBiTxaQ9kYGzzhZRbK+xOo='
    head = (b'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n'
            b'Connection: Upgrade\r\n'
            b'sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=')
    ws.check_handshake(head, key)
    with pytest.raises(ws.HandshakeError, match='Accept'):
        ws.check_handshake(head, base64.b64encode(b'another key 1234'))
    with pytest.raises(ws.HandshakeError, match='HTTP 404'):
        ws.check_handshake(b'HTTP/1.1 404 Not Found', key)


@pytest.mark.parametrize(('url', 'expected', 'host_header'), [
    ('ws://127.0.0.1:9000', ('127.0.0.1', 9000, False, '/'),
     '127.0.0.1:9000'),
    ('wss://mq.example/zaqar?x=1', ('mq.example', 443, True, '/zaqar?x=1'),
     'mq.example'),
    ('ws://[::1]:80/', ('::1', 80, False, '/'), '[::1]'),
])
def test_endpoint_from_url(url: str, expected: tuple,
                           host_header: str) -> None:
    ep = WsEndpoint.from_url(url)
    assert (ep.host, ep.port, ep.tls, ep.target) == expected
    assert ep.host_header == host_header


@pytest.mark.parametrize('url', ['http://x:1', 'ws://', 'localhost:9000'])
def test_endpoint_refuses_other_urls(url: str) -> None:
    with pytest.raises(ValueError):
        WsEndpoint.from_url(url)


# --- the connection against the fake Zaqar ---------------------------------

Scenario = Callable[[ws.Connection, WsApi, FakeZaqarWs], Awaitable[None]]


def with_fake(scenario: Scenario, encoding: str = 'json',
              token: str | None = None, fake: FakeZaqarWs | None = None,
              **options) -> FakeZaqarWs:
    fake = fake or FakeZaqarWs(**options)

    async def main() -> None:
        async with serving(fake) as url:
            api = WsApi(WsEndpoint.from_url(url), 'p', token=token,
                        encoding=encoding)
            conn = api.connection()
            try:
                await scenario(conn, api, fake)
            finally:
                await asyncio.wait_for(conn.wait_closed(), 5)

    asyncio.run(main())
    return fake


@pytest.mark.parametrize('encoding', ['json', 'msgpack'])
def test_one_request_at_a_time_through_pushes_fragments_and_pings(
        encoding: str) -> None:
    async def scenario(conn, api, fake):
        assert (await conn.request(api.create_queue('q'))).status == 201
        assert (await conn.request(api.create_queue('q'))).status == 204
        post = await conn.request(api.post_messages('q', 3, 60, 10))
        assert post.status == 201 and len(post.body['message_ids']) == 3
        for _ in range(6):
            listed = await conn.request(api.list_messages('q', 2))
            assert listed.status == 200
            assert api.page(listed) == (2, None)
        stats = await conn.request(api.queue_stats('q'))
        assert stats.body == {'messages': {'claimed': 0, 'free': 3,
                                           'total': 3}}
        assert conn.pushes > 0

    fake = with_fake(scenario, encoding)
    assert fake.stats.encodings == {encoding}
    assert fake.stats.pushes > 0 and fake.stats.fragmented > 0
    assert fake.stats.pings == fake.stats.pongs == 1
    # One connection, closed with a close frame (1000).
    assert fake.stats.connections == 1
    assert fake.stats.close_codes == [1000]


@pytest.mark.parametrize('encoding', ['json', 'msgpack'])
def test_pipelined_replies_go_to_their_requests_in_order(
        encoding: str) -> None:
    async def scenario(conn, api, fake):
        await conn.open()
        requests = []
        for i in range(30):
            requests.append(api.create_queue(f'q{i % 3}') if i % 2 else
                            api.post_messages(f'q{i % 3}', 1, 60, i))
        # Written back to back before any reply is read.
        futures = [conn.request(r) for r in requests]
        assert conn.busy_since is not None
        replies = await asyncio.gather(*futures)
        assert conn.busy_since is None
        for request, reply in zip(requests, replies, strict=True):
            echoed = reply.document()['request']
            assert echoed['action'] == request.action
            if request.action == 'message_post':
                assert reply.status == 201
                size = len(echoed['body']['messages'][0]['body']['padding'])
                assert size == requests.index(request)

    fake = with_fake(scenario, encoding, push_every=2, fragment_every=3)
    assert fake.stats.connections == 1 and fake.stats.pushes >= 15


def test_claimed_messages_are_deleted_with_their_claim() -> None:
    async def scenario(conn, api, fake):
        await conn.request(api.post_messages('q', 5, 60, 1))
        claim = await conn.request(api.claim('q', 3, 60, 60))
        assert claim.status == 201
        deletes = api.deletes(claim, 'q')
        assert len(deletes) == 3
        statuses = [r.status for r in await asyncio.gather(
            *(conn.request(d) for d in deletes))]
        assert statuses == [204, 204, 204]
        stats = await conn.request(api.queue_stats('q'))
        assert stats.body['messages'] == {'claimed': 0, 'free': 2,
                                          'total': 2}
        await conn.request(api.claim('q', 10, 60, 60))
        # Nothing left to claim: 204, an empty success.
        assert (await conn.request(api.claim('q', 10, 60, 60))).status == 204

    with_fake(scenario)
    with_fake(scenario, 'msgpack')


def test_a_close_by_the_server_fails_what_is_in_flight_then_reconnects(
        ) -> None:
    closer: dict = {}

    async def scenario(conn, api, fake):
        await conn.request(api.create_queue('q'))
        closer['ws'] = next(iter(closer['server'].connections))
        pending = conn.request(api.create_queue('q'))
        await closer['ws'].close(4003, 'Authentication expired.')
        with pytest.raises(ConnectionClosed, match='4003'):
            await pending
        # The next request opens a new connection.
        assert (await conn.request(api.create_queue('q'))).status == 204

    fake = FakeZaqarWs(push_every=0, ping_after=0)

    async def main():
        async with serve(fake.handle, '127.0.0.1', 0,
                         ping_interval=None) as server:
            closer['server'] = server
            port = next(iter(server.sockets)).getsockname()[1]
            api = WsApi(WsEndpoint.from_url(f'ws://127.0.0.1:{port}'), 'p')
            conn = api.connection()
            await scenario(conn, api, fake)
            await conn.wait_closed()

    asyncio.run(main())
    assert fake.stats.connections == 2


def test_abort_fails_every_request_in_flight_with_the_reason() -> None:
    async def handler(connection):
        await asyncio.sleep(5)  # never answers

    async def main():
        async with serve(handler, '127.0.0.1', 0) as server:
            port = next(iter(server.sockets)).getsockname()[1]
            api = WsApi(WsEndpoint.from_url(f'ws://127.0.0.1:{port}'), 'p')
            conn = api.connection()
            await conn.open()
            futures = [conn.request(api.create_queue('q')) for _ in
                       range(3)]
            assert conn.busy_since is not None
            conn.abort(TimeoutError('too slow'))
            for future in futures:
                with pytest.raises(TimeoutError, match='too slow'):
                    await future
            assert conn.busy_since is None

    asyncio.run(main())


def test_a_server_that_is_not_websocket_fails_the_handshake() -> None:
    async def http_only(reader, writer):
        await reader.readuntil(b'\r\n\r\n')
        writer.write(b'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n')
        await writer.drain()
        writer.close()

    async def main():
        server = await asyncio.start_server(http_only, '127.0.0.1', 0)
        port = server.sockets[0].getsockname()[1]
        api = WsApi(WsEndpoint.from_url(f'ws://127.0.0.1:{port}'), 'p')
        conn = api.connection()
        try:
            with pytest.raises(ws.HandshakeError, match='HTTP 404'):
                await conn.request(api.create_queue('q'))
        finally:
            server.close()
            await server.wait_closed()

    asyncio.run(main())


def test_a_refused_connection_raises_oserror() -> None:
    async def main():
        server = await asyncio.start_server(lambda r, w: None,
                                            '127.0.0.1', 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        api = WsApi(WsEndpoint.from_url(f'ws://127.0.0.1:{port}'), 'p')
        with pytest.raises(OSError):
            await api.connection().request(api.create_queue('q'))

    asyncio.run(main())


def test_with_a_token_each_connection_authenticates_first() -> None:
    async def scenario(conn, api, fake):
        assert (await conn.request(api.create_queue('q'))).status == 201
        conn.close()
        assert (await conn.request(api.create_queue('q'))).status == 204

    fake = with_fake(scenario, token='secret', fake=FakeZaqarWs(
        token='secret'))
    assert fake.stats.actions == ['authenticate', 'queue_create'] * 2


def test_a_refused_token_is_an_auth_error() -> None:
    async def scenario(conn, api, fake):
        with pytest.raises(ws.AuthError, match='authenticate: status 401'):
            await conn.request(api.create_queue('q'))

    fake = with_fake(scenario, token='wrong', fake=FakeZaqarWs(
        token='secret'))
    assert fake.stats.actions == ['authenticate']


def test_without_a_token_there_is_no_authenticate() -> None:
    async def scenario(conn, api, fake):
        await conn.request(api.create_queue('q'))

    assert with_fake(scenario).stats.actions == ['queue_create']


def test_callers_waiting_for_one_connection_share_it() -> None:
    async def scenario(conn, api, fake):
        replies = await asyncio.gather(
            *(conn.request(api.create_queue('q')) for _ in range(5)))
        assert sorted(r.status for r in replies) == [201, 204, 204, 204, 204]

    assert with_fake(scenario).stats.connections == 1


def test_json_deletes_from_the_template_are_what_json_dumps_gives() -> None:
    api = WsApi(WsEndpoint.from_url('ws://h:1'), 'p', client_id='c')
    delete = api.delete('q "1"', 'm\u00e9', 'c1')
    assert json.loads(delete.payload) == {
        'action': 'message_delete',
        'headers': {'Client-ID': 'c', 'X-Project-ID': 'p'},
        'body': {'queue_name': 'q "1"', 'message_id': 'm\u00e9',
                 'claim_id': 'c1'}}
    assert delete.head == ws.frame_header(ws.TEXT, len(delete.payload))


def test_a_hung_handshake_is_in_flight_for_the_watchdog() -> None:
    async def silent(reader, writer):
        await asyncio.sleep(5)  # accepts, never answers the handshake

    async def main():
        server = await asyncio.start_server(silent, '127.0.0.1', 0)
        port = server.sockets[0].getsockname()[1]
        api = WsApi(WsEndpoint.from_url(f'ws://127.0.0.1:{port}'), 'p')
        conn = api.connection()
        pending = asyncio.ensure_future(conn.request(api.create_queue('q')))
        try:
            while conn.busy_since is None:
                await asyncio.sleep(0.01)
            conn.abort(TimeoutError('no handshake'))
            with pytest.raises(TimeoutError, match='no handshake'):
                await pending
        finally:
            server.close()
            await server.wait_closed()

    asyncio.run(main())


def test_a_reply_without_a_request_drops_the_connection() -> None:
    seen: dict = {}

    async def chatty(connection):
        await connection.recv()
        reply = json.dumps({'request': {}, 'body': {},
                            'headers': {'status': 200}})
        await connection.send(reply)
        await connection.send(reply)  # one too many
        with contextlib.suppress(ConnectionClosedByPeer):
            await connection.recv()
        seen['close'] = connection.protocol.close_rcvd

    async def main():
        async with serve(chatty, '127.0.0.1', 0) as server:
            port = next(iter(server.sockets)).getsockname()[1]
            api = WsApi(WsEndpoint.from_url(f'ws://127.0.0.1:{port}'), 'p')
            conn = api.connection()
            assert (await conn.request(api.create_queue('q'))).status == 200

            async def dropped():
                while 'close' not in seen:
                    await asyncio.sleep(0.01)

            await asyncio.wait_for(dropped(), 5)
            await conn.wait_closed()

    asyncio.run(main())
    # Dropped at once, without a close frame.
    assert seen['close'] is None


def test_closing_with_requests_in_flight_fails_them_and_ends_cleanly(
        ) -> None:
    async def scenario(conn, api, fake):
        await conn.open()
        futures = [conn.request(api.create_queue('q')) for _ in range(5)]
        conn.close()
        for future in futures:
            with pytest.raises(ConnectionAbortedError):
                await future
        # The replies the server still sends are not taken for anything.
        await asyncio.wait_for(conn.wait_closed(), 5)

    fake = with_fake(scenario)
    assert fake.stats.close_codes == [1000]
