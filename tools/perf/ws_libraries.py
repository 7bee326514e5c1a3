"""Compare WebSocket server libraries for the v2 WebSocket transport.

Each candidate (``websockets`` with its new ``websockets.asyncio.server``
API, ``autobahn`` on asyncio, ``picows``, ``aiohttp``'s
``web.WebSocketResponse``) serves what the Zaqar WebSocket transport does
per message: decode a JSON text frame (or a MessagePack binary frame), run
a trivial action in a thread pool of 8 (``loop.run_in_executor``) or
inline in the loop, and send one reply frame ``{"request": ..., "body":
{"message_ids": [...]}, "headers": {"status": 201}}``, in request order on
each connection, with at most 8 requests in flight per connection.

Checks (``--checks``, all by default):

load
    Server CPU per message (utime+stime of the server process, from
    /proc/<pid>/stat, over the measured window, divided by the replies
    received in it) and throughput at saturation. The load comes from a
    picows client in its own process: 16 connections, each keeping 8
    requests in flight (``pipe8``) or one (``rr``); with the executor hop
    (``exec``) and without it (``inline``); JSON, and MessagePack for one
    scenario. The client's own CPU is shown too, and it checks that the
    replies come back in order.
idle
    Growth of the server's VmRSS while it holds ``--idle-conns`` idle
    connections: with the settings used for ``load`` plus a 20 s
    keepalive ping, and with the library's defaults against a client that
    offers permessage-deflate, as browsers do.
slow
    A client that keeps sending 1 KB requests whose replies are 10 KB and
    never reads. Shows the server's RSS growth, how much the client got to
    send, and whether and how the server closes the connection: with only
    the library's keepalive ping (2 s interval and timeout), and with a
    guard written against the library's API (stop reading while the
    transport is paused, close with 1008 when a send stays blocked for
    2 s).
probe
    Hostile input against each library's defaults: bad handshakes,
    oversized and endless headers, invalid UTF-8, a 10 MiB frame,
    unmasked and reserved frames, a silent connection.

How the servers keep replies in order: with websockets and aiohttp
(``send`` is a coroutine) a reader task starts each request in the pool
and queues its future, up to 8, and a writer task awaits them in turn and
sends; with autobahn and picows (``send`` is a plain call, frames arrive
in callbacks) the futures wait in a deque and a done-callback sends the
finished head of it, reading paused at 8. Inline, each message is
answered from the receive loop or callback. picows hands over frames, so
its server also reassembles fragments, validates UTF-8 and answers CLOSE
itself, as a real server on picows would have to.

Every library takes its turn in every round (``--rounds``), the order
rotating from round to round, and the tables show medians over rounds.
Everything runs on 127.0.0.1. The parent creates the listening socket and
the server process inherits it, as a pre-forked server would. The servers
and clients are subprocesses of this script (hidden ``_server``,
``_load``, ``_idle`` and ``_slow`` subcommands); the parent ends them all
on exit, Ctrl-C included, and each also exits by itself when its parent
goes away or its deadline passes. Child logs go to a temporary folder,
removed at the end unless a check failed or ``WS_LIBRARIES_LOG`` (a
logging level, e.g. ``info``, applied in the servers) is set.

Run from the project root (the default set takes about 20 minutes)::

    .venv/bin/python tools/perf/ws_libraries.py
    .venv/bin/python tools/perf/ws_libraries.py --rounds 5 --time 5 \\
        --libraries picows,websockets --checks load
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import concurrent.futures
import contextlib
import itertools
import json
import os
import resource
import select
import shlex
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import msgpack

LIBRARIES = ('websockets', 'autobahn', 'picows', 'aiohttp')
CHECKS = ('load', 'idle', 'slow', 'probe')
HOST = '127.0.0.1'
DEPTH = 8  # most requests in flight per connection, server side
THREADS = 8  # executor threads
MAX_SIZE = 2**20  # message size limit set by the tuned policies
GUARD_SECONDS = 2.0  # slow reader: longest a send may stay blocked
GUARD_BYTES = 2**20  # slow reader: hard cap on one send buffer
CLOSE_GRACE = 1.0  # seconds between our close frame and the abort
CLK_TCK = os.sysconf('SC_CLK_TCK')
SCRIPT = os.path.abspath(__file__)

# Opcodes for the raw-socket clients.
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10


@dataclass(frozen=True)
class Policy:
    """How a test server configures its library."""

    tuned: bool  # False: the library's defaults, nothing set
    ping: float | None  # keepalive interval and timeout (tuned only)
    guard: bool  # the explicit slow-reader guard


POLICIES = {
    # Compression off, 1 MiB messages, no keepalive, no guard.
    'bench': Policy(tuned=True, ping=None, guard=False),
    'idle': Policy(tuned=True, ping=20.0, guard=False),
    'keepalive': Policy(tuned=True, ping=2.0, guard=False),
    'guard': Policy(tuned=True, ping=None, guard=True),
    'defaults': Policy(tuned=False, ping=None, guard=False),
}


@dataclass(frozen=True)
class Scenario:
    """One load configuration."""

    name: str
    mode: str  # 'exec' or 'inline'
    depth: int  # requests in flight per client connection
    binary: bool  # MessagePack in binary frames instead of JSON text


SCENARIOS = (
    Scenario('pipe8 exec json', 'exec', 8, False),
    Scenario('pipe8 inline json', 'inline', 8, False),
    Scenario('rr exec json', 'exec', 1, False),
    Scenario('rr inline json', 'inline', 1, False),
    Scenario('pipe8 exec msgpack', 'exec', 8, True),
)


# --------------------------------------------------------------------------
# The per-message work, shared by every server.


@dataclass
class ServerConfig:
    mode: str = 'exec'
    policy: Policy = POLICIES['bench']
    pad: str = ''


CFG = ServerConfig()
POOL = concurrent.futures.ThreadPoolExecutor(THREADS)
_ids = itertools.count()

# (future of the action's body, request, binary, status)
Item = tuple['asyncio.Future[Any]', Any, bool, int]


def client_request(n: int, pad: int = 200) -> dict[str, Any]:
    """The message_post request a client sends; ``n`` tags the Client-ID."""
    return {
        'action': 'message_post',
        'headers': {'Client-ID': f'00000000-0000-4000-8000-{n:012d}',
                    'X-Project-ID': 'p'},
        'body': {'queue_name': 'q',
                 'messages': [{'body': {'k': 'v' * pad}, 'ttl': 300}]},
    }


def action(request: Any) -> dict[str, Any]:
    """The trivial storage call: make up a message id."""
    body: dict[str, Any] = {'message_ids': [format(next(_ids), '024x')]}
    if CFG.pad:
        body['pad'] = CFG.pad
    return body


def decode(payload: str | bytes, binary: bool) -> Any:
    if binary:
        return msgpack.unpackb(payload)
    return json.loads(payload)


def encode(obj: Any, binary: bool) -> str | bytes:
    if binary:
        return msgpack.packb(obj)
    return json.dumps(obj)


def reply(request: Any, body: Any, status: int) -> dict[str, Any]:
    return {'request': request, 'body': body, 'headers': {'status': status}}


def handle_inline(payload: str | bytes, binary: bool) -> str | bytes:
    """Decode, act and encode in the loop: no executor hop."""
    try:
        request = decode(payload, binary)
    except ValueError as exc:
        return encode(reply(None, {'error': str(exc)[:200]}, 400), binary)
    return encode(reply(request, action(request), 201), binary)


def start_request(loop: asyncio.AbstractEventLoop, payload: str | bytes,
                  binary: bool) -> Item:
    """Decode in the loop and start the action in the thread pool."""
    try:
        request = decode(payload, binary)
    except ValueError as exc:
        fut = loop.create_future()
        fut.set_result({'error': str(exc)[:200]})
        return fut, None, binary, 400
    return loop.run_in_executor(POOL, action, request), request, binary, 201


class Pipeline:
    """In-order replies for libraries whose send is a plain call.

    Requests start in the pool as they arrive; replies leave in request
    order as the actions finish. At DEPTH requests in flight, reading
    pauses, and the requests that were already read wait in a backlog
    (the transport pauses reading, but the library still hands over
    every frame it has in its buffer). With the guard, the same happens
    while the transport is paused for writing, and the connection is
    closed (``fail``) when it stays paused for GUARD_SECONDS or buffers
    more than GUARD_BYTES.
    """

    def __init__(self, send: Callable[[str | bytes, bool], None],
                 transport: asyncio.Transport,
                 fail: Callable[[], None]) -> None:
        self.loop = asyncio.get_running_loop()
        self.send = send
        self.transport = transport
        self.fail = fail
        self.guard = CFG.policy.guard
        self.pending: collections.deque[Item] = collections.deque()
        self.backlog: collections.deque[tuple[str | bytes, bool]] = (
            collections.deque())
        self.read_paused = False
        self.write_paused = False
        self.timer: asyncio.TimerHandle | None = None
        self.closed = False

    def submit(self, payload: str | bytes, binary: bool) -> None:
        if self.read_paused:
            self.backlog.append((payload, binary))
        else:
            self.start(payload, binary)

    def start(self, payload: str | bytes, binary: bool) -> None:
        item = start_request(self.loop, payload, binary)
        self.pending.append(item)
        item[0].add_done_callback(self.flush)
        if len(self.pending) >= DEPTH and not self.read_paused:
            self.read_paused = True
            self.transport.pause_reading()

    def flush(self, _fut: object = None) -> None:
        pending = self.pending
        while pending and pending[0][0].done():
            fut, request, binary, status = pending.popleft()
            if not self.closed:
                self.send(encode(reply(request, fut.result(), status),
                                 binary), binary)
        if self.closed:
            return
        if (self.guard
                and self.transport.get_write_buffer_size() > GUARD_BYTES):
            self.slow()
            return
        if self.write_paused:
            return
        backlog = self.backlog
        while backlog and len(pending) < DEPTH:
            self.start(*backlog.popleft())
        if self.read_paused and not backlog and len(pending) < DEPTH:
            self.read_paused = False
            self.transport.resume_reading()

    def pause_writing(self) -> None:
        if not self.guard or self.closed:
            return
        self.write_paused = True
        if not self.read_paused:
            self.read_paused = True
            self.transport.pause_reading()
        self.timer = self.loop.call_later(GUARD_SECONDS, self.slow)

    def resume_writing(self) -> None:
        self.write_paused = False
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.flush()

    def slow(self) -> None:
        if not self.closed:
            self.lost()
            self.fail()

    def lost(self) -> None:
        self.closed = True
        self.pending.clear()
        self.backlog.clear()
        if self.timer is not None:
            self.timer.cancel()


async def write_replies(
        queue: asyncio.Queue[Item],
        send: Callable[[str | bytes, bool], Awaitable[None]]) -> bool:
    """Writer task for libraries whose send is a coroutine.

    Returns True when, with the guard, a send stayed blocked too long.
    """
    guard = CFG.policy.guard
    while True:
        fut, request, binary, status = await queue.get()
        data = encode(reply(request, await fut, status), binary)
        if not guard:
            await send(data, binary)
            continue
        try:
            async with asyncio.timeout(GUARD_SECONDS):
                await send(data, binary)
        except TimeoutError:
            return True


async def read_requests(messages: AsyncIterator[tuple[str | bytes, bool]],
                        queue: asyncio.Queue[Item]) -> None:
    loop = asyncio.get_running_loop()
    with contextlib.suppress(Exception):
        async for payload, binary in messages:
            await queue.put(start_request(loop, payload, binary))


async def run_pipelined(
        messages: AsyncIterator[tuple[str | bytes, bool]],
        send: Callable[[str | bytes, bool], Awaitable[None]],
        fail: Callable[[], Awaitable[None]]) -> None:
    """A reader task and a writer task joined by a queue of DEPTH."""
    queue: asyncio.Queue[Item] = asyncio.Queue(DEPTH)
    reader = asyncio.create_task(read_requests(messages, queue))
    writer = asyncio.create_task(write_replies(queue, send))
    await asyncio.wait((reader, writer),
                       return_when=asyncio.FIRST_COMPLETED)
    reader.cancel()
    writer.cancel()
    await asyncio.gather(reader, writer, return_exceptions=True)
    if (writer.done() and not writer.cancelled()
            and writer.exception() is None and writer.result()):
        await fail()


async def close_or_abort(close: Awaitable[Any],
                         transport: asyncio.BaseTransport | None) -> None:
    """Queue a close frame, give it CLOSE_GRACE, then abort.

    A reader that stopped reading will not see the close frame: it sits
    behind the replies already buffered. The abort is what frees them.
    """
    try:
        # TimeoutError, or whatever a half-dead connection raises.
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CLOSE_GRACE):
                await close
    finally:
        # aiohttp cancels the handler when close() times out, having
        # called transport.close(), which waits for the buffer to drain.
        if transport is not None:
            transport.abort()


# --------------------------------------------------------------------------
# One server per library. Each returns once it is listening on ``sock``.


async def start_websockets(sock: socket.socket) -> Any:
    from websockets.asyncio.server import ServerConnection
    from websockets.asyncio.server import serve

    async def messages(ws: ServerConnection) -> AsyncIterator[
            tuple[str | bytes, bool]]:
        async for msg in ws:
            yield msg, not isinstance(msg, str)

    async def handler(ws: ServerConnection) -> None:
        async def send(data: str | bytes, binary: bool) -> None:
            await ws.send(data)

        async def fail() -> None:
            await close_or_abort(ws.close(1008, 'slow reader'),
                                 ws.transport)

        if CFG.mode == 'inline':
            with contextlib.suppress(Exception):
                async for msg in ws:
                    await ws.send(handle_inline(
                        msg, not isinstance(msg, str)))
            return
        await run_pipelined(messages(ws), send, fail)

    policy = CFG.policy
    kwargs: dict[str, Any] = {}
    if policy.tuned:
        kwargs = {'compression': None, 'max_size': MAX_SIZE,
                  'ping_interval': policy.ping, 'ping_timeout': policy.ping}
    return await serve(handler, sock=sock, **kwargs)


async def start_aiohttp(sock: socket.socket) -> Any:
    from aiohttp import WSMsgType
    from aiohttp import web

    policy = CFG.policy
    kwargs: dict[str, Any] = {}
    if policy.tuned:
        kwargs = {'compress': False, 'max_msg_size': MAX_SIZE,
                  'heartbeat': policy.ping}

    async def messages(ws: web.WebSocketResponse) -> AsyncIterator[
            tuple[str | bytes, bool]]:
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                yield msg.data, False
            elif msg.type == WSMsgType.BINARY:
                yield msg.data, True

    async def handler(request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(**kwargs)
        await ws.prepare(request)

        async def send(data: Any, binary: bool) -> None:
            if binary:
                await ws.send_bytes(data)
            else:
                await ws.send_str(data)

        async def fail() -> None:
            await close_or_abort(
                ws.close(code=1008, message=b'slow reader'),
                request.transport)

        if CFG.mode == 'inline':
            async for payload, binary in messages(ws):
                await send(handle_inline(payload, binary), binary)
        else:
            await run_pipelined(messages(ws), send, fail)
        return ws

    app = web.Application()
    app.router.add_get('/{tail:.*}', handler)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.SockSite(runner, sock)
    await site.start()
    return runner


async def start_autobahn(sock: socket.socket) -> Any:
    from autobahn.asyncio.websocket import WebSocketServerFactory
    from autobahn.asyncio.websocket import WebSocketServerProtocol

    loop = asyncio.get_running_loop()

    class Protocol(WebSocketServerProtocol):  # type: ignore[misc]
        pipe: Pipeline | None = None

        def onOpen(self) -> None:  # noqa: N802 - autobahn's API
            if CFG.mode == 'exec':
                self.pipe = Pipeline(self._send, self.transport, self._fail)

        def _send(self, data: str | bytes, binary: bool) -> None:
            if not binary:
                data = data.encode()  # type: ignore[union-attr]
            self.sendMessage(data, binary)

        def _fail(self) -> None:
            # sendClose() only takes 1000 and 3000-4999.
            self.sendCloseFrame(code=1008, reasonUtf8=b'slow reader')
            loop.call_later(CLOSE_GRACE, self.dropConnection, True)

        def onMessage(self, payload: bytes,  # noqa: N802
                      isBinary: bool) -> None:  # noqa: N803
            if self.pipe is None:
                self._send(handle_inline(payload, isBinary), isBinary)
            else:
                self.pipe.submit(payload, isBinary)

        def onClose(self, wasClean: bool, code: int,  # noqa: N802, N803
                    reason: str) -> None:
            if self.pipe is not None:
                self.pipe.lost()

        def pause_writing(self) -> None:
            if self.pipe is not None:
                self.pipe.pause_writing()

        def resume_writing(self) -> None:
            if self.pipe is not None:
                self.pipe.resume_writing()

    factory = WebSocketServerFactory(loop=loop)
    factory.protocol = Protocol
    policy = CFG.policy
    if policy.tuned:
        factory.setProtocolOptions(
            maxFramePayloadSize=MAX_SIZE, maxMessagePayloadSize=MAX_SIZE,
            autoPingInterval=policy.ping or 0,
            autoPingTimeout=policy.ping or 0)
    return await loop.create_server(factory, sock=sock)


async def start_picows(sock: socket.socket) -> Any:
    from picows import WSAutoPingStrategy
    from picows import WSCloseCode
    from picows import WSFrame
    from picows import WSListener
    from picows import WSMsgType
    from picows import WSTransport
    from picows import ws_create_server

    loop = asyncio.get_running_loop()
    text, binary_t = WSMsgType.TEXT, WSMsgType.BINARY

    class Handler(WSListener):  # type: ignore[misc]
        def on_ws_connected(self, transport: WSTransport) -> None:
            self.transport = transport
            self.pipe: Pipeline | None = None
            if CFG.mode == 'exec':
                self.pipe = Pipeline(
                    self._send, transport.underlying_transport, self._fail)
            self.fragments: list[bytes] | None = None
            self.fragments_binary = False
            self.fragments_size = 0

        def _send(self, data: str | bytes, binary: bool) -> None:
            self.transport.send(binary_t if binary else text, data)

        def _fail(self) -> None:
            self.transport.send_close(WSCloseCode.POLICY_VIOLATION,
                                      b'slow reader')
            loop.call_later(CLOSE_GRACE, self.transport.disconnect, False)

        def _close(self, code: WSCloseCode) -> None:
            self.transport.send_close(code)
            self.transport.disconnect()

        def on_ws_frame(self, transport: WSTransport,
                        frame: WSFrame) -> None:
            # picows hands over frames, not messages: reassembly, UTF-8
            # validation, the message size limit and the reply to CLOSE
            # are the application's.
            kind = frame.msg_type
            if kind == text or kind == binary_t:
                if frame.rsv1 or self.fragments is not None:
                    return self._close(WSCloseCode.PROTOCOL_ERROR)
                if not frame.fin:
                    self.fragments = [frame.get_payload_as_bytes()]
                    self.fragments_binary = kind == binary_t
                    self.fragments_size = frame.payload_size
                    return None
                binary = kind == binary_t
                if binary:
                    payload: str | bytes = frame.get_payload_as_bytes()
                else:
                    try:
                        payload = frame.get_payload_as_utf8_text()
                    except UnicodeDecodeError:
                        return self._close(WSCloseCode.INVALID_TEXT)
            elif kind == WSMsgType.CONTINUATION:
                if self.fragments is None:
                    return self._close(WSCloseCode.PROTOCOL_ERROR)
                self.fragments.append(frame.get_payload_as_bytes())
                self.fragments_size += frame.payload_size
                if self.fragments_size > MAX_SIZE:
                    return self._close(WSCloseCode.MESSAGE_TOO_BIG)
                if not frame.fin:
                    return None
                payload = b''.join(self.fragments)
                binary = self.fragments_binary
                self.fragments = None
                if not binary:
                    try:
                        payload = payload.decode()
                    except UnicodeDecodeError:
                        return self._close(WSCloseCode.INVALID_TEXT)
            elif kind == WSMsgType.CLOSE:
                return self._close(WSCloseCode.OK)
            else:
                return None
            if self.pipe is None:
                self._send(handle_inline(payload, binary), binary)
            else:
                self.pipe.submit(payload, binary)
            return None

        def on_ws_disconnected(self, transport: WSTransport) -> None:
            if self.pipe is not None:
                self.pipe.lost()

        def pause_writing(self) -> None:
            if self.pipe is not None:
                self.pipe.pause_writing()

        def resume_writing(self) -> None:
            if self.pipe is not None:
                self.pipe.resume_writing()

    policy = CFG.policy
    kwargs: dict[str, Any] = {}
    if policy.tuned:
        kwargs = {'max_frame_size': MAX_SIZE}
        if policy.ping:
            kwargs.update(
                enable_auto_ping=True,
                auto_ping_idle_timeout=policy.ping,
                auto_ping_reply_timeout=policy.ping,
                auto_ping_strategy=WSAutoPingStrategy.PING_PERIODICALLY)
    return await ws_create_server(lambda request: Handler(), sock=sock,
                                  **kwargs)


STARTERS: dict[str, Callable[[socket.socket], Awaitable[Any]]] = {
    'websockets': start_websockets,
    'aiohttp': start_aiohttp,
    'autobahn': start_autobahn,
    'picows': start_picows,
}


def start_watchdog(deadline: float) -> None:
    """Exit this child when its parent goes away or the deadline passes."""
    parent = os.getppid()
    end = time.monotonic() + deadline

    def watch() -> None:
        while time.monotonic() < end and os.getppid() == parent:
            time.sleep(0.5)
        os._exit(3)

    threading.Thread(target=watch, daemon=True).start()


async def serve_main(args: argparse.Namespace) -> None:
    CFG.mode = args.mode
    CFG.policy = POLICIES[args.policy]
    CFG.pad = 'x' * args.pad
    if os.environ.get('WS_LIBRARIES_LOG'):
        import logging

        logging.basicConfig(level=os.environ['WS_LIBRARIES_LOG'].upper())
    sock = socket.socket(fileno=args.fd)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    server = await STARTERS[args.lib](sock)
    print('READY', flush=True)
    await stop.wait()
    del server
    sys.stdout.flush()
    os._exit(0)


# --------------------------------------------------------------------------
# Measurement helpers.


def proc_cpu(pid: int) -> float:
    """CPU seconds (user+system, all threads) of a process."""
    with open(f'/proc/{pid}/stat', 'rb') as f:
        data = f.read()
    fields = data[data.rindex(b')') + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_rss(pid: int) -> int:
    """VmRSS of a process, bytes."""
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) * 1024
    return 0


def self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def load_main(args: argparse.Namespace) -> None:
    """Saturate a server with picows connections, print one JSON line."""
    from picows import WSFrame
    from picows import WSListener
    from picows import WSMsgType
    from picows import WSTransport
    from picows import ws_connect

    binary = args.binary
    kind = WSMsgType.BINARY if binary else WSMsgType.TEXT
    payloads = [encode(client_request(n), binary) for n in range(16)]
    payloads = [p.encode() if isinstance(p, str) else p for p in payloads]
    markers = [client_request(n)['headers']['Client-ID'].encode()
               for n in range(16)]
    stats = {'replies': 0, 'order_errors': 0, 'bad_replies': 0,
             'closed': 0}
    running = True

    class Client(WSListener):  # type: ignore[misc]
        sent = 0
        received = 0

        def on_ws_connected(self, transport: WSTransport) -> None:
            self.transport = transport
            for _ in range(args.depth):
                self.send_next()

        def send_next(self) -> None:
            self.transport.send(kind, payloads[self.sent % 16])
            self.sent += 1

        def on_ws_frame(self, transport: WSTransport,
                        frame: WSFrame) -> None:
            if frame.msg_type == kind:
                data = frame.get_payload_as_bytes()
                if markers[self.received % 16] not in data:
                    stats['order_errors'] += 1
                if self.received == 0:
                    got = decode(data, binary)
                    if (got['headers']['status'] != 201
                            or not got['body']['message_ids']):
                        stats['bad_replies'] += 1
                self.received += 1
                stats['replies'] += 1
                if running:
                    self.send_next()
            elif frame.msg_type == WSMsgType.CLOSE:
                stats['closed'] += 1
                transport.disconnect()
            elif frame.msg_type != WSMsgType.PONG:
                stats['bad_replies'] += 1

    url = f'ws://{HOST}:{args.port}/'
    conns = await asyncio.gather(*(ws_connect(Client, url)
                                   for _ in range(args.conns)))
    await asyncio.sleep(args.warmup)
    r0, c0, s0, t0 = (stats['replies'], self_cpu(),
                      proc_cpu(args.server_pid), time.perf_counter())
    await asyncio.sleep(args.time)
    r1, c1, s1, t1 = (stats['replies'], self_cpu(),
                      proc_cpu(args.server_pid), time.perf_counter())
    running = False
    replies, wall = r1 - r0, t1 - t0
    print(json.dumps({
        'msgs_per_s': replies / wall,
        'server_us': (s1 - s0) / max(replies, 1) * 1e6,
        'server_cpu': (s1 - s0) / wall * 100,
        'client_us': (c1 - c0) / max(replies, 1) * 1e6,
        'client_cpu': (c1 - c0) / wall * 100,
        'order_errors': stats['order_errors'],
        'bad_replies': stats['bad_replies'],
        'closed': stats['closed'],
    }), flush=True)
    for transport, _ in conns:
        transport.disconnect()


async def idle_main(args: argparse.Namespace) -> None:
    """Open many idle connections, print the server's RSS growth."""
    from picows import WSListener
    from picows import WSMsgType
    from picows import ws_connect

    headers = {}
    if args.deflate:
        headers['Sec-WebSocket-Extensions'] = (
            'permessage-deflate; client_max_window_bits')
    url = f'ws://{HOST}:{args.port}/'
    payload = json.dumps(client_request(0)).encode()

    async def connect() -> Any:
        transport, _ = await ws_connect(WSListener, url,
                                        extra_headers=headers)
        return transport

    # Warm up whatever the server imports or allocates on first use.
    warm = [await connect() for _ in range(10)]
    for transport in warm:
        transport.send(WSMsgType.TEXT, payload)
    await asyncio.sleep(0.5)
    for transport in warm:
        transport.disconnect()
    await asyncio.sleep(1.0)
    before = proc_rss(args.server_pid)
    conns = []
    for start in range(0, args.conns, 100):
        conns += await asyncio.gather(*(
            connect() for _ in range(min(100, args.conns - start))))
    await asyncio.sleep(args.settle)
    after = proc_rss(args.server_pid)
    print(json.dumps({'before': before, 'after': after,
                      'conns': len(conns)}), flush=True)
    for transport in conns:
        transport.disconnect()


# --------------------------------------------------------------------------
# Raw-socket clients for hostile behaviour.


def mask(data: bytes, key: bytes) -> bytes:
    if not data:
        return data
    n = len(data)
    keys = (key * (n // 4 + 1))[:n]
    value = int.from_bytes(data, 'little') ^ int.from_bytes(keys, 'little')
    return value.to_bytes(n, 'little')


def make_frame(opcode: int, payload: bytes, *, masked: bool = True,
               fin: bool = True, rsv1: bool = False) -> bytes:
    """One client frame, masked unless told otherwise."""
    first = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    bit = 0x80 if masked else 0
    n = len(payload)
    if n < 126:
        header = struct.pack('!BB', first, bit | n)
    elif n < 65536:
        header = struct.pack('!BBH', first, bit | 126, n)
    else:
        header = struct.pack('!BBQ', first, bit | 127, n)
    if not masked:
        return header + payload
    key = os.urandom(4)
    return header + key + mask(payload, key)


def parse_frames(buf: bytearray) -> Iterator[tuple[int, bytes]]:
    """Pop whole (unmasked) server frames from the front of ``buf``."""
    while len(buf) >= 2:
        opcode, n = buf[0] & 0x0F, buf[1] & 0x7F
        pos = 2
        if n == 126:
            if len(buf) < 4:
                return
            n, pos = struct.unpack_from('!H', buf, 2)[0], 4
        elif n == 127:
            if len(buf) < 10:
                return
            n, pos = struct.unpack_from('!Q', buf, 2)[0], 10
        if len(buf) < pos + n:
            return
        payload = bytes(buf[pos:pos + n])
        del buf[:pos + n]
        yield opcode, payload


def handshake(sock: socket.socket, port: int, extra: str = '') -> bytes:
    """Open a WebSocket on ``sock``; return any bytes past the headers."""
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((
        f'GET / HTTP/1.1\r\nHost: {HOST}:{port}\r\n'
        'Upgrade: websocket\r\nConnection: Upgrade\r\n'
        f'Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n'
        f'{extra}\r\n').encode())
    data = b''
    while b'\r\n\r\n' not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError('closed during the handshake')
        data += chunk
    head, rest = data.split(b'\r\n\r\n', 1)
    if b' 101 ' not in head.split(b'\r\n')[0]:
        raise ConnectionError(head.split(b'\r\n')[0].decode('latin-1'))
    return rest


def read_outcome(sock: socket.socket, buf: bytes = b'',
                 timeout: float = 5.0) -> str:
    """What the server does next: a close code, a reply, a drop..."""
    pending = bytearray(buf)
    end = time.monotonic() + timeout
    while True:
        for opcode, payload in parse_frames(pending):
            if opcode == OP_CLOSE:
                code = (struct.unpack('!H', payload[:2])[0]
                        if len(payload) >= 2 else 'no code')
                return f'close {code}'
            if opcode == OP_PONG:
                return 'pong'
            if opcode in (OP_TEXT, OP_BINARY):
                try:
                    status = decode(payload, opcode == OP_BINARY)[
                        'headers']['status']
                except (ValueError, KeyError, TypeError):
                    status = '?'
                return f'app got it: reply {status}'
        left = end - time.monotonic()
        if left <= 0:
            return f'nothing in {timeout:g} s'
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            return 'drop (RST, no close frame)'
        if not chunk:
            return 'drop (FIN, no close frame)'
        pending += chunk


def http_outcome(sock: socket.socket, timeout: float = 3.0) -> str:
    sock.settimeout(timeout)
    try:
        data = sock.recv(4096)
    except TimeoutError:
        return f'nothing in {timeout:g} s'
    except ConnectionResetError:
        return 'drop (RST)'
    if not data:
        return 'drop (FIN)'
    line = data.split(b'\r\n')[0].decode('latin-1')
    return line.replace('HTTP/1.1 ', 'HTTP ').replace('HTTP/1.0 ', 'HTTP ')


def slow_main(args: argparse.Namespace) -> None:
    """Send 1 KB requests without reading; print one JSON line."""
    pid = args.server_pid
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    sock.connect((HOST, args.port))
    leftover = handshake(sock, args.port)
    request = json.dumps(client_request(0, pad=args.request - 300))
    frame = make_frame(OP_TEXT, request.encode())
    sock.setblocking(False)
    base = peak = proc_rss(pid)
    start = time.monotonic()
    next_sample = start
    sent_bytes, offset, closed_after = 0, 0, None
    view = memoryview(frame)
    while (now := time.monotonic()) - start < args.time:
        if now >= next_sample:
            peak = max(peak, proc_rss(pid))
            next_sample = now + 0.1
        try:
            n = sock.send(view[offset:])
        except BlockingIOError:
            time.sleep(0.002)
            continue
        except OSError:
            closed_after = now - start
            break
        sent_bytes += n
        offset = (offset + n) % len(frame)
    peak = max(peak, proc_rss(pid))
    # Now read what is there: the replies, then maybe a close frame.
    sock.setblocking(True)
    pending = bytearray(leftover)
    replies, outcome = 0, 'still open'
    end = time.monotonic() + args.drain
    while time.monotonic() < end and outcome == 'still open':
        sock.settimeout(max(0.01, end - time.monotonic()))
        try:
            chunk = sock.recv(1 << 20)
        except TimeoutError:
            break
        except ConnectionResetError:
            outcome = 'RST'
            break
        if not chunk:
            outcome = 'EOF'
            break
        pending += chunk
        for opcode, payload in parse_frames(pending):
            if opcode == OP_TEXT:
                replies += 1
            elif opcode == OP_CLOSE:
                code = (struct.unpack('!H', payload[:2])[0]
                        if len(payload) >= 2 else 0)
                outcome = f'close {code}'
    sock.close()
    print(json.dumps({
        'rss_growth': peak - base, 'sent': sent_bytes,
        'closed_after': closed_after, 'outcome': outcome,
        'replies': replies}), flush=True)


# --------------------------------------------------------------------------
# The parent: start servers and clients, collect, print tables.


class Children:
    """Every subprocess started, so that all of them can be ended."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[str]] = []
        self.logdir = tempfile.mkdtemp(prefix='ws_libraries.')

    def __enter__(self) -> Children:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        for proc in list(self.procs):
            self.stop(proc)
        if exc_type is None and not os.environ.get('WS_LIBRARIES_LOG'):
            shutil.rmtree(self.logdir, ignore_errors=True)
        else:
            log(f'child logs kept in {self.logdir}')

    def spawn(self, argv: list[str], name: str, deadline: float,
              **kwargs: Any) -> subprocess.Popen[str]:
        with open(os.path.join(self.logdir, f'{name}.log'), 'a') as log:
            proc = subprocess.Popen(
                [sys.executable, SCRIPT, *argv,
                 '--deadline', str(deadline)],
                stdout=subprocess.PIPE, stderr=log, text=True,
                start_new_session=True, **kwargs)
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[str]) -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(3)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout:
            proc.stdout.close()
        with contextlib.suppress(ValueError):
            self.procs.remove(proc)


@dataclass
class Server:
    proc: subprocess.Popen[str]
    port: int


def start_server(children: Children, lib: str, mode: str, policy: str,
                 pad: int = 0, deadline: float = 120) -> Server:
    lsock = socket.create_server((HOST, 0), backlog=4096)
    port = lsock.getsockname()[1]
    try:
        proc = children.spawn(
            ['_server', '--lib', lib, '--fd', str(lsock.fileno()),
             '--mode', mode, '--policy', policy, '--pad', str(pad)],
            f'server-{lib}', deadline, pass_fds=[lsock.fileno()])
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        line = proc.stdout.readline() if ready else ''
        if line.strip() != 'READY':
            children.stop(proc)
            raise RuntimeError(f'{lib} server did not start, see '
                               f'{children.logdir}/server-{lib}.log')
    finally:
        lsock.close()
    return Server(proc, port)


def run_client(children: Children, argv: list[str], name: str,
               timeout: float) -> dict[str, Any]:
    proc = children.spawn(argv, name, timeout)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        children.stop(proc)
        raise RuntimeError(f'{name} client timed out') from None
    children.stop(proc)
    lines = [line for line in out.splitlines() if line.startswith('{')]
    if not lines:
        raise RuntimeError(f'{name} client failed, see '
                           f'{children.logdir}/{name}.log')
    return json.loads(lines[-1])


def rotate(items: list[str], n: int) -> list[str]:
    n %= len(items)
    return items[n:] + items[:n]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float('nan')


def run_load(children: Children, libs: list[str],
             args: argparse.Namespace) -> str:
    results: dict[tuple[str, str], list[dict[str, Any]]] = (
        collections.defaultdict(list))
    for rnd in range(args.rounds):
        for scenario in SCENARIOS:
            for lib in rotate(libs, rnd):
                server = start_server(children, lib, scenario.mode, 'bench')
                try:
                    res = run_client(children, [
                        '_load', '--port', str(server.port),
                        '--server-pid', str(server.proc.pid),
                        '--conns', str(args.conns),
                        '--depth', str(scenario.depth),
                        '--time', str(args.time),
                        '--warmup', str(args.warmup),
                        *(['--binary'] if scenario.binary else [])],
                        f'load-{lib}', args.time + args.warmup + 60)
                finally:
                    children.stop(server.proc)
                results[scenario.name, lib].append(res)
                log(f'load round {rnd + 1} {scenario.name:20} {lib:10} '
                    f'{res["msgs_per_s"]:8.0f} msg/s '
                    f'{res["server_us"]:6.1f} us/msg server '
                    f'{res["client_us"]:6.1f} us/msg client')
    lines = [
        '| library | scenario | msg/s | server µs/msg (min–max) '
        '| server CPU % | client µs/msg | client CPU % | errors |',
        '|---|---|--:|--:|--:|--:|--:|--:|']
    for lib in libs:
        for scenario in SCENARIOS:
            rs = results[scenario.name, lib]
            us = [r['server_us'] for r in rs]
            errors = sum(r['order_errors'] + r['bad_replies'] + r['closed']
                         for r in rs)
            lines.append(
                f'| {lib} | {scenario.name} '
                f'| {median([r["msgs_per_s"] for r in rs]):,.0f} '
                f'| {median(us):.1f} ({min(us):.1f}–{max(us):.1f}) '
                f'| {median([r["server_cpu"] for r in rs]):.0f} '
                f'| {median([r["client_us"] for r in rs]):.1f} '
                f'| {median([r["client_cpu"] for r in rs]):.0f} '
                f'| {errors} |')
    lines += ['', '| library | server µs/msg pipe8 exec | pipe8 inline '
              '| executor hop | rr exec | rr inline | executor hop (rr) '
              '| pipe8 exec msgpack |', '|---|--:|--:|--:|--:|--:|--:|--:|']
    for lib in libs:
        us = {s.name: median([r['server_us'] for r in results[s.name, lib]])
              for s in SCENARIOS}
        lines.append(
            f'| {lib} | {us["pipe8 exec json"]:.1f} '
            f'| {us["pipe8 inline json"]:.1f} '
            f'| {us["pipe8 exec json"] - us["pipe8 inline json"]:+.1f} '
            f'| {us["rr exec json"]:.1f} | {us["rr inline json"]:.1f} '
            f'| {us["rr exec json"] - us["rr inline json"]:+.1f} '
            f'| {us["pipe8 exec msgpack"]:.1f} |')
    return '\n'.join(lines)


def run_idle(children: Children, libs: list[str],
             args: argparse.Namespace) -> str:
    variants = (('idle', False), ('defaults', True))
    results: dict[tuple[str, str], list[dict[str, Any]]] = (
        collections.defaultdict(list))
    for rnd in range(args.rounds):
        for policy, deflate in variants:
            for lib in rotate(libs, rnd):
                server = start_server(children, lib, 'exec', policy)
                try:
                    res = run_client(children, [
                        '_idle', '--port', str(server.port),
                        '--server-pid', str(server.proc.pid),
                        '--conns', str(args.idle_conns),
                        *(['--deflate'] if deflate else [])],
                        f'idle-{lib}', 120)
                finally:
                    children.stop(server.proc)
                res['per_conn'] = ((res['after'] - res['before'])
                                   / res['conns'] / 1024)
                results[policy, lib].append(res)
                log(f'idle round {rnd + 1} {policy:9} {lib:10} '
                    f'{res["per_conn"]:6.1f} KiB/conn')
    lines = [
        f'| library | RSS before, MiB | RSS with {args.idle_conns} idle, '
        'MiB | KiB/conn (tuned, 20 s ping) | KiB/conn (defaults, client '
        'offers deflate) |', '|---|--:|--:|--:|--:|']
    for lib in libs:
        tuned, dflt = results['idle', lib], results['defaults', lib]
        lines.append(
            f'| {lib} | {median([r["before"] for r in tuned]) / 2**20:.1f} '
            f'| {median([r["after"] for r in tuned]) / 2**20:.1f} '
            f'| {median([r["per_conn"] for r in tuned]):.1f} '
            f'| {median([r["per_conn"] for r in dflt]):.1f} |')
    return '\n'.join(lines)


def run_slow(children: Children, libs: list[str],
             args: argparse.Namespace) -> str:
    results: dict[tuple[str, str], list[dict[str, Any]]] = (
        collections.defaultdict(list))
    for rnd in range(args.rounds):
        for policy in ('keepalive', 'guard'):
            for lib in rotate(libs, rnd):
                server = start_server(children, lib, 'exec', policy,
                                      pad=10_000)
                try:
                    res = run_client(children, [
                        '_slow', '--port', str(server.port),
                        '--server-pid', str(server.proc.pid),
                        '--time', str(args.slow_time)],
                        f'slow-{lib}', args.slow_time + 60)
                finally:
                    children.stop(server.proc)
                results[policy, lib].append(res)
                log(f'slow round {rnd + 1} {policy:9} {lib:10} '
                    f'+{res["rss_growth"] / 2**20:.1f} MiB RSS, sent '
                    f'{res["sent"] / 2**20:.1f} MiB, closed after '
                    f'{res["closed_after"]}, then {res["outcome"]}')
    lines = [
        '| library | server policy | server RSS growth, MiB '
        '| client could send, MiB | send failed after, s '
        '| when the client reads at the end | replies read |',
        '|---|---|--:|--:|--:|---|--:|']
    for lib in libs:
        for policy in ('keepalive', 'guard'):
            rs = results[policy, lib]
            closed = [r['closed_after'] for r in rs
                      if r['closed_after'] is not None]
            closed_s = (f'{median(closed):.1f}' if len(closed) == len(rs)
                        else 'never' if not closed
                        else f'{len(closed)}/{len(rs)} runs')
            outcomes = ', '.join(sorted({r['outcome'] for r in rs}))
            lines.append(
                f'| {lib} | {policy} '
                f'| {median([r["rss_growth"] for r in rs]) / 2**20:.1f} '
                f'| {median([r["sent"] for r in rs]) / 2**20:.1f} '
                f'| {closed_s} | {outcomes} '
                f'| {median([r["replies"] for r in rs]):.0f} |')
    return '\n'.join(lines)


def probe_silent(port: int, wait: float) -> str:
    with socket.create_connection((HOST, port)) as sock:
        start = time.monotonic()
        sock.settimeout(wait)
        try:
            data = sock.recv(4096)
        except TimeoutError:
            return f'still open after {wait:g} s'
        except ConnectionResetError:
            data = b''
        took = time.monotonic() - start
        if data:
            return (f'{http_outcome_from(data)} after {took:.1f} s')
        return f'closed after {took:.1f} s'


def http_outcome_from(data: bytes) -> str:
    return data.split(b'\r\n')[0].decode('latin-1').replace(
        'HTTP/1.1 ', 'HTTP ')


def probe_endless_header(port: int, pid: int, limit: float = 6.0) -> str:
    """Send one header line without end for ``limit`` seconds."""
    chunk = b'a' * 65536
    base = peak = proc_rss(pid)
    start = time.monotonic()
    with socket.create_connection((HOST, port)) as sock:
        sock.sendall(f'GET / HTTP/1.1\r\nHost: {HOST}\r\nX-Long: '.encode())
        sent = 0
        sock.settimeout(2)
        with contextlib.suppress(OSError):
            while time.monotonic() - start < limit:
                sock.sendall(chunk)
                sent += len(chunk)
                peak = max(peak, proc_rss(pid))
        took = time.monotonic() - start
        outcome = http_outcome(sock, 1.0)
    return (f'{outcome}; took {sent / 2**20:.0f} MiB in {took:.1f} s, '
            f'RSS +{(peak - base) / 2**20:.0f} MiB')


def probe_ws(port: int, frames: list[bytes], timeout: float = 5.0) -> str:
    with socket.create_connection((HOST, port)) as sock:
        rest = handshake(sock, port)
        try:
            for frame in frames:
                sock.sendall(frame)
        except OSError as exc:
            outcome = read_outcome_safe(sock, rest)
            return f'{outcome} ({exc.strerror} while sending)'
        return read_outcome(sock, rest, timeout)


def read_outcome_safe(sock: socket.socket, rest: bytes) -> str:
    try:
        return read_outcome(sock, rest, 2.0)
    except OSError as exc:
        return f'drop ({exc.strerror})'


def probe_http(port: int, data: bytes) -> str:
    with socket.create_connection((HOST, port)) as sock:
        try:
            sock.sendall(data)
        except OSError as exc:
            return f'drop ({exc.strerror})'
        return http_outcome(sock)


def run_probes(port: int, pid: int) -> dict[str, str]:
    """Hostile input against one server."""
    request = json.dumps(client_request(0)).encode()
    big = b'"' + b'a' * (10 * 2**20 - 2) + b'"'
    key = base64.b64encode(os.urandom(16)).decode()
    upgrade = (f'GET / HTTP/1.1\r\nHost: {HOST}:{port}\r\n'
               'Upgrade: websocket\r\nConnection: Upgrade\r\n'
               f'Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n')
    cases: dict[str, Callable[[], str]] = {
        'valid request': lambda: probe_ws(
            port, [make_frame(OP_TEXT, request)]),
        'GET without Upgrade': lambda: probe_http(
            port, f'GET / HTTP/1.1\r\nHost: {HOST}\r\n\r\n'.encode()),
        'Sec-WebSocket-Version: 99': lambda: probe_http(
            port, upgrade.replace(': 13', ': 99').encode() + b'\r\n'),
        'TLS ClientHello': lambda: probe_http(
            port, bytes.fromhex('16030100a5010000a10303') + os.urandom(64)
            + b'\r\n\r\n'),
        '100 KiB header line': lambda: probe_http(
            port, (upgrade + 'X-Big: ' + 'a' * 102400
                   + '\r\n\r\n').encode()),
        '200 headers': lambda: probe_http(
            port, (upgrade + ''.join(f'X-{i}: v\r\n' for i in range(200))
                   + '\r\n').encode()),
        'endless header line (6 s)': lambda: probe_endless_header(
            port, pid),
        'invalid UTF-8 text': lambda: probe_ws(
            port, [make_frame(OP_TEXT, b'{"a": "\xff\xfe"}')]),
        'text frame of 10 MiB': lambda: probe_ws(
            port, [make_frame(OP_TEXT, big)], timeout=10),
        'fragmented request (2 frames)': lambda: probe_ws(port, [
            make_frame(OP_TEXT, request[:100], fin=False),
            make_frame(OP_CONT, request[100:])]),
        'unmasked frame': lambda: probe_ws(
            port, [make_frame(OP_TEXT, request, masked=False)]),
        'RSV1 set, no extension': lambda: probe_ws(
            port, [make_frame(OP_TEXT, request, rsv1=True)]),
        'reserved opcode 3': lambda: probe_ws(
            port, [make_frame(3, b'x')]),
        'ping': lambda: probe_ws(port, [make_frame(OP_PING, b'hi')]),
        'close 1000': lambda: probe_ws(
            port, [make_frame(OP_CLOSE, struct.pack('!H', 1000))]),
    }
    out = {}
    for name, case in cases.items():
        try:
            out[name] = case()
        except (OSError, ValueError) as exc:
            out[name] = f'error: {exc}'
    return out


def run_probe(children: Children, libs: list[str],
              args: argparse.Namespace) -> str:
    servers = {lib: start_server(children, lib, 'exec', 'defaults')
               for lib in libs}
    try:
        silent: dict[str, str] = {}

        def silent_probe(lib: str) -> None:
            silent[lib] = probe_silent(servers[lib].port, args.silent_wait)

        threads = [threading.Thread(target=silent_probe, args=(lib,))
                   for lib in libs]
        for thread in threads:
            thread.start()
        table = {}
        for lib in libs:
            log(f'probing {lib}')
            table[lib] = run_probes(servers[lib].port,
                                    servers[lib].proc.pid)
            table[lib]['server alive after probes'] = (
                'yes' if servers[lib].proc.poll() is None else 'NO')
        for thread in threads:
            thread.join()
        for lib in libs:
            table[lib]['silent connection (no handshake)'] = silent[lib]
    finally:
        for server in servers.values():
            children.stop(server.proc)
    rows = list(table[libs[0]])
    lines = ['| probe (library defaults) | ' + ' | '.join(libs) + ' |',
             '|---|' + '---|' * len(libs)]
    for row in rows:
        lines.append(f'| {row} | '
                     + ' | '.join(table[lib][row] for lib in libs) + ' |')
    return '\n'.join(lines)


RUNNERS: dict[str, Callable[[Children, list[str], argparse.Namespace],
                            str]] = {
    'load': run_load, 'idle': run_idle, 'slow': run_slow,
    'probe': run_probe,
}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest='command')
    # The hidden child commands.
    for name in ('_server', '_load', '_idle', '_slow'):
        child = sub.add_parser(name)
        child.add_argument('--deadline', type=float, default=120)
        if name == '_server':
            child.add_argument('--lib', choices=LIBRARIES, required=True)
            child.add_argument('--fd', type=int, required=True)
            child.add_argument('--mode', choices=('exec', 'inline'),
                               default='exec')
            child.add_argument('--policy', choices=POLICIES,
                               default='bench')
            child.add_argument('--pad', type=int, default=0)
            continue
        child.add_argument('--port', type=int, required=True)
        child.add_argument('--server-pid', type=int, required=True)
        child.add_argument('--time', type=float, default=5)
        child.add_argument('--conns', type=int, default=16)
        child.add_argument('--depth', type=int, default=8)
        child.add_argument('--warmup', type=float, default=1)
        child.add_argument('--binary', action='store_true')
        child.add_argument('--deflate', action='store_true')
        child.add_argument('--settle', type=float, default=2)
        child.add_argument('--request', type=int, default=1000)
        child.add_argument('--drain', type=float, default=3)
    parser.add_argument('--rounds', type=int, default=3,
                        help='rounds; each library runs once per round')
    parser.add_argument('--time', type=float, default=5,
                        help='seconds measured per load run')
    parser.add_argument('--warmup', type=float, default=1,
                        help='seconds of load before measuring')
    parser.add_argument('--conns', type=int, default=16,
                        help='load client connections')
    parser.add_argument('--libraries', default=','.join(LIBRARIES),
                        help='comma-separated, from: '
                        + ', '.join(LIBRARIES))
    parser.add_argument('--checks', default=','.join(CHECKS),
                        help='comma-separated, from: ' + ', '.join(CHECKS))
    parser.add_argument('--idle-conns', type=int, default=1000)
    parser.add_argument('--slow-time', type=float, default=8,
                        help='seconds the slow reader keeps sending')
    parser.add_argument('--silent-wait', type=float, default=15,
                        help='seconds to wait on a silent connection')
    args = parser.parse_args(argv)
    if args.command is None:
        for value, allowed in ((args.libraries, LIBRARIES),
                               (args.checks, CHECKS)):
            unknown = set(value.split(',')) - set(allowed)
            if unknown:
                parser.error(f'unknown: {", ".join(sorted(unknown))}')
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the checks asked for and print Markdown tables on stdout."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.command is not None:
        start_watchdog(args.deadline)
        if args.command == '_server':
            asyncio.run(serve_main(args))
        elif args.command == '_load':
            asyncio.run(load_main(args))
        elif args.command == '_idle':
            asyncio.run(idle_main(args))
        else:
            slow_main(args)
        return 0

    def on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    # Even when started with SIGINT ignored (a background job).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    libs = args.libraries.split(',')
    command = ' '.join(shlex.quote(a) for a in [
        '.venv/bin/python', 'tools/perf/ws_libraries.py',
        *(sys.argv[1:] if argv is None else argv)])
    versions = library_versions(libs)
    try:
        with Children() as children:
            sections = []
            for check in args.checks.split(','):
                sections.append(RUNNERS[check](children, libs, args))
    except KeyboardInterrupt:
        log('interrupted; all child processes ended')
        return 130
    print(f'`{command}` ({os.cpu_count()} CPUs, Python '
          f'{sys.version.split()[0]}; {versions}; medians over '
          f'{args.rounds} rounds)\n')
    print('\n\n'.join(sections))
    return 0


def library_versions(libs: list[str]) -> str:
    from importlib import metadata

    return ', '.join(f'{lib} {metadata.version(lib)}' for lib in libs)


if __name__ == '__main__':
    sys.exit(main())
