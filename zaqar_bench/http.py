"""A lean keep-alive HTTP/1.1 client on a raw asyncio protocol.

The bench shares the machine with the server it measures, so every cycle
it spends on a request is taken from the server. General-purpose clients
(``http.client``, aiohttp, requests) parse every header into objects and
build each request from parts. Here a request is bytes encoded once by the
caller, and the response parser looks only at what it needs: the status,
how the body is framed (``Content-Length``, chunked or until close) and
whether the connection stays open. One connection carries one request at
a time; the worker that owns it awaits a single future per request.
"""

from __future__ import annotations

import asyncio
import ssl
import time
import urllib.parse
from dataclasses import dataclass
from typing import NamedTuple

# Statuses that never carry a body (RFC 9112, section 6.3).
_NO_BODY = (204, 304)
_HEAD_END = b'\r\n\r\n'


class Response(NamedTuple):
    status: int
    body: bytes
    # False when the server will close the connection after this response.
    keep_alive: bool


class ProtocolError(Exception):
    """The server sent something that is not an HTTP/1.1 response."""


class ConnectionClosed(ConnectionError):
    """The connection ended before a whole response arrived.

    ``partial`` tells whether any byte of a response had been received: a
    reused connection closed with nothing received was closed by the server
    while idle, and the request can be sent again on a new one.
    """

    def __init__(self, partial: bool) -> None:
        super().__init__('connection closed by the server'
                         + (' mid-response' if partial else ''))
        self.partial = partial


class ResponseParser:
    """Incremental parser of HTTP/1.x responses.

    ``feed`` takes bytes as they arrive and returns the responses they
    complete; ``feed_eof`` completes a body framed by the end of the
    connection. Responses to HEAD requests are not supported: the bench
    sends none.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        # Framing of the response whose head was parsed, if any.
        self._status = 0
        self._body_at = -1
        self._length = -1
        self._chunked = False
        self._keep_alive = True

    @property
    def pending(self) -> bool:
        """True while part of a response has been received."""
        return bool(self._buf) or self._body_at >= 0

    def feed(self, data: bytes) -> list[Response]:
        buf = self._buf
        buf += data
        done: list[Response] = []
        while buf:
            if self._body_at < 0 and not self._parse_head():
                break
            response = self._take_body()
            if response is None:
                break
            done.append(response)
        return done

    def feed_eof(self) -> Response | None:
        """The response whose body ran until the connection closed."""
        if self._body_at >= 0 and self._length < 0 and not self._chunked:
            body = bytes(self._buf[self._body_at:])
            self._buf.clear()
            self._body_at = -1
            return Response(self._status, body, False)
        return None

    def _parse_head(self) -> bool:
        buf = self._buf
        while True:
            end = buf.find(_HEAD_END)
            if end < 0:
                if len(buf) > 65536:
                    raise ProtocolError('response head larger than 64 KiB')
                return False
            head = bytes(buf[:end]).lower()
            if not head.startswith(b'http/1.') or len(head) < 12:
                raise ProtocolError(
                    f'not an HTTP/1.x status line: {head[:40]!r}')
            try:
                status = int(head[9:12])
            except ValueError:
                raise ProtocolError(
                    f'bad status line: {head[:40]!r}') from None
            if status >= 200:
                break
            # Interim (1xx) responses precede the real one: skip them.
            del buf[:end + 4]
        self._status = status
        self._body_at = end + 4
        # HTTP/1.0 closes unless asked not to; 1.1 keeps alive unless told.
        if head[7:8] == b'0':
            self._keep_alive = b'\r\nconnection: keep-alive' in head
        else:
            self._keep_alive = b'\r\nconnection: close' not in head
        self._chunked = False
        self._length = -1
        if status in _NO_BODY:
            self._length = 0
        elif b'\r\ntransfer-encoding:' in head and b'chunked' in head:
            self._chunked = True
        else:
            at = head.find(b'\r\ncontent-length:')
            if at >= 0:
                stop = head.find(b'\r\n', at + 17)
                try:
                    self._length = int(head[at + 17:stop if stop > 0
                                            else len(head)])
                except ValueError:
                    raise ProtocolError('bad Content-Length') from None
            else:
                # No framing: the body runs until the server closes.
                self._keep_alive = False
        return True

    def _take_body(self) -> Response | None:
        buf = self._buf
        start = self._body_at
        if self._chunked:
            found = _parse_chunked(buf, start)
            if found is None:
                return None
            body, end = found
        elif self._length >= 0:
            end = start + self._length
            if len(buf) < end:
                return None
            body = bytes(buf[start:end])
        else:
            return None  # until close: see feed_eof
        del buf[:end]
        self._body_at = -1
        return Response(self._status, body, self._keep_alive)


def _parse_chunked(buf: bytearray, pos: int) -> tuple[bytes, int] | None:
    """(body, end offset) of a complete chunked body, or None if partial.

    Parses from the start of the body every time more bytes arrive: bench
    responses come in few chunks, so this stays cheap and stateless.
    """
    parts = []
    while True:
        eol = buf.find(b'\r\n', pos)
        if eol < 0:
            return None
        size_field = bytes(buf[pos:eol]).split(b';', 1)[0].strip()
        try:
            size = int(size_field, 16)
        except ValueError:
            raise ProtocolError(f'bad chunk size {size_field!r}') from None
        pos = eol + 2
        if size == 0:
            break
        if len(buf) < pos + size + 2:
            return None
        parts.append(bytes(buf[pos:pos + size]))
        pos += size + 2
    # Trailer fields, then the empty line that ends the message.
    while True:
        eol = buf.find(b'\r\n', pos)
        if eol < 0:
            return None
        if eol == pos:
            return b''.join(parts), eol + 2
        pos = eol + 2


@dataclass(frozen=True)
class Endpoint:
    """Where requests go: host, port, TLS or not, and the API's path
    prefix, all taken from a URL by ``from_url``."""

    host: str
    port: int
    tls: bool
    # Path prefix of the API, without the trailing slash ('' at the root).
    prefix: str

    @classmethod
    def from_url(cls, url: str) -> Endpoint:
        """``http://host:port[/prefix]`` or ``https://...``.

        Raises:
            ValueError: another scheme, or no host.
        """
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ('http', 'https') or not parts.hostname:
            raise ValueError(f'not an http(s) URL: {url!r}')
        tls = parts.scheme == 'https'
        port = parts.port or (443 if tls else 80)
        return cls(host=parts.hostname, port=port, tls=tls,
                   prefix=parts.path.rstrip('/'))

    @property
    def host_header(self) -> str:
        host = f'[{self.host}]' if ':' in self.host else self.host
        default = 443 if self.tls else 80
        return host if self.port == default else f'{host}:{self.port}'


def encode_request(method: str, target: str, headers: bytes,
                   body: bytes = b'') -> bytes:
    """Request bytes ready to write.

    Args:
        method: ``GET``, ``POST``...
        target: origin-form path with query, ASCII.
        headers: header lines, each ending in CRLF (see ``encode_headers``).
        body: the body; a Content-Length is added for any method that
            may carry one.
    """
    length = (b'Content-Length: %d\r\n' % len(body)
              if body or method in ('POST', 'PUT', 'PATCH') else b'')
    return b''.join((method.encode('ascii'), b' ', target.encode('ascii'),
                     b' HTTP/1.1\r\n', headers, length, b'\r\n', body))


def encode_headers(headers: dict[str, str]) -> bytes:
    return b''.join(f'{name}: {value}\r\n'.encode('latin-1')
                    for name, value in headers.items())


class _ClientProtocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = ResponseParser()
        self.waiter: asyncio.Future[Response] | None = None
        self.closed = False
        # Whether a response has come over this connection yet.
        self.used = False
        # What a request in flight fails with when we abort on purpose.
        self.abort_reason: Exception | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            responses = self.parser.feed(data)
        except ProtocolError as exc:
            self._fail(exc)
            return
        for response in responses:
            waiter = self.waiter
            self.waiter = None
            if waiter is None or waiter.done():
                self._fail(ProtocolError('response without a request'))
                return
            waiter.set_result(response)

    def eof_received(self) -> bool:
        return False  # let the transport close

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self.waiter
        self.waiter = None
        if waiter is None or waiter.done():
            return
        response = self.parser.feed_eof()
        if response is not None:
            waiter.set_result(response)
        elif self.abort_reason is not None:
            waiter.set_exception(self.abort_reason)
        elif isinstance(exc, Exception):
            waiter.set_exception(exc)
        else:
            waiter.set_exception(ConnectionClosed(self.parser.pending))

    def _fail(self, exc: Exception) -> None:
        waiter = self.waiter
        self.waiter = None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        if self.transport is not None:
            self.transport.abort()


class Connection:
    """One keep-alive connection that sends one request at a time.

    It (re)connects on demand: a request on a closed connection opens a new
    one first, and a request that finds an idle connection closed by the
    server is sent again once on a fresh one.
    """

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self._proto: _ClientProtocol | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # time.monotonic() when the request in flight was sent, else None;
        # the runner's watchdog aborts requests older than the timeout.
        self.busy_since: float | None = None

    async def open(self) -> None:
        await self._connect()

    async def _connect(self) -> _ClientProtocol:
        # Kept: asyncio.get_running_loop() costs a getpid() syscall.
        self._loop = loop = asyncio.get_running_loop()
        ep = self.endpoint
        tls = ssl.create_default_context() if ep.tls else None
        _, proto = await loop.create_connection(
            _ClientProtocol, ep.host, ep.port, ssl=tls)
        self._proto = proto
        return proto

    async def request(self, data: bytes) -> Response:
        """Send encoded request bytes and return the whole response.

        Raises:
            OSError: connecting or the connection failed
                (``ConnectionClosed`` when the server closed it,
                ``TimeoutError`` when the watchdog gave up on it).
            ProtocolError: the response could not be parsed.
        """
        proto = self._proto
        if proto is None or proto.closed:
            proto = await self._connect()
        reused = proto.used
        try:
            response = await self._start(proto, data)
        except ConnectionClosed as exc:
            if exc.partial or not reused:
                raise
            # Closed while idle (keep-alive timeout): one fresh try.
            proto = await self._connect()
            response = await self._start(proto, data)
        finally:
            self.busy_since = None
        proto.used = True
        if not response.keep_alive:
            self.close()
        return response

    def _start(self, proto: _ClientProtocol, data: bytes
               ) -> asyncio.Future[Response]:
        # A plain function returning the future: one coroutine frame less
        # per request than an ``async def``.
        assert self._loop is not None and proto.transport is not None
        waiter = self._loop.create_future()
        proto.waiter = waiter
        proto.transport.write(data)
        self.busy_since = time.monotonic()
        return waiter

    def abort(self, reason: Exception) -> None:
        """Drop the connection now; a request in flight raises ``reason``."""
        proto = self._proto
        if proto is not None and proto.transport is not None:
            proto.abort_reason = reason
            proto.transport.abort()

    def close(self) -> None:
        proto = self._proto
        self._proto = None
        if proto is not None and proto.transport is not None:
            proto.transport.close()

    async def wait_closed(self) -> None:
        """Close (the same as ``close``: HTTP has no closing handshake)."""
        self.close()
