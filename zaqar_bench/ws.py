"""A lean WebSocket (RFC 6455) client on a raw asyncio protocol.

Built like ``http``, for the same reason: the bench shares the machine
with the server it measures, so every cycle it spends is taken from the
server. A request is a payload encoded once by the caller
(``Request``); sending it costs a fresh 4-byte mask (``random``, not
``os.urandom``: no syscall), the XOR (``websockets``' C ``apply_mask``
when installed) and one write. The receive side parses frames
(fragmented messages, pings answered with pongs, the close handshake)
and hands each Zaqar reply to the oldest request still waiting:
Zaqar answers in request order and has no request ids. A frame that is
not a reply (a push notification) is counted and skipped.

Any number of requests may be in flight on one connection (pipelining):
concurrent callers of ``Connection.request`` share it, each awaiting its
own future. No extension or subprotocol is offered.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import random
import re
import ssl
import time
import urllib.parse
from collections import deque
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any
from typing import NamedTuple

from zaqar_bench.http import ConnectionClosed
from zaqar_bench.http import ProtocolError


def py_apply_mask(data: bytes, mask: bytes) -> bytes:
    """XOR ``data`` with the 4-byte ``mask`` repeated, in pure Python
    (one big-integer XOR: ~20 us for 10 KB, the C version ~0.5 us)."""
    size = len(data)
    if not size:
        return b''
    stream = (mask * (size // 4 + 1))[:size]
    return (int.from_bytes(data, 'little')
            ^ int.from_bytes(stream, 'little')).to_bytes(size, 'little')


try:
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - websockets ships the C module
    apply_mask = py_apply_mask

CONTINUATION, TEXT, BINARY = 0x0, 0x1, 0x2
CLOSE, PING, PONG = 0x8, 0x9, 0xA
_DATA = (TEXT, BINARY)
_CONTROL = (CLOSE, PING, PONG)
_GUID = b'258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
_HEAD_END = b'\r\n\r\n'
# Seconds our close waits for the server's close frame before dropping.
CLOSE_TIMEOUT = 1.0

# The end of a JSON reply whose last member is {"status": N}: that is
# only possible at the top level of a valid document, so the status is
# known without parsing the rest (upstream echoes the whole request, 10+
# KB for a post: json.loads of it costs ~15 us, this ~0.3 us).
_STATUS_TAIL = re.compile(
    rb'"headers"\s*:\s*\{\s*"status"\s*:\s*(\d{3})\s*\}\s*\}\s*\Z')
_TAIL_LENGTH = 64


def _randbytes4() -> bytes:
    return random.getrandbits(32).to_bytes(4, 'big')


def frame_header(opcode: int, length: int, masked: bool = True) -> bytes:
    """First bytes of a final frame, up to (not including) the mask."""
    first = 0x80 | opcode
    mask_bit = 0x80 if masked else 0
    if length < 126:
        return bytes((first, mask_bit | length))
    if length < 65536:
        return bytes((first, mask_bit | 126)) + length.to_bytes(2, 'big')
    return bytes((first, mask_bit | 127)) + length.to_bytes(8, 'big')


def encode_frame(opcode: int, payload: bytes) -> bytes:
    """One final client frame (masked), e.g. a pong or a close."""
    mask = _randbytes4()
    return (frame_header(opcode, len(payload)) + mask
            + apply_mask(payload, mask))


class Request:
    """An encoded request: a data frame's header and payload, masked
    afresh on each send."""

    __slots__ = ('head', 'payload', 'action')

    def __init__(self, payload: bytes, binary: bool = False,
                 action: str = '') -> None:
        self.payload = payload
        self.head = frame_header(BINARY if binary else TEXT, len(payload))
        # For messages about it only.
        self.action = action

    def frame(self) -> bytes:
        mask = _randbytes4()
        return self.head + mask + apply_mask(self.payload, mask)

    def __repr__(self) -> str:
        return f'<ws.Request {self.action} {len(self.payload)} B>'


class Reply(NamedTuple):
    """A Zaqar reply: its ``headers.status``, the frame's payload and,
    when it had to be decoded to tell it was a reply, the document."""

    status: int
    payload: bytes
    binary: bool
    doc: dict[str, Any] | None

    def document(self) -> dict[str, Any]:
        """The decoded envelope (``request``, ``body``, ``headers``)."""
        if self.doc is not None:
            return self.doc
        return decode(self.payload, self.binary)

    @property
    def body(self) -> Any:
        return self.document().get('body')


def decode(payload: bytes, binary: bool) -> Any:
    """JSON (text frame) or MessagePack (binary frame).

    Raises:
        ProtocolError: undecodable.
    """
    try:
        if binary:
            import msgpack
            return msgpack.unpackb(payload)
        return json.loads(payload)
    except Exception as exc:
        kind = 'MessagePack' if binary else 'JSON'
        raise ProtocolError(f'a frame that is not {kind}: {exc}') from None


def _status(doc: Any) -> int | None:
    """``doc["headers"]["status"]`` when it is an int, else None."""
    if isinstance(doc, dict):
        headers = doc.get('headers')
        if isinstance(headers, dict):
            status = headers.get('status')
            if isinstance(status, int) and not isinstance(status, bool):
                return status
    return None


def _msgpack_status(payload: bytes) -> int | None:
    """The status of a MessagePack reply, reading only its ``headers``
    member: the others (the echoed request...) are skipped without
    building objects, ~2 us instead of ~5 us for a 10 KB post reply.
    None when the frame is not a map with a status.

    Raises:
        ProtocolError: undecodable.
    """
    import msgpack
    unpacker = msgpack.Unpacker()
    unpacker.feed(payload)
    try:
        members = unpacker.read_map_header()
    except Exception:
        # Not a map (so not a reply), or broken: tell which the slow way.
        return _status(decode(payload, True))
    try:
        for _ in range(members):
            if unpacker.unpack() == 'headers':
                return _status({'headers': unpacker.unpack()})
            unpacker.skip()
    except Exception as exc:
        raise ProtocolError(
            f'a frame that is not MessagePack: {exc!r}') from None
    return None


def classify(payload: bytes, binary: bool) -> Reply | None:
    """The reply in a data frame, or None when the frame is not a reply
    (a push notification, which has no ``headers.status``).

    Raises:
        ProtocolError: undecodable.
    """
    if binary:
        status = _msgpack_status(payload)
        return None if status is None else Reply(status, payload, True,
                                                 None)
    found = _STATUS_TAIL.search(payload, max(0, len(payload) - _TAIL_LENGTH))
    if found is not None:
        return Reply(int(found[1]), payload, False, None)
    doc = decode(payload, False)
    status = _status(doc)
    return None if status is None else Reply(status, payload, False, doc)


class FrameParser:
    """Incremental parser of server-to-client frames.

    ``feed`` takes bytes as they arrive and returns ``(opcode, payload)``
    for every whole message (fragments joined) and every control frame
    (which may come between the fragments of a message).
    """

    def __init__(self) -> None:
        # Bytes of an incomplete frame, and how many it takes at least
        # to go on (the whole frame once its header is known).
        self._buf = bytearray()
        self._need = 0
        # The fragmented message being assembled: its opcode and parts.
        self._opcode = 0
        self._parts: list[bytes] = []

    @property
    def pending(self) -> bool:
        return bool(self._buf) or bool(self._opcode)

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        # Parsed from an immutable ``bytes``: a payload is then one slice
        # (one copy). Bytes of an incomplete frame wait in _buf until the
        # frame is whole, so a large frame is not copied per read.
        if self._buf:
            buf = self._buf
            buf += data
            if len(buf) < self._need:
                return []
            data = bytes(buf)
            buf.clear()
        out: list[tuple[int, bytes]] = []
        pos = 0
        size = len(data)
        while True:
            if size - pos < 2:
                need = 2
                break
            first = data[pos]
            second = data[pos + 1]
            if first & 0x70:
                raise ProtocolError('a frame with reserved bits set (no '
                                    'extension was negotiated)')
            if second & 0x80:
                raise ProtocolError('a masked frame from the server')
            length = second & 0x7F
            at = pos + 2
            if length == 126:
                if size - pos < 4:
                    need = 4
                    break
                length = int.from_bytes(data[at:at + 2], 'big')
                at += 2
            elif length == 127:
                if size - pos < 10:
                    need = 10
                    break
                length = int.from_bytes(data[at:at + 8], 'big')
                at += 8
            end = at + length
            if end > size:
                need = end - pos
                break
            payload = data[at:end]
            pos = end
            opcode = first & 0x0F
            final = first & 0x80
            if opcode in _DATA:
                if self._opcode:
                    raise ProtocolError('a new message inside a '
                                        'fragmented one')
                if final:
                    out.append((opcode, payload))
                else:
                    self._opcode = opcode
                    self._parts = [payload]
            elif opcode == CONTINUATION:
                if not self._opcode:
                    raise ProtocolError('a continuation frame outside a '
                                        'fragmented message')
                self._parts.append(payload)
                if final:
                    out.append((self._opcode, b''.join(self._parts)))
                    self._opcode = 0
                    self._parts = []
            elif opcode in _CONTROL:
                if not final or length > 125:
                    raise ProtocolError('a fragmented or long control '
                                        'frame')
                out.append((opcode, payload))
            else:
                raise ProtocolError(f'unknown frame opcode {opcode:#x}')
        if pos < size:
            self._buf += data[pos:]
            self._need = need
        return out


@dataclass(frozen=True)
class WsEndpoint:
    """``ws://host:port/path`` or ``wss://...``; any path works for Zaqar.
    """

    host: str
    port: int
    tls: bool
    # Request target of the opening handshake (path and query).
    target: str

    @classmethod
    def from_url(cls, url: str) -> WsEndpoint:
        """Raises ValueError: another scheme, or no host."""
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ('ws', 'wss') or not parts.hostname:
            raise ValueError(f'not a ws(s) URL: {url!r}')
        tls = parts.scheme == 'wss'
        target = parts.path or '/'
        if parts.query:
            target += '?' + parts.query
        return cls(host=parts.hostname, port=parts.port or (443 if tls
                                                            else 80),
                   tls=tls, target=target)

    @property
    def host_header(self) -> str:
        host = f'[{self.host}]' if ':' in self.host else self.host
        default = 443 if self.tls else 80
        return host if self.port == default else f'{host}:{self.port}'


class HandshakeError(ProtocolError):
    """The server did not switch to WebSocket."""


class AuthError(ConnectionError):
    """``authenticate`` on a new connection was not answered 200."""


class ServerClosed(ConnectionClosed):
    """The server closed the connection (``code`` 1006: without a close
    frame)."""

    def __init__(self, code: int = 1006, reason: str = '') -> None:
        ConnectionError.__init__(
            self, f'connection closed by the server (code {code}'
                  + (f' {reason!r})' if reason else ')'))
        self.partial = True
        self.code = code
        self.reason = reason


def handshake_request(endpoint: WsEndpoint, key: bytes) -> bytes:
    return (f'GET {endpoint.target} HTTP/1.1\r\n'
            f'Host: {endpoint.host_header}\r\n'
            'Upgrade: websocket\r\nConnection: Upgrade\r\n'
            f'Sec-WebSocket-Key: {key.decode()}\r\n'
            'Sec-WebSocket-Version: 13\r\n\r\n').encode('ascii')


def expected_accept(key: bytes) -> bytes:
    # SHA-1 is what RFC 6455 specifies here; not used for security.
    return base64.b64encode(
        hashlib.sha1(key + _GUID, usedforsecurity=False).digest())


def check_handshake(head: bytes, key: bytes) -> None:
    """Raises HandshakeError unless ``head`` (the response head, without
    its final empty line) accepts the opening handshake sent with ``key``.
    """
    lines = head.split(b'\r\n')
    status = lines[0].split(b' ', 2)
    if len(status) < 2 or not status[0].startswith(b'HTTP/1.'):
        raise HandshakeError(f'not an HTTP response to the WebSocket '
                             f'handshake: {lines[0][:60]!r}')
    if status[1] != b'101':
        raise HandshakeError('WebSocket handshake refused: HTTP '
                             + status[1].decode('latin-1'))
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b':')
        headers[name.strip().lower()] = value.strip()
    if headers.get(b'sec-websocket-accept') != expected_accept(key):
        raise HandshakeError('WebSocket handshake: wrong '
                             'Sec-WebSocket-Accept')
    if headers.get(b'sec-websocket-extensions'):
        raise HandshakeError('WebSocket handshake: the server chose an '
                             'extension that was not offered')


class _WsProtocol(asyncio.Protocol):
    def __init__(self, endpoint: WsEndpoint) -> None:
        self.endpoint = endpoint
        self.transport: asyncio.Transport | None = None
        self.loop = asyncio.get_running_loop()
        self.key = base64.b64encode(random.randbytes(16))
        self.parser = FrameParser()
        # Futures of the requests in flight, oldest first, with the
        # time.monotonic() each was sent; the opening handshake is the
        # first one (its result is None).
        self.pending: deque[tuple[asyncio.Future, float]] = deque()
        self.handshaking = True
        self._head = bytearray()
        self.closed = False
        self.close_sent = False
        self.lost = self.loop.create_future()
        self._close_timer: asyncio.TimerHandle | None = None
        # What requests in flight fail with when we abort on purpose.
        self.abort_reason: Exception | None = None
        self.close_code = 1006
        self.close_reason = ''
        # Frames that were not replies (push notifications).
        self.pushes = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.pending.append((self.loop.create_future(), time.monotonic()))
        self.transport.write(handshake_request(self.endpoint, self.key))

    @property
    def opened(self) -> asyncio.Future:
        return self.pending[0][0]

    def send(self, request: Request) -> asyncio.Future[Reply]:
        waiter = self.loop.create_future()
        self.pending.append((waiter, time.monotonic()))
        self.transport.write(request.frame())  # type: ignore[union-attr]
        return waiter

    def data_received(self, data: bytes) -> None:
        if self.handshaking:
            head = self._head
            head += data
            end = head.find(_HEAD_END)
            if end < 0:
                if len(head) > 65536:
                    self._fail(HandshakeError('handshake response head '
                                              'larger than 64 KiB'))
                return
            try:
                check_handshake(bytes(head[:end]), self.key)
            except HandshakeError as exc:
                self._fail(exc)
                return
            self.handshaking = False
            data = bytes(head[end + 4:])
            self._head = bytearray()
            waiter = self.pending.popleft()[0]
            if not waiter.done():
                waiter.set_result(None)
            if not data:
                return
        try:
            for opcode, payload in self.parser.feed(data):
                if opcode == TEXT or opcode == BINARY:
                    if self.close_sent:
                        continue  # answers to what our close abandoned
                    reply = classify(payload, opcode == BINARY)
                    if reply is None:
                        self.pushes += 1
                        continue
                    if not self.pending:
                        raise ProtocolError('a reply without a request')
                    waiter = self.pending.popleft()[0]
                    if not waiter.done():
                        waiter.set_result(reply)
                elif opcode == PING:
                    # Also while our close is unanswered (a control frame).
                    transport = self.transport
                    if transport is not None and not transport.is_closing():
                        transport.write(encode_frame(PONG, payload))
                elif opcode == CLOSE:
                    self._close_received(payload)
                    return
        except ProtocolError as exc:
            self._fail(exc)

    def _close_received(self, payload: bytes) -> None:
        if len(payload) >= 2:
            self.close_code = int.from_bytes(payload[:2], 'big')
            self.close_reason = payload[2:].decode('utf-8', 'replace')
        else:
            self.close_code = 1005
        self._fail_pending(ServerClosed(self.close_code, self.close_reason))
        transport = self.transport
        assert transport is not None
        if not self.close_sent:
            # Echo the code, as RFC 6455 asks.
            self.close_sent = True
            transport.write(encode_frame(CLOSE, payload[:2]))
        transport.close()
        # No more requests on it: the next one opens a new connection.
        self.closed = True

    def close(self, code: int = 1000) -> None:
        """Start the close handshake; drop the TCP connection when the
        server has answered, or after CLOSE_TIMEOUT."""
        transport = self.transport
        if self.closed or transport is None or transport.is_closing():
            return
        self._fail_pending(ConnectionAbortedError(
            'connection closed by the bench'))
        if self.handshaking or self.close_sent:
            transport.abort()
            return
        self.close_sent = True
        transport.write(encode_frame(CLOSE, code.to_bytes(2, 'big')))
        self._close_timer = self.loop.call_later(CLOSE_TIMEOUT,
                                                 transport.abort)

    def eof_received(self) -> bool:
        return False  # let the transport close

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._close_timer is not None:
            self._close_timer.cancel()
        if self.abort_reason is not None:
            reason: Exception = self.abort_reason
        elif self.handshaking and isinstance(exc, Exception):
            reason = exc
        else:
            reason = ServerClosed(self.close_code, self.close_reason)
        self._fail_pending(reason)
        if not self.lost.done():
            self.lost.set_result(None)

    def _fail_pending(self, exc: Exception) -> None:
        pending = self.pending
        while pending:
            waiter = pending.popleft()[0]
            if not waiter.done():
                waiter.set_exception(exc)

    def _fail(self, exc: Exception) -> None:
        self._fail_pending(exc)
        self.closed = True
        if self.transport is not None:
            self.transport.abort()


class Connection:
    """One WebSocket connection that any number of concurrent callers
    share, each request pipelined after the ones in flight.

    It (re)connects on demand: a request on a closed connection opens a new
    one first (one attempt at a time however many callers wait), sending
    ``hello`` (``authenticate``) first when given.
    """

    def __init__(self, endpoint: WsEndpoint,
                 hello: Request | None = None) -> None:
        self.endpoint = endpoint
        self.hello = hello
        self._proto: _WsProtocol | None = None
        # The connection being opened (handshake, authenticate).
        self._opening: _WsProtocol | None = None
        # The last one closed, for wait_closed.
        self._closing: _WsProtocol | None = None
        self._connecting: asyncio.Future[_WsProtocol] | None = None

    @property
    def busy_since(self) -> float | None:
        """time.monotonic() when the oldest request in flight (or the
        opening handshake) was sent, None when idle; the runner's watchdog
        aborts stale ones."""
        proto = self._proto or self._opening
        if proto is None or not proto.pending:
            return None
        return proto.pending[0][1]

    @property
    def pushes(self) -> int:
        """Frames skipped as not replies on the current connection."""
        return 0 if self._proto is None else self._proto.pushes

    async def open(self) -> None:
        proto = self._proto
        if proto is None or proto.closed:
            await self._connect()

    async def _connect(self) -> _WsProtocol:
        connecting = self._connecting
        if connecting is not None:
            return await asyncio.shield(connecting)
        loop = asyncio.get_running_loop()
        self._connecting = connecting = loop.create_future()
        try:
            proto = await self._open_new(loop)
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                exc = ConnectionClosed(partial=False)
            connecting.set_exception(exc)
            connecting.exception()  # retrieved: no warning if unawaited
            raise
        finally:
            self._connecting = None
            self._opening = None
        self._proto = proto
        connecting.set_result(proto)
        return proto

    async def _open_new(self, loop: asyncio.AbstractEventLoop
                        ) -> _WsProtocol:
        ep = self.endpoint
        tls = ssl.create_default_context() if ep.tls else None
        _, proto = await loop.create_connection(
            lambda: _WsProtocol(ep), ep.host, ep.port, ssl=tls)
        self._opening = proto
        try:
            await proto.opened
            if self.hello is not None:
                reply = await proto.send(self.hello)
                if reply.status != 200:
                    raise AuthError(f'{self.hello.action}: status '
                                    f'{reply.status} {_detail(reply)}')
        except BaseException:
            proto.close()
            raise
        return proto

    def request(self, request: Request) -> Awaitable[Reply]:
        """Send ``request``; the returned awaitable gives its ``Reply``.

        Raises (when awaited):
            OSError: connecting or the connection failed
                (``ConnectionClosed`` when it closed, ``TimeoutError`` when
                the watchdog gave up on it, ``AuthError``).
            ProtocolError: the server broke the protocol.
        """
        proto = self._proto
        if proto is None or proto.closed:
            return self._connect_and_send(request)
        # A plain function returning the future: one coroutine frame less
        # per request than an ``async def``.
        return proto.send(request)

    async def _connect_and_send(self, request: Request) -> Reply:
        proto = await self._connect()
        return await proto.send(request)

    def abort(self, reason: Exception) -> None:
        """Drop the connection now; requests in flight raise ``reason``."""
        proto = self._proto or self._opening
        if proto is not None and proto.transport is not None:
            proto.abort_reason = reason
            proto.transport.abort()

    def close(self) -> None:
        """Start the close handshake (see ``wait_closed``); requests in
        flight fail with ``ConnectionAbortedError``."""
        proto = self._proto
        self._proto = None
        if proto is not None:
            self._closing = proto
            proto.close()

    async def wait_closed(self) -> None:
        """Close, and wait until the connection has ended (the close
        handshake takes at most ``CLOSE_TIMEOUT``)."""
        self.close()
        proto = self._closing
        self._closing = None
        if proto is not None:
            await asyncio.shield(proto.lost)


def _detail(reply: Reply) -> str:
    try:
        body = reply.body
    except ProtocolError:
        return ''
    return json.dumps(body)[:300] if body is not None else ''
