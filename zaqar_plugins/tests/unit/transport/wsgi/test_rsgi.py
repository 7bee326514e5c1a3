"""The bridge from granian's RSGI interface to the WSGI app: the environ
it builds and the body it reads, with stand-ins for granian's scope and
protocol. (Over the wire it is tested by every functional test: it is
what zaqar-server serves the app through.)"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

from zaqar_plugins.transport.wsgi import controllers
from zaqar_plugins.transport.wsgi import rsgi


class Headers:
    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs

    def items(self) -> list[tuple[str, str]]:
        return self.pairs

    def get(self, key: str, default: Any = None) -> Any:
        return next((v for k, v in self.pairs if k == key), default)

    def __contains__(self, key: str) -> bool:
        return any(k == key for k, _ in self.pairs)


class Scope:
    def __init__(self, path: str = '/v2/queues', query: str = '',
                 headers: list[tuple[str, str]] | None = None,
                 method: str = 'GET', server: str = '127.0.0.1:8888'
                 ) -> None:
        self.path, self.query_string, self.method = path, query, method
        self.headers = Headers(headers or [])
        self.server, self.client = server, '10.1.2.3:5555'
        self.scheme, self.http_version = 'http', '1.1'


class Protocol:
    """Sends ``chunks`` as the body; records the answer. ``short``: the
    client closes before the length it announced, and granian's whole
    read fails as it does then."""

    def __init__(self, chunks: list[bytes] = (), short: bool = False
                 ) -> None:
        self.chunks = list(chunks)
        self.short = short
        self.read = 0
        self.answer: tuple | None = None

    async def __call__(self) -> bytes:
        self.read += 1
        if self.short:
            raise RuntimeError('RSGI transport is closed')
        body, self.chunks = b''.join(self.chunks), []
        return body

    def __aiter__(self) -> Protocol:
        return self

    async def __anext__(self) -> bytes:
        if not self.chunks:
            raise StopAsyncIteration
        self.read += 1
        return self.chunks.pop(0)

    def response_bytes(self, status: int, headers: list, body: bytes
                       ) -> None:
        self.answer = (status, headers, body)


def seen_by(scope: Scope, protocol: Protocol, largest: int = 65536
            ) -> dict[str, Any]:
    """The environ the app gets, its body read as ``body``."""
    seen: dict[str, Any] = {}

    def app(environ: dict, start_response: Any) -> list[bytes]:
        seen.update(environ, body=environ['wsgi.input'].read())
        start_response('204 No Content', [('X-Seen', 'yes')])
        return [b'']

    asyncio.run(rsgi.Bridge(app, 1, 0, lambda: largest, 5).__rsgi__(
        scope, protocol))
    assert protocol.answer == (204, [('X-Seen', 'yes')], b'')
    return seen


def test_the_environ_is_pep_3333s() -> None:
    seen = seen_by(Scope(
        '/v2/queues/caf\u00e9', 'limit=5', method='POST',
        server='[::1]:8888', headers=[
            ('host', 'h:1'), ('content-type', 'application/json'),
            ('content-length', '2'), ('x-a', '1'), ('x-a', '2')]),
        Protocol([b'{}']))
    assert seen['REQUEST_METHOD'] == 'POST'
    # The bytes sent, as Latin-1.
    assert seen['PATH_INFO'] == '/v2/queues/caf\u00c3\u00a9'
    assert seen['QUERY_STRING'] == 'limit=5'
    assert (seen['SERVER_NAME'], seen['SERVER_PORT']) == ('::1', '8888')
    assert seen['REMOTE_ADDR'] == '10.1.2.3'
    assert seen['CONTENT_TYPE'] == 'application/json'
    assert seen['CONTENT_LENGTH'] == '2'
    assert seen['HTTP_HOST'] == 'h:1'
    assert seen['HTTP_X_A'] == '1,2'
    assert seen['body'] == b'{}'


def test_a_path_that_was_no_utf8_stays_no_utf8() -> None:
    # granian replaced the bytes: the app must still see bytes that are
    # no UTF-8, to refuse them as under any server.
    seen = seen_by(Scope('/v2/queues/a\ufffdb'), Protocol())
    raw = seen['PATH_INFO'].encode('latin-1')
    assert raw == b'/v2/queues/a\xffb'


def test_a_chunked_body_gets_its_length() -> None:
    protocol = Protocol([b'{"a"', b': 1}'])
    seen = seen_by(Scope(method='POST', headers=[
        ('transfer-encoding', 'chunked')]), protocol)
    assert seen['body'] == b'{"a": 1}'
    assert seen['CONTENT_LENGTH'] == '8'
    assert protocol.read == 2


def test_a_body_of_known_length_is_read_whole() -> None:
    protocol = Protocol([b'{"a"', b': 1}'])
    seen = seen_by(Scope(method='POST', headers=[('content-length', '8')]),
                   protocol)
    assert (seen['body'], protocol.read) == (b'{"a": 1}', 1)


def test_a_request_without_a_body_is_not_read() -> None:
    # HTTP/1: neither Content-Length nor Transfer-Encoding, so no body to
    # wait for.
    protocol = Protocol([b'never sent'])
    seen = seen_by(Scope(method='DELETE'), protocol)
    assert (seen['body'], protocol.read) == (b'', 0)
    assert 'CONTENT_LENGTH' not in seen


def test_a_body_shorter_than_announced_is_refused_by_the_app() -> None:
    # The client closed before the length it announced: the app gets a
    # body shorter than its Content-Length, and refuses it (400).
    seen = seen_by(Scope(method='PUT', headers=[('content-length', '100')]),
                   Protocol([b'{}'], short=True))
    assert (seen['body'], seen['CONTENT_LENGTH']) == (b'', '100')


def test_a_body_announced_too_large_is_not_read() -> None:
    # Larger than the app reads of any body: it refuses it by its length.
    huge = str(controllers.DRAIN_LIMIT + 1)
    protocol = Protocol([b'x' * 10])
    seen = seen_by(Scope(method='PUT', headers=[('content-length', huge)]),
                   protocol)
    assert (seen['body'], seen['CONTENT_LENGTH'], protocol.read) == \
        (b'', huge, 0)
    # Unless the app accepts bodies that large.
    protocol = Protocol([b'x' * 10])
    seen_by(Scope(method='PUT', headers=[('content-length', huge)]),
            protocol, largest=controllers.DRAIN_LIMIT * 2)
    assert protocol.read == 1


def test_a_body_that_stops_coming_is_answered_408() -> None:
    class Stalled(Protocol):
        async def __call__(self) -> bytes:
            await asyncio.sleep(60)
            return b''

    called = []
    protocol = Stalled()
    bridge = rsgi.Bridge(lambda *args: called.append(args), 1, 0,
                         lambda: 0, 0.05)
    asyncio.run(bridge.__rsgi__(Scope(method='PUT', headers=[
        ('content-length', '10')]), protocol))
    status, _, body = protocol.answer
    assert status == 408 and not called
    assert json.loads(body)['title'] == 'Request timeout'


def test_a_failing_app_is_answered_500() -> None:
    def app(environ: dict, start_response: Any) -> list[bytes]:
        raise RuntimeError('a bug')

    protocol = Protocol()
    asyncio.run(rsgi.Bridge(app, 1, 0, lambda: 0, 5).__rsgi__(Scope(),
                                                           protocol))
    status, _, body = protocol.answer
    assert status == 500
    assert json.loads(body)['title'] == 'Internal server error'


def test_only_requests_asking_to_wait_may_wait() -> None:
    assert rsgi.may_wait('wait=5')
    assert rsgi.may_wait('limit=2&wait=5')
    assert not rsgi.may_wait('limit=2')
    # The app decodes the query: a name spelled with escapes still asks.
    assert rsgi.may_wait('wai%74=5')
    assert rsgi.may_wait('limit=2&%77%61%69%74=1')
    assert not rsgi.may_wait('limit=%32')


def test_requests_that_may_wait_run_on_threads_of_their_own() -> None:
    threads: list[str] = []

    def app(environ: dict, start_response: Any) -> list[bytes]:
        threads.append(threading.current_thread().name)
        start_response('200 OK', [])
        return [b'']

    bridge = rsgi.Bridge(app, 1, 2, lambda: 0, 5)
    for query in ('limit=1', 'wait=5'):
        asyncio.run(bridge.__rsgi__(Scope(query=query), Protocol()))
    assert threads[0] == threading.main_thread().name
    assert threads[1].startswith('zaqar-wait')
