"""The WebSocket server of one worker process: one asyncio loop holding
every connection, a thread pool running their requests.

Built on the ``websockets`` library (see
``doc/source/admin/performance.rst`` for why). Per connection:

* requests run one at a time, in order, on the pool (storage and Keystone
  calls block; the loop never does), and each reply goes out before the
  next request runs, so replies come in request order;
* a push never comes between a request and its reply: pushes wait while
  a request is pending, and :data:`SETTLE` seconds after a reply (the
  client's next request is likely on its way: python-zaqarclient takes
  the next frame as the reply);
* what waits to be sent (replies and pushes) is bounded by
  ``max_send_buffer``: past it the client is not reading, and the
  connection is closed (1008);
* a token's expiry closes the connection (4003, as upstream).
"""

from __future__ import annotations

import asyncio
import collections
import datetime
import http
import logging
import signal
import socket
from concurrent import futures
from typing import Any

from oslo_config import cfg
from oslo_log import log
from websockets.asyncio import server as ws_server
from websockets.exceptions import ConnectionClosed

from zaqar_core.api.service import Api
from zaqar_core.notification.hub import Hub
from zaqar_core.transport import gate
from zaqar_plugins.transport.websocket import auth
from zaqar_plugins.transport.websocket import codecs
from zaqar_plugins.transport.websocket import prefork
from zaqar_plugins.transport.websocket.session import Reply
from zaqar_plugins.transport.websocket.session import Session

LOG = log.getLogger(__name__)

#: Seconds pushes wait after a reply...
SETTLE = 0.1
#: ... unless they have waited this long: a client that sends its next
#: request within SETTLE of every reply still gets its pushes (between
#: replies, never between a request and its reply).
MAX_HOLD = 1.0
#: Requests the library reads ahead of the one running, per connection.
READ_AHEAD = 8
#: Most requests of a connection run in one hop to the pool.
BATCH = 8
#: Close codes.
GOING_AWAY = 1001
POLICY_VIOLATION = 1008
AUTH_EXPIRED = 4003


class Peer:
    """One connection: its session, its requests and its pushes."""

    def __init__(self, ws: ws_server.ServerConnection, server: Server
                 ) -> None:
        self.ws = ws
        self.server = server
        self.loop = asyncio.get_running_loop()
        self.busy = False  # a request runs
        self.pushes: collections.deque[Any] = collections.deque()
        self.push_bytes = 0
        self.held_since = 0.0  # loop time of the oldest waiting push
        self.quiet_until = 0.0
        self.flusher: asyncio.TimerHandle | None = None
        self.expiry: asyncio.TimerHandle | None = None
        self.closing = False
        self.connection = server.hub.attach(self._sink)
        self.session = Session(server.api, server.authenticator,
                               self.connection)

    @property
    def pending(self) -> bool:
        """Whether a request was received and not yet answered: the one
        running, or one the library holds (a pipelining client's)."""
        return self.busy or _buffered(self.ws) > 0

    async def run(self) -> None:
        try:
            while True:
                frames = [await self.ws.recv()]
                # What a pipelining client sent meanwhile runs in the same
                # hop to the pool: the hop costs more than a small request.
                while len(frames) < BATCH and _message_waiting(self.ws):
                    frames.append(await self.ws.recv())
                self.busy = True
                replies = await self.loop.run_in_executor(
                    self.server.pool, self._handle_all, frames)
                for reply in replies:
                    if reply.expires is not None:
                        self._expire_at(reply.expires)
                    await self._send(reply.frame)
                self.busy = False
                if self.closing:
                    await self.ws.close(GOING_AWAY, 'Server stopping.')
                    break
                if not self.pending:
                    self.quiet_until = self.loop.time() + SETTLE
                    if self.pushes and \
                            self.loop.time() - self.held_since >= MAX_HOLD:
                        await self._send_pushes()
                    self._schedule_flush(SETTLE)
        except ConnectionClosed:
            pass
        finally:
            for handle in (self.flusher, self.expiry):
                if handle is not None:
                    handle.cancel()
            await self.loop.run_in_executor(
                self.server.pool, self.server.hub.detach, self.connection)

    def _handle_all(self, frames: list[codecs.Frame]) -> list[Reply]:
        with self.server.api.gate.working():
            return [self.session.handle(frame) for frame in frames]

    async def _send(self, frame: codecs.Frame) -> None:
        # One frame always goes out; past that, what waits is bounded.
        buffered = self.ws.transport.get_write_buffer_size()
        if buffered and buffered + len(frame) > self.server.max_send_buffer:
            LOG.warning('Closing a connection that does not read its '
                        'replies (%d bytes waiting)', buffered)
            await self.ws.close(POLICY_VIOLATION,
                                'Too much unread data: read your replies.')
            raise ConnectionClosed(None, None)
        await self.ws.send(frame)

    def shut_down(self) -> None:
        """Close the connection (1001) once the request in progress, if
        any, is answered."""
        self.closing = True
        if not self.pending:
            asyncio.ensure_future(self.ws.close(GOING_AWAY,
                                                'Server stopping.'))

    # -- pushes: queued from delivery threads, sent from the loop ---------

    def _sink(self, document: dict[str, Any]) -> None:
        try:
            self.loop.call_soon_threadsafe(self._queue_push, document)
        except RuntimeError:
            pass  # the loop is closed: the process is stopping

    def _queue_push(self, document: dict[str, Any]) -> None:
        frame = codecs.encode(document, self.session.binary_pushes)
        if not self.pushes:
            self.held_since = self.loop.time()
        self.pushes.append(frame)
        self.push_bytes += len(frame)
        if len(self.pushes) > 1 and \
                self.push_bytes > self.server.max_send_buffer:
            self.pushes.clear()
            LOG.warning('Closing a connection that does not read its '
                        'pushes')
            asyncio.ensure_future(self.ws.close(
                POLICY_VIOLATION, 'Too much unread data: read your pushes.'))
            return
        self._schedule_flush(max(0.0, self.quiet_until - self.loop.time()))

    def _schedule_flush(self, delay: float) -> None:
        if self.pushes and self.flusher is None:
            self.flusher = self.loop.call_later(delay, self._flush)

    def _flush(self) -> None:
        self.flusher = None
        now = self.loop.time()
        if not self.pending and (now >= self.quiet_until or
                                 now - self.held_since >= MAX_HOLD):
            asyncio.ensure_future(self._send_pushes())
        else:
            self._schedule_flush(max(0.0,
                                     self.quiet_until - self.loop.time()))

    async def _send_pushes(self) -> None:
        while self.pushes and not self.pending:
            frame = self.pushes.popleft()
            self.push_bytes -= len(frame)
            self.held_since = self.loop.time()
            try:
                await self._send(frame)
            except ConnectionClosed:
                return

    # -- authentication --------------------------------------------------

    def _expire_at(self, expires: datetime.datetime) -> None:
        if self.expiry is not None:
            self.expiry.cancel()
        left = (expires - datetime.datetime.now(datetime.UTC)
                ).total_seconds()
        self.expiry = self.loop.call_later(max(0.0, left), self._expired)

    def _expired(self) -> None:
        self.session.deauthenticate()
        asyncio.ensure_future(self.ws.close(AUTH_EXPIRED,
                                            'Authentication expired.'))


class Server:
    """The WebSocket server of this worker process.

    Args:
        conf: the registered configuration.
        api: this process's API.
        hub: this process's push hub.
    """

    def __init__(self, conf: cfg.ConfigOpts, api: Api, hub: Hub) -> None:
        opts = conf['drivers:transport:websocket']
        self.conf = conf
        self.api = api
        self.hub = hub
        self.authenticator = auth.KeystoneAuthenticator(conf) \
            if conf.auth_strategy == 'keystone' else None
        # Threads beyond ``threads`` are for requests that wait for
        # messages (api.gate keeps them from working all at once).
        self.pool = futures.ThreadPoolExecutor(
            gate.threads(conf, opts.threads), thread_name_prefix='zaqar-ws')
        self.max_send_buffer = opts.max_send_buffer
        limits = conf.transport
        # Never below what the API itself accepts (and refuses with 400).
        self.max_frame_size = max(
            opts.max_frame_size, 2 * limits.max_messages_post_size,
            2 * limits.max_queue_metadata)
        self.ping_interval = opts.ping_interval or None
        self.external_port = opts.external_port
        self.peers: set[Peer] = set()

    async def serve(self, sock: socket.socket) -> None:
        """Serve on ``sock`` until SIGTERM or SIGINT."""
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for signo in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signo, stop.set)
        server = await ws_server.serve(
            self._handle, sock=sock, compression=None, server_header=None,
            process_request=self._check_host,
            max_size=self.max_frame_size, max_queue=READ_AHEAD,
            # Sends never wait: _send closes a connection that does not
            # read before its buffer passes max_send_buffer.
            write_limit=self.max_send_buffer * 4,
            ping_interval=self.ping_interval,
            ping_timeout=self.ping_interval,
            open_timeout=10, close_timeout=5)
        await stop.wait()
        # A second signal (the process group's, relayed by the master too)
        # changes nothing now. It must not reach the loop's handler either:
        # asyncio.run closes the loop's wakeup socket before it restores
        # the handlers, and a signal in between printed a traceback.
        for signo in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signo)
            signal.signal(signo, signal.SIG_IGN)
        # Stop accepting; close every connection (1001) once its request
        # in progress is answered, requests that wait for messages at once.
        self.api.arrivals.release_all()
        server.close(close_connections=False)
        for peer in list(self.peers):
            peer.shut_down()
        try:
            await asyncio.wait_for(server.wait_closed(),
                                   prefork.GRACEFUL_TIMEOUT)
        except TimeoutError:
            LOG.warning('Connections still open after %.0f s',
                        prefork.GRACEFUL_TIMEOUT)

    async def _handle(self, ws: ws_server.ServerConnection) -> None:
        peer = Peer(ws, self)
        self.peers.add(peer)
        try:
            await peer.run()
        finally:
            self.peers.discard(peer)

    def _check_host(self, ws: ws_server.ServerConnection,
                    request: Any) -> Any:
        """Refuse a handshake whose Host names another port than
        ``external_port`` (as upstream)."""
        if self.external_port is None:
            return None
        host = request.headers.get('Host', '')
        port = host.rpartition(':')[2] if ']' not in host.rpartition(':')[2] \
            else ''
        if port != str(self.external_port):
            return ws.respond(http.HTTPStatus.BAD_REQUEST,
                              f'Connect to port {self.external_port}.\n')
        return None

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def _buffered(ws: ws_server.ServerConnection) -> int:
    """Frames the library received and did not hand over yet. Its
    internals (websockets 14 and later); a test pipelines requests and
    checks that no push comes between them."""
    return len(ws.recv_messages.frames)


def _message_waiting(ws: ws_server.ServerConnection) -> bool:
    """Whether a whole message is received, so that ``recv()`` returns
    without waiting for the network."""
    return any(frame.fin for frame in ws.recv_messages.frames.queue)


def quiet_library_logs() -> None:
    """Failed handshakes (port scanners, health checks speaking plain
    HTTP) are the client's business, not an error of this server."""
    logging.getLogger('websockets').setLevel(logging.WARNING)
