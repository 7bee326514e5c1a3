"""Loopback servers that receive what zaqar-server sends: HTTP requests
(webhook subscribers, and anything a test answers itself, such as a
Keystone replaying recordings) and mail; on ports the kernel picks."""

from __future__ import annotations

import dataclasses
import email
import email.message
import http.server
import json
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from aiosmtpd import controller
from aiosmtpd import smtp

from .ports import HOST


@dataclasses.dataclass
class Request:
    """One request as a server received it."""

    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes
    client_port: int
    at: float = 0.0  # when it arrived (time.time())

    def json(self) -> Any:
        return json.loads(self.body)


@dataclasses.dataclass
class Answer:
    status: int = 204
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    body: bytes = b''


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'  # keep-alive, as real receivers
    timeout = 5  # a kept-alive connection gives up on its own in the end
    server: HTTPServer

    def _serve(self) -> None:
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length)
        if len(body) < length:
            # The sender went away mid-request (a server killed while it
            # delivered): no request came, as a real receiver sees it.
            self.close_connection = True
            return
        request = Request(self.command, self.path,
                          {k.lower(): v for k, v in self.headers.items()},
                          body, self.client_address[1], time.time())
        answer = self.server.receive(request)
        if answer.status in (204, 304):
            answer.body = b''  # HTTP forbids one; clients would misread
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header('Content-Length', str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

    def setup(self) -> None:
        super().setup()
        self.server.connections.add(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean


class HTTPServer(http.server.ThreadingHTTPServer):
    """Serves in threads: ``respond(request)`` makes each answer and
    ``requests`` lists what came, in order. ``with`` runs it."""

    daemon_threads = True
    # The default backlog of 5 drops connections under load, and a
    # dropped SYN costs the sender a second.
    request_queue_size = 128

    def __init__(self, respond: Callable[[Request], Answer]) -> None:
        super().__init__((HOST, 0), _Handler)
        self.respond = respond
        self.requests: list[Request] = []
        self.connections: set[socket.socket] = set()
        self._changed = threading.Condition()
        # A short poll: shutdown() waits for it.
        self._thread = threading.Thread(target=self.serve_forever,
                                        args=(0.01,), daemon=True)

    @property
    def url(self) -> str:
        return f'http://{HOST}:{self.server_port}'

    def receive(self, request: Request) -> Answer:
        # Listed on arrival: a test may wait for a request whose answer
        # it holds back.
        with self._changed:
            self.requests.append(request)
            self._changed.notify_all()
        answer = self.respond(request)
        with self._changed:
            self._record(request, answer)
            self._changed.notify_all()
        return answer

    def _record(self, request: Request, answer: Answer) -> None:
        """What subclasses keep of each exchange (under the lock)."""

    def wait_for(self, check: Callable[[Any], bool],
                 timeout: float = 15.0) -> None:
        """Until ``check(self)`` holds; AssertionError after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not check(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f'{type(self).__name__}: condition not met in '
                        f'{timeout:g} s; received '
                        f'{[(r.path, r.body[:200]) for r in self.requests]}')
                self._changed.wait(left)

    def __enter__(self) -> Any:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()
        self.server_close()
        # Drop kept-alive connections, so that no later server on the
        # same port gets requests meant for this one.
        for connection in list(self.connections):
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(5)


class Receiver(HTTPServer):
    """A webhook subscriber.

    It answers the statuses of ``statuses`` one by one, then ``failing``
    while that is set, then ``status`` (with ``headers``); with ``hang``
    set it waits for ``release`` before answering. ``requests`` holds
    every attempt, ``delivered`` those it accepted (a 2xx).
    """

    def __init__(self, status: int = 204) -> None:
        super().__init__(self._answer)
        self.status = status
        self.headers: dict[str, str] = {}
        self.statuses: list[int] = []
        self.failing: int | None = None
        self.hang = False
        self.release = threading.Event()
        self.delivered: list[Request] = []

    @property
    def attempts(self) -> int:
        return len(self.requests)

    def _answer(self, request: Request) -> Answer:
        if self.hang:
            self.release.wait(5)
        with self._changed:
            status = self.statuses.pop(0) if self.statuses else \
                self.failing or self.status
        return Answer(status, dict(self.headers), b'{"ok": true}')

    def _record(self, request: Request, answer: Answer) -> None:
        if answer.status < 300:
            self.delivered.append(request)

    def wait_count(self, count: int, timeout: float = 15.0
                   ) -> list[Request]:
        """The first ``count`` requests delivered, once they arrived."""
        self.wait_for(lambda r: len(r.delivered) >= count, timeout)
        return self.delivered[:count]

    def __exit__(self, *exc_info: object) -> None:
        self.release.set()
        super().__exit__(*exc_info)


class Inbox:
    """An aiosmtpd handler keeping the mails it accepts; ``reply``, when
    set, is what it answers to DATA instead of accepting."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []
        self.reply: str | None = None
        self.logins: list[tuple[str, str]] = []
        self.arrived = threading.Event()

    @property
    def mails(self) -> list[email.message.Message]:
        return [email.message_from_bytes(envelope.content)
                for envelope in self.envelopes]

    async def handle_DATA(self, server: Any, session: Any,  # noqa: N802
                          envelope: Any) -> str:
        if self.reply:
            return self.reply
        self.envelopes.append(envelope)
        self.arrived.set()
        return '250 OK'

    def authenticator(self, user: str, password: str
                      ) -> Callable[..., smtp.AuthResult]:
        """An aiosmtpd authenticator accepting only ``user``/``password``
        (and recording every attempt)."""
        def check(server: Any, session: Any, envelope: Any,
                  mechanism: str, data: Any) -> smtp.AuthResult:
            given = (data.login.decode(), data.password.decode())
            self.logins.append(given)
            # handled=False: aiosmtpd answers (535 on failure) itself.
            return smtp.AuthResult(success=given == (user, password),
                                   handled=False)
        return check


class SMTPServer(controller.Controller):
    """aiosmtpd's threaded server on ``port``, by default one the kernel
    picks (aiosmtpd itself wants a port number up front)."""

    def __init__(self, handler: Any, port: int = 0, **kwargs: Any) -> None:
        self._sock = socket.create_server((HOST, port))
        super().__init__(handler, hostname=HOST,
                         port=self._sock.getsockname()[1], **kwargs)

    def _create_server(self) -> Any:
        return self.loop.create_server(self._factory_invoker,
                                       sock=self._sock, ssl=self.ssl_context)

    def __enter__(self) -> SMTPServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
