"""Hostile requests as raw bytes over a socket (issue 12).

A seeded generator mutates well-formed requests of every route: bad
percent-escapes and bytes that are not UTF-8 in the path, query string,
headers and body; bodies that are not JSON, of the wrong types, with huge
numbers or deep nesting; odd methods; odd Content-Length and
Transfer-Encoding. Whatever it sends, every request gets an HTTP answer,
never a 5xx, and every 4xx of the app (which carries
x-openstack-request-id) has the JSON ``{"title", "description"}``.

The seeded run stays inside what an HTTP server passes on to the app; the
shapes the server itself must answer (a garbage request line, a URL or
headers over its limits) are in :func:`test_malformed_http_is_answered`.
The named tests pin, one per bug found, the exact answer.
"""

from __future__ import annotations

import dataclasses
import json
import random
import socket
import time
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import pytest

from .helpers import JSON_PATCH
from .helpers import ApiClient
from .helpers import Server

SEED = 20261205
#: Requests of the seeded run on SQLite, and the sample on Redis.
COUNT = 1500
REDIS_COUNT = 300
#: Seconds a single exchange may take: a server that waits for bytes that
#: never come fails the test rather than hanging it.
TIMEOUT = 20.0
#: The seeded run should take well under a minute; far over it, the
#: server is too slow for what it refuses.
BUDGET = 120.0

REQUEST_ID = 'x-openstack-request-id'

#: Decoding is the transport's: one backend is enough for the named tests.
ON_SQLITE = pytest.mark.parametrize('backend', ['sqlite'], indirect=True)

# -- the wire ----------------------------------------------------------------


@dataclasses.dataclass
class Answer:
    """A parsed HTTP response (header names lower-cased)."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def from_app(self) -> bool:
        """Whether the app answered (the HTTP server's own refusals carry
        no request id)."""
        return REQUEST_ID in self.headers


def exchange(server: Server, raw: bytes, *, head: bool = False,
             half_close: bool = False) -> Answer:
    """Send ``raw`` on a new connection and read the answer.

    Raises:
        AssertionError: the connection was closed (or timed out) before
            a whole answer came.
    """
    netloc = urlsplit(server.url).netloc
    host, port = netloc.rsplit(':', 1)
    with socket.create_connection((host, int(port)),
                                  timeout=TIMEOUT) as sock:
        try:
            sock.sendall(raw)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except OSError:
            # The server may refuse before reading everything; its answer
            # is still there to read.
            pass
        with sock.makefile('rb') as stream:
            try:
                return _read_answer(stream, head)
            except (OSError, ValueError) as exc:
                raise AssertionError(
                    f'no answer: {exc!r}') from None


def _read_answer(stream: Any, head: bool) -> Answer:
    while True:
        status_line = stream.readline(65536)
        if not status_line:
            raise AssertionError('connection closed without an answer')
        version, status, *_ = status_line.split(None, 2)
        assert version.startswith(b'HTTP/1.'), status_line
        headers: dict[str, str] = {}
        while True:
            line = stream.readline(65536)
            if line in (b'\r\n', b'\n', b''):
                break
            name, _, value = line.decode('latin-1').partition(':')
            headers[name.strip().lower()] = value.strip()
        if not 100 <= int(status) < 200:
            break  # a 100 Continue is followed by the answer
    code = int(status)
    if head or code in (204, 304):
        body = b''
    elif 'chunked' in headers.get('transfer-encoding', '').lower():
        body = _read_chunks(stream)
    elif 'content-length' in headers:
        body = stream.read(int(headers['content-length']))
    else:
        body = stream.read()
    return Answer(code, headers, body)


def _read_chunks(stream: Any) -> bytes:
    body = b''
    while True:
        size = int(stream.readline(1024).split(b';')[0], 16)
        if size == 0:
            return body
        body += stream.read(size)
        stream.readline(1024)


def render(method: str, target: bytes, headers: list[tuple[str, bytes]],
           body: bytes = b'', framing: str = 'length') -> bytes:
    """An HTTP/1.1 request as bytes. ``framing``: ``length`` (a correct
    Content-Length), ``chunked``, ``none`` (neither), or a Content-Length
    value to send as it is."""
    lines = [method.encode() + b' ' + target + b' HTTP/1.1']
    lines += [name.encode() + b': ' + value for name, value in headers]
    if framing == 'chunked':
        lines.append(b'Transfer-Encoding: chunked')
        payload = b''
        for at in range(0, len(body), 4096):
            piece = body[at:at + 4096]
            payload += b'%x\r\n%s\r\n' % (len(piece), piece)
        body = payload + b'0\r\n\r\n'
    elif framing == 'length':
        if body or method in ('POST', 'PUT', 'PATCH'):
            lines.append(b'Content-Length: %d' % len(body))
    elif framing != 'none':
        lines.append(b'Content-Length: ' + framing.encode())
    return b'\r\n'.join(lines) + b'\r\n\r\n' + body


def problem(answer: Answer, method: str) -> str | None:
    """What is wrong with ``answer``, or None."""
    if answer.status >= 500:
        return f'{answer.status}: {answer.body[:300]!r}'
    if not 400 <= answer.status < 500 or not answer.from_app or \
            method == 'HEAD' or answer.status == 406:
        # 406: whoever cannot read JSON gets no body at all.
        return None
    try:
        document = json.loads(answer.body)
    except ValueError:
        return f'{answer.status} without a JSON body: {answer.body[:300]!r}'
    if not isinstance(document, dict) or \
            not isinstance(document.get('title'), str) or \
            not isinstance(document.get('description'), str):
        return f'{answer.status} without title and description: {document}'
    return None


# -- the generator -----------------------------------------------------------

QUEUE = 'hostile'
SUB_QUEUE = 'hostile-subs'

#: (method, path template, body template or None, content type).
ROUTES: list[tuple[str, str, Any, str]] = [
    ('GET', '/', None, ''),
    ('GET', '/v2', None, ''),
    ('GET', '/v2/ping', None, ''),
    ('GET', '/v2/health', None, ''),
    ('GET', '/v2/queues', None, ''),
    ('PUT', '/v2/queues/{q}', {'_default_message_ttl': 3600, 'k': 'v'},
     'application/json'),
    ('GET', '/v2/queues/{q}', None, ''),
    ('PATCH', '/v2/queues/{q}',
     [{'op': 'add', 'path': '/metadata/k', 'value': 1}], JSON_PATCH),
    ('GET', '/v2/queues/{q}/stats', None, ''),
    ('POST', '/v2/queues/{q}/share',
     {'paths': ['messages'], 'methods': ['GET']}, 'application/json'),
    ('POST', '/v2/queues/{q}/purge', {'resource_types': ['subscriptions']},
     'application/json'),
    ('POST', '/v2/queues/{q}/messages',
     {'messages': [{'body': {'a': [1, 'x']}, 'ttl': 300, 'delay': 0}]},
     'application/json'),
    ('GET', '/v2/queues/{q}/messages', None, ''),
    ('DELETE', '/v2/queues/{q}/messages', None, ''),
    ('GET', '/v2/queues/{q}/messages/{m}', None, ''),
    ('DELETE', '/v2/queues/{q}/messages/{m}', None, ''),
    ('POST', '/v2/queues/{q}/claims', {'ttl': 60, 'grace': 60},
     'application/json'),
    ('GET', '/v2/queues/{q}/claims/{c}', None, ''),
    ('PATCH', '/v2/queues/{q}/claims/{c}', {'ttl': 60, 'grace': 60},
     'application/json'),
    ('DELETE', '/v2/queues/{q}/claims/{c}', None, ''),
    ('POST', '/v2/queues/{s}/subscriptions',
     {'subscriber': 'http://127.0.0.1:1/hook', 'ttl': 3600, 'options': {}},
     'application/json'),
    ('GET', '/v2/queues/{s}/subscriptions', None, ''),
    ('GET', '/v2/queues/{s}/subscriptions/{i}', None, ''),
    ('PATCH', '/v2/queues/{s}/subscriptions/{i}', {'ttl': 7200},
     'application/json'),
    ('PUT', '/v2/queues/{s}/subscriptions/{i}/confirm', {'confirmed': True},
     'application/json'),
    ('GET', '/v2/topics', None, ''),
    ('PUT', '/v2/topics/{q}', {'k': 'v'}, 'application/json'),
    ('POST', '/v2/topics/{q}/messages', {'messages': [{'body': 'x'}]},
     'application/json'),
]

#: Query parameters the routes read, with plausible values.
PARAMS = {
    'limit': '2', 'marker': 'a', 'detailed': 'true', 'echo': 'true',
    'include_claimed': 'true', 'include_delayed': 'false',
    'ids': '0123456789abcdef01234567', 'claim_id': '0123456789ab',
    'pop': '1', 'with_count': 'true', 'name': 'q',
}

#: Percent-escapes and raw bytes that carry no UTF-8 text, or no escape.
BAD_ESCAPES = [b'%ff', b'%fe%ff', b'%c3', b'%c3%28', b'%ed%a0%80',
               b'%c0%af', b'%f8%88%80%80%80', b'%80', b'%zz', b'%', b'%%',
               b'%0', b'%g1']
RAW_BYTES = [b'\xff', b'\xc3\x28', b'\xe9', b'\xed\xa0\x80', b'\x80']
ODD_ESCAPES = [b'%00', b'%2f', b'%2e%2e', b'%20', b'%C3%A9', b'%E2%80%AE',
               b'%0d%0a', b'+', b'%2b']
HOSTILE_VALUES = [
    b'', b'-1', b'0', b'9' * 30, b'-' + b'9' * 30, b'1e9', b'1.5', b'0x10',
    b'true', b'None', b'null', b'[]', b'a,b,,c', b',', b'x' * 2000,
    b'%00', b'%ff', b'%zz', b'\xff',
]
#: Header values that are no UTF-8 (obs-text bytes).
BAD_HEADER_BYTES = [b'\xff\xfe', b'\xc3', b'caf\xe9', b'\xed\xa0\x80',
                    b'\xc0\xaf']
ODD_METHODS = ['GET', 'PUT', 'POST', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS',
               'TRACE', 'FOO', 'get', 'PROPFIND', 'MKCOL', 'PURGE']
ODD_CONTENT_TYPES = [
    b'application/json', b'application/x-www-form-urlencoded',
    b'text/plain', b'application/json; charset=latin-1',
    JSON_PATCH.encode(), b'multipart/form-data; boundary=x', b';;;', b'',
    b'application/json; charset=\xff',
]
ODD_ACCEPTS = [b'application/json', b'*/*', b'text/html',
               b'application/json;q=0', b'application/json;q=abc', b',,,',
               b'', b'application/\xff']


class Hostile:
    """Seeded hostile requests: :meth:`next` gives (label, method, raw
    request bytes)."""

    def __init__(self, seed: int, project: str, client_id: str,
                 ids: dict[str, str]) -> None:
        self.rng = random.Random(seed)
        self.project = project
        self.client_id = client_id
        self.ids = ids

    def next(self) -> tuple[str, str, bytes]:
        rng = self.rng
        method, template, body, content_type = rng.choice(ROUTES)
        path = template.format(q=QUEUE, s=SUB_QUEUE, m=self.ids['message'],
                               c=self.ids['claim'],
                               i=self.ids['subscription']).encode()
        query = self._query() if rng.random() < 0.5 else b''
        headers = self._headers(content_type)
        raw_body = json.dumps(body).encode() if body is not None else b''
        framing = 'length'
        labels = []
        for _ in range(rng.randint(1, 3)):
            what = rng.choice(['path', 'query', 'header', 'header', 'body',
                               'body', 'body', 'method', 'framing'])
            labels.append(what)
            if what == 'path':
                path = self._mutate_path(path)
            elif what == 'query':
                query = self._mutate_query(query)
            elif what == 'header':
                headers = self._mutate_headers(headers)
            elif what == 'body':
                raw_body = self._mutate_body(body, raw_body)
            elif what == 'method':
                method = rng.choice(ODD_METHODS)
            else:
                framing = rng.choice(['chunked', 'none', 'abc', '-1', '+5',
                                      ' 0x10', str(len(raw_body) // 2)])
        if method in ('GET', 'HEAD', 'DELETE', 'OPTIONS') and \
                framing == 'length' and rng.random() < 0.7:
            raw_body = b''
        target = path + (b'?' + query if query else b'')
        label = f'{method} {target[:120]!r} {"+".join(labels)} {framing}'
        return label, method, render(method, target, headers, raw_body,
                                     framing)

    # -- parts

    def _query(self) -> bytes:
        rng = self.rng
        names = rng.sample(sorted(PARAMS), rng.randint(1, 3))
        return b'&'.join(f'{n}={PARAMS[n]}'.encode() for n in names)

    def _headers(self, content_type: str) -> list[tuple[str, bytes]]:
        headers = [('Host', b'localhost'), ('Connection', b'close'),
                   ('Client-ID', self.client_id.encode()),
                   ('X-Project-Id', self.project.encode())]
        if content_type:
            headers.append(('Content-Type', content_type.encode()))
        return headers

    def _junk(self) -> bytes:
        rng = self.rng
        return rng.choice([rng.choice(BAD_ESCAPES), rng.choice(RAW_BYTES),
                           rng.choice(ODD_ESCAPES)])

    def _mutate_path(self, path: bytes) -> bytes:
        rng = self.rng
        how = rng.choice(['insert', 'segment', 'dots', 'slashes', 'long',
                          'case'])
        if how == 'insert':
            at = rng.randint(1, len(path))
            return path[:at] + self._junk() + path[at:]
        if how == 'segment':
            segments = path.split(b'/')
            index = rng.randrange(1, len(segments)) if len(segments) > 1 \
                else 0
            segments[index] = self._junk() * rng.randint(1, 3)
            return b'/'.join(segments)
        if how == 'dots':
            return path + rng.choice([b'/..', b'/../..', b'/./x', b'/%2e'])
        if how == 'slashes':
            return path.replace(b'/', b'//', rng.randint(1, 3))
        if how == 'long':
            return path + b'/' + b'a' * rng.randint(65, 4000)
        return path.upper()

    def _mutate_query(self, query: bytes) -> bytes:
        rng = self.rng
        how = rng.choice(['value', 'value', 'name', 'junk', 'repeat',
                          'separators'])
        pairs = [p for p in query.split(b'&') if p] or [b'limit=1']
        if how == 'value':
            name = rng.choice(sorted(PARAMS)).encode()
            value = rng.choice(HOSTILE_VALUES)
            if rng.random() < 0.4:
                value = value + self._junk()
            pairs.append(name + b'=' + value)
        elif how == 'name':
            pairs.append(self._junk() + b'=1')
        elif how == 'junk':
            at = rng.randrange(len(pairs))
            pairs[at] = pairs[at] + self._junk()
        elif how == 'repeat':
            pairs = pairs * rng.randint(2, 20)
        else:
            return rng.choice([b'&&&', b'=', b'==&=', b';;', b'a=1;b=2',
                               b'&'.join(pairs) + b'&'])
        return b'&'.join(pairs)

    def _mutate_headers(self, headers: list[tuple[str, bytes]]
                        ) -> list[tuple[str, bytes]]:
        rng = self.rng
        headers = list(headers)
        how = rng.choice(['client', 'project', 'accept', 'content-type',
                          'signed', 'identity', 'other', 'drop', 'expect'])
        bad = rng.choice(BAD_HEADER_BYTES)
        if how == 'client':
            value = rng.choice([b'', b'abc', bad, b'{' + uuid.uuid4().hex.
                                encode() + b'}', b'x' * 1000,
                                uuid.uuid4().hex.encode()])
            headers = _replace(headers, 'Client-ID', value)
        elif how == 'project':
            value = rng.choice([b'', bad, b'p' * 300, b'caf\xc3\xa9',
                                b'a,b', b'..', b'%ff'])
            headers = _replace(headers, 'X-Project-Id', value)
        elif how == 'accept':
            headers.append(('Accept', rng.choice(ODD_ACCEPTS)))
        elif how == 'content-type':
            headers = _replace(headers, 'Content-Type',
                               rng.choice(ODD_CONTENT_TYPES))
        elif how == 'signed':
            headers += [('URL-Signature', rng.choice([b'0' * 64, bad])),
                        ('URL-Expires', rng.choice([b'2099-01-01T00:00:00',
                                                    b'abc', bad])),
                        ('URL-Paths', rng.choice([
                            f'/v2/queues/{QUEUE}/messages'.encode(), bad])),
                        ('URL-Methods', rng.choice([b'GET,POST', bad]))]
        elif how == 'identity':
            headers += [('X-Roles', rng.choice([b'admin', bad])),
                        ('X-User-Id', bad), ('X-Auth-Token', bad),
                        ('X-Tenant-Id', bad)]
        elif how == 'other':
            headers.append((rng.choice(['X-Junk', 'User-Agent', 'Origin',
                                        'X-Openstack-Request-Id',
                                        'If-None-Match', 'Cookie']), bad))
        elif how == 'drop':
            dropped = rng.choice(['Client-ID', 'X-Project-Id', 'Host'])
            headers = [h for h in headers if h[0] != dropped]
        else:
            headers.append(('Expect', b'100-continue'))
        return headers

    def _mutate_body(self, template: Any, raw: bytes) -> bytes:
        rng = self.rng
        how = rng.choice(['bytes', 'surrogate', 'number', 'nesting',
                          'retype', 'truncate', 'scalar', 'encoding',
                          'syntax', 'long'])
        text = raw or b'{}'
        if how == 'bytes':
            at = rng.randint(0, len(text))
            return text[:at] + rng.choice(RAW_BYTES) + text[at:]
        if how == 'surrogate':
            escape = rng.choice([b'\\ud800', b'\\udfff', b'\\udc00\\ud800',
                                 b'\\ud83d'])
            if b'"' in text:
                at = text.index(b'"') + 1
                return text[:at] + escape + text[at:]
            return b'["' + escape + b'"]'
        if how == 'number':
            number = rng.choice([b'1' + b'0' * 30, b'-' + b'9' * 25,
                                 b'9' * 5000, b'1e999', b'-1e999', b'1e-999',
                                 b'NaN', b'Infinity', b'-0', b'1.' + b'5' *
                                 400, b'18446744073709551616'])
            return _replace_numbers(text, number) if any(
                c in text for c in b'0123456789') else \
                b'{"ttl": ' + number + b'}'
        if how == 'nesting':
            depth = rng.choice([63, 65, 100, 1000, 20000])
            inner = rng.choice([(b'[' * depth, b']' * depth),
                                (b'{"a":' * depth, b'}' * depth)])
            return b'{"messages": [{"body": ' + inner[0] + b'1' + \
                inner[1] + b'}]}' if rng.random() < 0.5 else \
                inner[0] + inner[1]
        if how == 'retype':
            # A copy of the route's document (the body may be broken
            # already).
            document = json.loads(json.dumps(template)) \
                if template is not None else {}
            value = rng.choice([None, True, 'x', 1, -1, [], {}, [1], 1.5,
                                2 ** 63, 'ttl'])
            if isinstance(document, dict) and document:
                document[rng.choice(sorted(document))] = value
            elif isinstance(document, list) and document:
                document[0] = value
            else:
                document = value
            return json.dumps(document).encode()
        if how == 'truncate':
            return text[:rng.randint(0, max(0, len(text) - 1))]
        if how == 'scalar':
            return rng.choice([b'null', b'1', b'"x"', b'[]', b'{}', b' ',
                               b'\r\n', b'true', b'""'])
        if how == 'encoding':
            decoded = text.decode('utf-8', 'replace')
            return rng.choice([b'\xef\xbb\xbf' + text,
                               decoded.encode('utf-16'),
                               decoded.encode('utf-32-le')])
        if how == 'syntax':
            return rng.choice([text + b',', text[:-1] + b',}' if
                               text.endswith(b'}') else text + b']',
                               b'/* c */' + text, text.replace(b'"', b"'"),
                               b'{"a": 1, "a": 2}', text + text])
        return b'{"k": "' + b'x' * rng.randint(1000, 60000) + b'"}'


def _replace(headers: list[tuple[str, bytes]], name: str, value: bytes
             ) -> list[tuple[str, bytes]]:
    return [h for h in headers if h[0] != name] + [(name, value)]


def _replace_numbers(text: bytes, number: bytes) -> bytes:
    out = bytearray()
    in_digits = False
    for byte in text:
        if 48 <= byte <= 57:
            if not in_digits:
                out += number
            in_digits = True
        else:
            in_digits = False
            out.append(byte)
    return bytes(out)


# -- fixtures ----------------------------------------------------------------


def _resources(client: ApiClient) -> dict[str, str]:
    """A queue with a message and a claim, and a subscription, for the
    routes with ids."""
    client.create_queue(QUEUE)
    client.post_messages(QUEUE, {'n': 1}, {'n': 2})
    claim_id, messages = client.claim(QUEUE, limit=1)
    assert claim_id is not None
    resp = client.post(f'/v2/queues/{SUB_QUEUE}/subscriptions',
                       json={'subscriber': 'http://127.0.0.1:1/hook'})
    assert resp.status_code == 201, resp.text
    return {'message': messages[0]['id'], 'claim': claim_id,
            'subscription': resp.json()['subscription_id']}


def run_hostile(server: Server, client: ApiClient, count: int) -> None:
    hostile = Hostile(SEED, client.project_id, client.client_id,
                      _resources(client))
    failures = []
    statuses: dict[int, int] = {}
    started = time.monotonic()
    for _ in range(count):
        label, method, raw = hostile.next()
        try:
            answer = exchange(server, raw, head=method == 'HEAD')
        except AssertionError as exc:
            failures.append(f'{label}: {exc}')
            continue
        statuses[answer.status] = statuses.get(answer.status, 0) + 1
        found = problem(answer, method)
        if found:
            failures.append(f'{label}: {found}')
    elapsed = time.monotonic() - started
    assert not failures, \
        f'{len(failures)} of {count} failed:\n' + '\n'.join(failures[:20])
    assert elapsed < BUDGET, f'{count} requests took {elapsed:.0f} s'
    # The mutations reach the actions (some requests succeed) and their
    # checks, not only the first header check.
    assert sum(n for s, n in statuses.items() if s < 300) > count // 20, \
        statuses
    assert statuses.get(400, 0) > count // 4, statuses
    # The server is still there and well.
    assert client.get('/v2/ping').status_code == 204


@ON_SQLITE
def test_seeded_hostile_requests_on_sqlite(server: Server,
                                           client: ApiClient) -> None:
    run_hostile(server, client, COUNT)


@pytest.mark.parametrize('backend', ['redis'], indirect=True)
def test_seeded_hostile_requests_on_redis(server: Server,
                                          client: ApiClient) -> None:
    run_hostile(server, client, REDIS_COUNT)


# -- one per bug found -------------------------------------------------------


def _request(client: ApiClient, method: str, target: bytes,
             headers: Sequence[tuple[str, bytes]] = (), body: bytes = b'',
             framing: str = 'length', **kwargs: Any) -> Answer:
    base = [('Host', b'localhost'), ('Connection', b'close'),
            ('Client-ID', client.client_id.encode()),
            ('X-Project-Id', client.project_id.encode())]
    names = {name for name, _ in headers}
    base = [h for h in base if h[0] not in names]
    return exchange(_server_of(client), render(
        method, target, base + list(headers), body, framing), **kwargs)


def _server_of(client: ApiClient) -> Server:
    return Server(client.base_url)


def _queue_names(client: ApiClient) -> list[str]:
    resp = client.get('/v2/queues')
    assert resp.status_code == 200, resp.text
    return [queue['name'] for queue in resp.json()['queues']]


def _error(answer: Answer, status: int, title: str | None = None,
           description: str | None = None) -> dict[str, str]:
    assert answer.status == status, (answer.status, answer.body)
    assert answer.from_app, answer
    document = json.loads(answer.body)
    assert isinstance(document['title'], str), document
    assert isinstance(document['description'], str), document
    if title is not None:
        assert document['title'] == title, document
    if description is not None:
        assert description.lower() in document['description'].lower(), \
            document
    return document


@ON_SQLITE
@pytest.mark.parametrize('target', [
    b'/v2/queues?limit=%ff', b'/v2/queues?%ff=1',
    b'/v2/queues/q/messages?marker=%c3%28'])
def test_query_string_that_is_not_utf8_is_400(client: ApiClient,
                                              target: bytes) -> None:
    # It was a 500: WebOb raised while parsing the query string.
    _error(_request(client, 'GET', target), 400, 'Invalid API request',
           'UTF-8')


@ON_SQLITE
@pytest.mark.parametrize('target', [b'/%ff%fe', b'/v2/queues/%ed%a0%80',
                                    b'/v2/%c0%af'])
def test_path_that_is_not_utf8_is_400(client: ApiClient,
                                      target: bytes) -> None:
    # It was a 500: the error hook read the undecodable path again.
    _error(_request(client, 'GET', target), 400, 'Invalid API request',
           'UTF-8')


@ON_SQLITE
@pytest.mark.parametrize('target', [
    b'/v2/queues?marker=%zz', b'/v2/queues?limit=5%', b'/v2/queues?%%=1',
    b'/v2/queues/q/messages?ids=%g1'])
def test_percent_that_starts_no_escape_is_400(client: ApiClient,
                                              target: bytes) -> None:
    # It was taken literally (a marker of "%zz").
    _error(_request(client, 'GET', target), 400, 'Invalid API request',
           'two hexadecimal digits')


@ON_SQLITE
def test_body_shorter_than_its_content_length_is_400(
        client: ApiClient) -> None:
    # It was a 500 once the server's read timed out.
    answer = _request(client, 'PUT', b'/v2/queues/short', [
        ('Content-Type', b'application/json')], b'{}', framing='100',
        half_close=True)
    _error(answer, 400, 'Invalid request body', 'shorter than')
    assert 'short' not in _queue_names(client)


@ON_SQLITE
@pytest.mark.parametrize('length', ['abc', '-1', '1e3'])
def test_content_length_that_is_no_length_is_400(client: ApiClient,
                                                 length: str) -> None:
    # It was read as no body at all. The HTTP server may refuse it first,
    # without a body; when the app does, it says which header.
    answer = _request(client, 'PUT', b'/v2/queues/badlength', [
        ('Content-Type', b'application/json')], b'{}', framing=length)
    assert answer.status == 400, answer
    if answer.from_app:
        _error(answer, 400, 'Invalid header value', 'Content-Length')
    assert 'badlength' not in _queue_names(client)


@ON_SQLITE
def test_integer_of_thousands_of_digits_is_400(client: ApiClient) -> None:
    # It was "could not be parsed": Python refuses to convert over 4,300
    # digits.
    answer = _request(client, 'POST', b'/v2/queues/digits/messages', [
        ('Content-Type', b'application/json')],
        b'{"messages": [{"body": ' + b'9' * 5000 + b'}]}')
    _error(answer, 400, 'Invalid request body', 'integer that is too large')


@ON_SQLITE
def test_chunked_body_is_read(client: ApiClient) -> None:
    # It was taken as no body ("No messages were found").
    answer = _request(client, 'POST', b'/v2/queues/chunked/messages', [
        ('Content-Type', b'application/json')],
        json.dumps({'messages': [{'body': 'x' * 10000}]}).encode(),
        framing='chunked')
    assert answer.status == 201, answer
    assert client.list_messages('chunked')[0]['body'] == 'x' * 10000


@ON_SQLITE
def test_chunked_body_over_the_limit_is_400(client: ApiClient) -> None:
    answer = _request(client, 'PUT', b'/v2/queues/chunkbig', [
        ('Content-Type', b'application/json')],
        json.dumps({'k': 'x' * 70000}).encode(), framing='chunked')
    _error(answer, 400, 'Invalid API request', 'too large')


@ON_SQLITE
@pytest.mark.parametrize('name', ['X-Project-Id', 'Client-ID'])
def test_header_that_is_not_utf8_is_400(client: ApiClient,
                                        name: str) -> None:
    # Taken as Latin-1 text before: a project "\xff\xfe" was a project.
    # Some HTTP servers pass such a value on as an empty one; either way
    # the app refuses it.
    answer = _request(client, 'GET', b'/v2/queues', [(name, b'\xff\xfe')])
    _error(answer, 400)


@ON_SQLITE
def test_utf8_header_is_read_as_text(client: ApiClient) -> None:
    # A server that passes on a UTF-8 project header makes it the same
    # project as the one a WebSocket client names; one that blanks it
    # refuses it, and so does one that drops it (zaqar-server: granian
    # hands on only header values of visible ASCII).
    answer = _request(client, 'PUT', b'/v2/queues/utf8', [
        ('X-Project-Id', 'café'.encode())])
    assert answer.status in (201, 204, 400), answer
    if answer.status == 400:
        title = json.loads(answer.body)['title']
        assert title in ('Empty project header not allowed',
                         'Project-Id Missing'), answer


# -- what the HTTP server itself must answer ---------------------------------


@ON_SQLITE
def test_malformed_http_is_answered(client: ApiClient) -> None:
    server = _server_of(client)
    head = (b'Host: localhost\r\nConnection: close\r\nClient-ID: ' +
            client.client_id.encode() + b'\r\nX-Project-Id: ' +
            client.project_id.encode() + b'\r\n')
    cases = {
        'garbage request line': (b'\x16\x03\x01\x02\x00\x01\x00\x01\xfc'
                                 b'\x03\x03\r\n\r\n', {400}),
        'no HTTP version': (b'GET /v2/queues\r\n\r\n', {400}),
        'space in the target': (b'GET /v2/queues/a b HTTP/1.1\r\n' + head +
                                b'\r\n', {400}),
        '70,000-character URL': (b'GET /v2/queues?marker=' + b'a' * 70000 +
                                 b' HTTP/1.1\r\n' + head + b'\r\n', {414}),
        'very many headers': (b'GET /v2/queues HTTP/1.1\r\n' + head +
                              b''.join(b'X-H%d: v\r\n' % i
                                       for i in range(2000)) + b'\r\n',
                              {431}),
        'a 1 MB header': (b'GET /v2/queues HTTP/1.1\r\n' + head +
                          b'X-Big: ' + b'v' * 1_000_000 + b'\r\n\r\n',
                          {431}),
        'a header line without a colon': (b'GET /v2/queues HTTP/1.1\r\n' +
                                          head + b'NoColon\r\n\r\n', {400}),
        # uWSGI's worker died of it (SIGSEGV).
        'X-Forwarded-Proto not UTF-8': (b'GET /v2/queues HTTP/1.1\r\n' +
                                        head + b'X-Forwarded-Proto: \xff'
                                        b'\r\n\r\n', {200}),
    }
    wrong = {}
    for name, (raw, statuses) in cases.items():
        try:
            answer = exchange(server, raw)
        except AssertionError as exc:
            wrong[name] = str(exc)
            continue
        if answer.status not in statuses:
            wrong[name] = f'{answer.status}, expected {statuses}'
    assert not wrong, wrong
