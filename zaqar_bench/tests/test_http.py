"""The response parser, request encoding and the keep-alive connection."""

import asyncio
from collections.abc import Awaitable
from collections.abc import Callable

import pytest

from zaqar_bench.http import Connection
from zaqar_bench.http import ConnectionClosed
from zaqar_bench.http import Endpoint
from zaqar_bench.http import ProtocolError
from zaqar_bench.http import Response
from zaqar_bench.http import ResponseParser
from zaqar_bench.http import encode_headers
from zaqar_bench.http import encode_request

CREATED = (b'HTTP/1.1 201 Created\r\nServer: gunicorn\r\n'
           b'Content-Type: application/json\r\nContent-Length: 17\r\n\r\n'
           b'{"resources": []}')
NO_CONTENT = b'HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n'
CHUNKED = (b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'
           b'5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: 1\r\n\r\n')


def feed_bytewise(parser: ResponseParser, data: bytes) -> list[Response]:
    done = []
    for i in range(len(data)):
        done.extend(parser.feed(data[i:i + 1]))
    return done


def test_a_response_in_one_piece() -> None:
    assert ResponseParser().feed(CREATED) == [
        Response(201, b'{"resources": []}', True)]


@pytest.mark.parametrize('raw', [CREATED, NO_CONTENT, CHUNKED])
def test_any_split_gives_the_same_response(raw: bytes) -> None:
    whole = ResponseParser().feed(raw)
    assert feed_bytewise(ResponseParser(), raw) == whole
    for cut in range(1, len(raw)):
        parser = ResponseParser()
        assert parser.feed(raw[:cut]) + parser.feed(raw[cut:]) == whole
        assert not parser.pending


def test_back_to_back_responses_in_one_read() -> None:
    responses = ResponseParser().feed(NO_CONTENT + CREATED + CHUNKED)
    assert [(r.status, r.body) for r in responses] == [
        (204, b''), (201, b'{"resources": []}'), (200, b'hello, world')]


def test_chunked_body_with_extensions_and_trailers() -> None:
    assert ResponseParser().feed(CHUNKED) == [
        Response(200, b'hello, world', True)]


def test_header_names_are_case_insensitive() -> None:
    raw = (b'HTTP/1.1 200 OK\r\ncontent-LENGTH: 2\r\nCONNECTION: Close'
           b'\r\n\r\nok')
    assert ResponseParser().feed(raw) == [Response(200, b'ok', False)]


def test_interim_responses_are_skipped() -> None:
    raw = b'HTTP/1.1 100 Continue\r\n\r\n' + CREATED
    assert [r.status for r in ResponseParser().feed(raw)] == [201]


def test_http_1_0_closes_unless_kept_alive() -> None:
    closing = b'HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n'
    kept = (b'HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n'
            b'Content-Length: 0\r\n\r\n')
    assert ResponseParser().feed(closing)[0].keep_alive is False
    assert ResponseParser().feed(kept)[0].keep_alive is True


def test_a_body_without_framing_runs_until_the_connection_closes() -> None:
    parser = ResponseParser()
    assert parser.feed(b'HTTP/1.1 200 OK\r\n\r\nsome ') == []
    assert parser.feed(b'bytes') == []
    assert parser.pending
    assert parser.feed_eof() == Response(200, b'some bytes', False)


def test_eof_mid_response_gives_nothing() -> None:
    parser = ResponseParser()
    parser.feed(CREATED[:-3])
    assert parser.pending
    assert parser.feed_eof() is None


@pytest.mark.parametrize('raw', [
    b'SSH-2.0-OpenSSH_9.2\r\n\r\n',
    b'HTTP/1.1 abc Nope\r\n\r\n',
    b'HTTP/1.1 200 OK\r\nContent-Length: lots\r\n\r\n',
    b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
])
def test_garbage_is_a_protocol_error(raw: bytes) -> None:
    with pytest.raises(ProtocolError):
        ResponseParser().feed(raw)


def test_encode_request_adds_the_length_of_a_body() -> None:
    headers = encode_headers({'Host': 'h:1', 'Client-ID': 'c'})
    assert encode_request('POST', '/v2/q', headers, b'{}') == (
        b'POST /v2/q HTTP/1.1\r\nHost: h:1\r\nClient-ID: c\r\n'
        b'Content-Length: 2\r\n\r\n{}')
    assert encode_request('GET', '/v2/ping', headers) == (
        b'GET /v2/ping HTTP/1.1\r\nHost: h:1\r\nClient-ID: c\r\n\r\n')
    # An empty PUT still says so, or the server would wait for a body.
    assert b'Content-Length: 0\r\n' in encode_request('PUT', '/', headers)


@pytest.mark.parametrize(('url', 'expected', 'host_header'), [
    ('http://127.0.0.1:8888', ('127.0.0.1', 8888, False, ''),
     '127.0.0.1:8888'),
    ('https://mq.example/messaging/', ('mq.example', 443, True,
                                       '/messaging'), 'mq.example'),
    ('http://[::1]:80', ('::1', 80, False, ''), '[::1]'),
])
def test_endpoint_from_url(url: str, expected: tuple,
                           host_header: str) -> None:
    ep = Endpoint.from_url(url)
    assert (ep.host, ep.port, ep.tls, ep.prefix) == expected
    assert ep.host_header == host_header


@pytest.mark.parametrize('url', ['ftp://x', 'localhost:8888', 'http://'])
def test_endpoint_refuses_other_urls(url: str) -> None:
    with pytest.raises(ValueError):
        Endpoint.from_url(url)


# --- Connection against small scripted servers ---------------------------

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter],
                   Awaitable[None]]


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b'\r\n\r\n')
    length = 0
    for line in head.split(b'\r\n'):
        if line.lower().startswith(b'content-length:'):
            length = int(line.split(b':')[1])
    return head + await reader.readexactly(length)


async def with_server(handler: Handler,
                      scenario: Callable[[Connection],
                                         Awaitable[None]]) -> list[int]:
    """Run ``scenario`` on a Connection to a server running ``handler``;
    return the local ports of the connections the server saw."""
    peers: list[int] = []

    async def accept(reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> None:
        peers.append(writer.get_extra_info('peername')[1])
        try:
            await handler(reader, writer)
        finally:
            writer.close()

    server = await asyncio.start_server(accept, '127.0.0.1', 0)
    port = server.sockets[0].getsockname()[1]
    conn = Connection(Endpoint.from_url(f'http://127.0.0.1:{port}'))
    try:
        await scenario(conn)
    finally:
        conn.close()
        server.close()
        await server.wait_closed()
    return peers


REQUEST = encode_request('GET', '/', encode_headers({'Host': 'x'}))


def test_requests_share_one_keep_alive_connection() -> None:
    async def handler(reader, writer):
        while True:
            try:
                await read_request(reader)
            except asyncio.IncompleteReadError:
                return
            writer.write(CREATED)

    async def scenario(conn):
        for _ in range(5):
            assert (await conn.request(REQUEST)).status == 201

    assert len(asyncio.run(with_server(handler, scenario))) == 1


def test_an_idle_connection_closed_by_the_server_is_retried_once() -> None:
    async def handler(reader, writer):
        # Like a keep-alive timeout: answer one request, then close.
        await read_request(reader)
        writer.write(CREATED)
        await writer.drain()

    async def scenario(conn):
        assert (await conn.request(REQUEST)).status == 201
        await asyncio.sleep(0.1)  # the close arrives while idle
        assert (await conn.request(REQUEST)).status == 201
        assert (await conn.request(REQUEST)).status == 201

    assert len(asyncio.run(with_server(handler, scenario))) == 3


def test_connection_close_is_honoured() -> None:
    async def handler(reader, writer):
        await read_request(reader)
        writer.write(b'HTTP/1.1 200 OK\r\nConnection: close\r\n'
                     b'Content-Length: 2\r\n\r\nok')
        await writer.drain()

    async def scenario(conn):
        for _ in range(2):
            response = await conn.request(REQUEST)
            assert (response.status, response.keep_alive) == (200, False)

    assert len(asyncio.run(with_server(handler, scenario))) == 2


def test_a_close_mid_response_is_an_error_not_retried() -> None:
    async def handler(reader, writer):
        await read_request(reader)
        writer.write(CREATED[:-5])
        await writer.drain()

    async def scenario(conn):
        with pytest.raises(ConnectionClosed) as caught:
            await conn.request(REQUEST)
        assert caught.value.partial

    assert len(asyncio.run(with_server(handler, scenario))) == 1


def test_abort_fails_the_request_in_flight_with_the_reason() -> None:
    async def handler(reader, writer):
        await read_request(reader)
        await asyncio.sleep(5)  # never answers in time

    async def scenario(conn):
        pending = asyncio.ensure_future(conn.request(REQUEST))
        await asyncio.sleep(0.1)
        assert conn.busy_since is not None
        conn.abort(TimeoutError('too slow'))
        with pytest.raises(TimeoutError, match='too slow'):
            await pending
        assert conn.busy_since is None

    asyncio.run(with_server(handler, scenario))


def test_a_refused_connection_raises_oserror() -> None:
    async def scenario() -> None:
        server = await asyncio.start_server(lambda r, w: None,
                                            '127.0.0.1', 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        conn = Connection(Endpoint.from_url(f'http://127.0.0.1:{port}'))
        with pytest.raises(OSError):
            await conn.request(REQUEST)

    asyncio.run(scenario())
