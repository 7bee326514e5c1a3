"""The Zaqar v2 requests the bench sends, ready to write, per transport.

The roles and the setup speak to the server through this seam only: an
``Api`` makes the requests of one client (one ``Client-ID``) and its
connections, and reads the few answers that lead to further requests
(the deletes of a claim, the next page of a listing). ``HttpApi`` speaks
the REST API (``http``), ``WsApi`` the WebSocket API (``ws``); roles do
not know which one they use. ``make_api`` picks by the run's transport.

A worker's requests differ only by queue and, for deletes and later
pages, by what the server handed out. The headers (including the
worker's own ``Client-ID``) are encoded once per worker, and the bodies of
posts and claims once per worker too, so the loops do no encoding.
"""

from __future__ import annotations

import json
import urllib.parse
import uuid
from collections.abc import Awaitable
from typing import Any
from typing import Protocol

from zaqar_bench import ws
from zaqar_bench.config import BenchConfig
from zaqar_bench.http import Connection as HttpConnection
from zaqar_bench.http import Endpoint
from zaqar_bench.http import Response as HttpResponse
from zaqar_bench.http import encode_headers
from zaqar_bench.http import encode_request


def message_body(size: int) -> dict[str, str]:
    """A message body: a JSON object with a padding string of ``size``."""
    return {'padding': 'x' * size}


class Response(Protocol):
    """What every transport's answer has: an HTTP-like status."""

    @property
    def status(self) -> int: ...


class Connection(Protocol):
    """One connection of a worker (``http.Connection``,
    ``ws.Connection``). ``request`` takes the requests of the ``Api``
    that made the connection."""

    @property
    def busy_since(self) -> float | None: ...

    async def open(self) -> None: ...

    def request(self, data: Any) -> Awaitable[Any]: ...

    def abort(self, reason: Exception) -> None: ...

    def close(self) -> None: ...

    async def wait_closed(self) -> None: ...


class Api(Protocol):
    """The requests of one client, whatever the transport.

    Requests are opaque to callers: bytes for HTTP, ``ws.Request`` for
    WebSocket; hand them to a connection from ``connection()``.

    Attributes:
        transport: ``http`` or ``ws``.
    """

    transport: str

    def connection(self) -> Connection: ...

    def ping(self) -> Any: ...

    def create_queue(self, queue: str) -> Any: ...

    def queue_stats(self, queue: str) -> Any: ...

    def post_messages(self, queue: str, count: int, ttl: int,
                      size: int) -> Any: ...

    def claim(self, queue: str, limit: int, ttl: int, grace: int) -> Any: ...

    def list_messages(self, queue: str, limit: int) -> Any: ...

    def deletes(self, response: Any, queue: str) -> list[Any]:
        """The delete of each message of a 201 claim response.

        Raises:
            ValueError, KeyError, TypeError: a malformed response.
        """

    def page(self, response: Any) -> tuple[int, Any]:
        """Messages in a 200 list response, and the request of the next
        page (None when there is none to follow).

        Raises:
            ValueError, KeyError, TypeError, AttributeError: malformed.
        """

    def refusal(self, response: Any) -> str:
        """An error response in a few words, e.g. ``HTTP 400 {...}``."""

    def describe(self, request: Any) -> str:
        """A request in a few words, e.g. ``PUT /v2/queues/q``."""


def make_api(config: BenchConfig, client_id: str | None = None) -> Api:
    """The ``Api`` of a new client for the run's transport.

    Raises:
        ValueError: the transport's URL is malformed.
    """
    if config.transport == 'ws':
        return WsApi(ws.WsEndpoint.from_url(config.ws_url), config.project,
                     config.token, client_id, config.ws_encoding)
    if config.transport != 'http':
        raise ValueError(f'unknown transport {config.transport!r}')
    return HttpApi(Endpoint.from_url(config.url), config.project,
                   config.token, client_id, config.keep_alive)


class HttpApi:
    """Request bytes for one REST client (one ``Client-ID``)."""

    transport = 'http'

    def __init__(self, endpoint: Endpoint, project: str,
                 token: str | None = None,
                 client_id: str | None = None,
                 keep_alive: bool = True) -> None:
        self.endpoint = endpoint
        self.client_id = client_id or str(uuid.uuid4())
        headers = {'Host': endpoint.host_header,
                   'Client-ID': self.client_id,
                   'X-Project-Id': project,
                   'Content-Type': 'application/json',
                   'Accept': 'application/json'}
        if token:
            headers['X-Auth-Token'] = token
        if not keep_alive:
            headers['Connection'] = 'close'
        self.headers = encode_headers(headers)
        self._prefix = endpoint.prefix

    def connection(self) -> HttpConnection:
        return HttpConnection(self.endpoint)

    def path(self, tail: str) -> str:
        """The request target of an API path such as ``/v2/ping``."""
        return self._prefix + tail

    def queue_path(self, queue: str) -> str:
        return self.path('/v2/queues/' + urllib.parse.quote(queue, safe=''))

    def request(self, method: str, target: str, body: bytes = b'') -> bytes:
        return encode_request(method, target, self.headers, body)

    def ping(self) -> bytes:
        return self.request('GET', self.path('/v2/ping'))

    def create_queue(self, queue: str) -> bytes:
        return self.request('PUT', self.queue_path(queue))

    def queue_stats(self, queue: str) -> bytes:
        return self.request('GET', self.queue_path(queue) + '/stats')

    def post_messages(self, queue: str, count: int, ttl: int,
                      size: int) -> bytes:
        message = {'ttl': ttl, 'body': message_body(size)}
        body = json.dumps({'messages': [message] * count},
                          separators=(',', ':')).encode()
        return self.request('POST', self.queue_path(queue) + '/messages',
                            body)

    def claim(self, queue: str, limit: int, ttl: int, grace: int) -> bytes:
        body = json.dumps({'ttl': ttl, 'grace': grace}).encode()
        return self.request(
            'POST', f'{self.queue_path(queue)}/claims?limit={limit}', body)

    def list_messages(self, queue: str, limit: int) -> bytes:
        return self.request(
            'GET', f'{self.queue_path(queue)}/messages?limit={limit}'
                   '&echo=true')

    def follow(self, method: str, href: str) -> bytes:
        """A request to an href from a response body (a message with its
        ``claim_id``, the next page).

        Hrefs are relative to the server root; one that does not already
        carry the URL's path prefix gets it.
        """
        prefix = self._prefix
        if prefix and not href.startswith(prefix + '/'):
            href = prefix + href
        return self.request(method, href)

    def deletes(self, response: HttpResponse, queue: str) -> list[bytes]:
        # Each message's href already carries its claim_id.
        return [self.follow('DELETE', m['href'])
                for m in json.loads(response.body)['messages']]

    def page(self, response: HttpResponse) -> tuple[int, bytes | None]:
        doc = json.loads(response.body)
        count = len(doc['messages'])
        nexts = [link['href'] for link in doc.get('links', ())
                 if link.get('rel') == 'next']
        return count, (self.follow('GET', nexts[0])
                       if count and nexts else None)

    def refusal(self, response: HttpResponse) -> str:
        detail = response.body[:300].decode('utf-8', 'replace').strip()
        return f'HTTP {response.status}' + (f' {detail}' if detail else '')

    def describe(self, request: bytes) -> str:
        return request.split(b' HTTP/1.1\r\n', 1)[0].decode('latin-1')


class WsApi:
    """Requests for one WebSocket client (one ``Client-ID``).

    Each request is ``{"action", "headers", "body"}``: JSON in a text
    frame, or MessagePack in a binary frame (``encoding='msgpack'``). With
    a token, each new connection first sends ``authenticate`` (the
    connection's ``hello``); without one it sends nothing of the kind,
    since a server without auth may drop the connection on it.
    """

    transport = 'ws'

    def __init__(self, endpoint: ws.WsEndpoint, project: str,
                 token: str | None = None, client_id: str | None = None,
                 encoding: str = 'json') -> None:
        if encoding not in ('json', 'msgpack'):
            raise ValueError(f'unknown WebSocket encoding {encoding!r}')
        self.endpoint = endpoint
        self.client_id = client_id or str(uuid.uuid4())
        self.headers = {'Client-ID': self.client_id, 'X-Project-ID': project}
        self.binary = encoding == 'msgpack'
        if self.binary:
            import msgpack
            self._pack = msgpack.packb
        else:
            self._pack = _json_bytes
        self.hello = self.request(
            'authenticate', {},
            {'X-Auth-Token': token, 'X-Project-ID': project}
        ) if token else None
        # JSON deletes are built from a template per queue (see delete).
        self._delete_heads: dict[str, bytes] = {}

    def connection(self) -> ws.Connection:
        return ws.Connection(self.endpoint, self.hello)

    def request(self, action: str, body: dict[str, Any],
                headers: dict[str, Any] | None = None) -> ws.Request:
        return ws.Request(self._pack({
            'action': action,
            'headers': self.headers if headers is None else headers,
            'body': body}), self.binary, action)

    def ping(self) -> ws.Request:
        # Upstream has no ping action: the cheapest read of the project.
        return self.request('queue_list', {'limit': 1})

    def create_queue(self, queue: str) -> ws.Request:
        return self.request('queue_create', {'queue_name': queue})

    def queue_stats(self, queue: str) -> ws.Request:
        return self.request('queue_get_stats', {'queue_name': queue})

    def delete_queue(self, queue: str) -> ws.Request:
        return self.request('queue_delete', {'queue_name': queue})

    def post_messages(self, queue: str, count: int, ttl: int,
                      size: int) -> ws.Request:
        message = {'body': message_body(size), 'ttl': ttl}
        return self.request('message_post', {
            'queue_name': queue, 'messages': [message] * count})

    def claim(self, queue: str, limit: int, ttl: int,
              grace: int) -> ws.Request:
        return self.request('claim_create', {
            'queue_name': queue, 'limit': limit, 'ttl': ttl,
            'grace': grace})

    def list_messages(self, queue: str, limit: int) -> ws.Request:
        return self.request('message_list', {
            'queue_name': queue, 'limit': limit, 'echo': True})

    def delete(self, queue: str, message_id: str,
               claim_id: str | None) -> ws.Request:
        if self.binary:
            return self.request('message_delete', {
                'queue_name': queue, 'message_id': message_id,
                'claim_id': claim_id})
        head = self._delete_heads.get(queue)
        if head is None:
            head = self._delete_heads[queue] = (
                b'{"action":"message_delete","headers":'
                + _json_bytes(self.headers) + b',"body":{"queue_name":'
                + _json_bytes(queue) + b',"message_id":')
        return ws.Request(head + _json_bytes(message_id) + b',"claim_id":'
                          + _json_bytes(claim_id) + b'}}', False,
                          'message_delete')

    def deletes(self, response: ws.Reply, queue: str) -> list[ws.Request]:
        body = response.body
        claim_id = body.get('claim_id')
        delete = self.delete
        return [delete(queue, m['id'], m.get('claim_id') or claim_id)
                for m in body['messages']]

    def page(self, response: ws.Reply) -> tuple[int, ws.Request | None]:
        # A reply's "next" holds the body keys of the next page (this
        # project's server; upstream has none: the first page again).
        document = response.document()
        body = document.get('body') or {}
        count = len(body.get('messages', ()))
        following = body.get('next')
        asked = (document.get('request') or {}).get('body')
        if not count or not isinstance(following, dict) or \
                not isinstance(asked, dict):
            return count, None
        return count, self.request('message_list', {**asked, **following})

    def refusal(self, response: ws.Reply) -> str:
        try:
            detail = json.dumps(response.body)[:300]
        except Exception:
            detail = ''
        return f'status {response.status}' + (f' {detail}' if detail
                                               else '')

    def describe(self, request: ws.Request) -> str:
        return request.action


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, separators=(',', ':')).encode()
