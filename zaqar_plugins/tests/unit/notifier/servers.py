"""Loopback servers for the notifier tests: an HTTP server that records
requests (a webhook receiver, or Keystone replaying recordings) and an
SMTP server; all on 127.0.0.1, on ports the kernel picks."""

from __future__ import annotations

import dataclasses
import datetime
import http.server
import ipaddress
import json
import pathlib
import socket
import ssl
import threading
from collections.abc import Callable
from typing import Any

from aiosmtpd import controller
from aiosmtpd import smtp
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

RECORDINGS = pathlib.Path(__file__).parent / 'keystone'

#: The Keystone address in the recordings, replaced by the loopback one.
RECORDED_KEYSTONE = 'http://keystone.test'


@dataclasses.dataclass
class Request:
    """One request as a server received it."""

    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes
    client_port: int

    def json(self) -> Any:
        return json.loads(self.body)


@dataclasses.dataclass
class Answer:
    status: int = 204
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    body: bytes = b''


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'  # keep-alive, as real receivers
    timeout = 5  # a kept-alive connection gives up on its own eventually
    server: HTTPServer

    def _serve(self) -> None:
        length = int(self.headers.get('Content-Length') or 0)
        request = Request(self.command, self.path,
                          {k.lower(): v for k, v in self.headers.items()},
                          self.rfile.read(length), self.client_address[1])
        self.server.requests.append(request)
        answer = self.server.respond(request)
        if answer.status in (204, 304):
            answer.body = b''  # HTTP forbids one; clients would misread
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header('Content-Length', str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)

    do_GET = do_POST = do_PUT = _serve

    def setup(self) -> None:
        super().setup()
        self.server.connections.add(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean


class HTTPServer(http.server.ThreadingHTTPServer):
    """Serves in threads; ``respond(request)`` makes each answer and
    ``requests`` lists what came, in order."""

    def __init__(self, respond: Callable[[Request], Answer]) -> None:
        super().__init__(('127.0.0.1', 0), _Handler)
        self.respond = respond
        self.requests: list[Request] = []
        self.connections: set[socket.socket] = set()
        # A short poll: shutdown() waits for it.
        self._thread = threading.Thread(target=self.serve_forever,
                                        args=(0.01,), daemon=True)

    @property
    def url(self) -> str:
        return f'http://127.0.0.1:{self.server_port}'

    def __enter__(self) -> HTTPServer:
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
    """A webhook receiver answering ``status`` (and ``headers``); with
    ``hang`` set it waits for ``release`` before answering."""

    def __init__(self) -> None:
        super().__init__(self._answer)
        self.status = 204
        self.headers: dict[str, str] = {}
        self.hang = False
        self.release = threading.Event()

    def _answer(self, request: Request) -> Answer:
        if self.hang:
            self.release.wait(5)
        return Answer(self.status, dict(self.headers), b'{"ok": true}')

    def __exit__(self, *exc_info: object) -> None:
        self.release.set()
        super().__exit__(*exc_info)


def _contains(actual: Any, pattern: Any) -> bool:
    """Whether ``pattern`` is a sub-document of ``actual`` (objects may
    have more keys; anything else must be equal)."""
    if isinstance(pattern, dict):
        return isinstance(actual, dict) and all(
            key in actual and _contains(actual[key], value)
            for key, value in pattern.items())
    return actual == pattern


class KeystoneReplay(HTTPServer):
    """Answers as the recorded Keystone exchanges in ``keystone/*.json``.

    Each recording has a ``request`` (``method``, ``path`` and, optionally,
    a ``body`` pattern the JSON body must contain) and the ``response``
    (``status``, ``headers``, ``body``) Keystone gave. A request gets the
    response of the first recording of ``names`` it matches, else a 404;
    ``http://keystone.test`` in responses becomes this server's URL.
    """

    def __init__(self, names: list[str]) -> None:
        super().__init__(self._answer)
        self.recordings = {name: json.loads(
            (RECORDINGS / f'{name}.json').read_text()) for name in names}

    def response(self, name: str) -> dict[str, Any]:
        """The response of recording ``name`` (as recorded)."""
        return self.recordings[name]['response']

    def unmatched(self) -> list[Request]:
        return [request for request in self.requests
                if self.recording_of(request) is None]

    def recording_of(self, request: Request) -> str | None:
        try:
            body = request.json() if request.body else None
        except ValueError:
            body = None
        for name, recording in self.recordings.items():
            expected = recording['request']
            if expected['method'] == request.method and \
                    expected['path'].rstrip('/') == \
                    request.path.rstrip('/') and \
                    _contains(body, expected.get('body', body)):
                return name
        return None

    def _answer(self, request: Request) -> Answer:
        name = self.recording_of(request)
        if name is None:
            return Answer(404, {'Content-Type': 'application/json'},
                          b'{"error": {"code": 404, "title": "Not Found"}}')
        response = self.recordings[name]['response']
        body = json.dumps(response['body']).replace(RECORDED_KEYSTONE,
                                                    self.url)
        return Answer(response['status'], dict(response['headers']),
                      body.encode())


def free_refusing_address() -> tuple[socket.socket, str]:
    """A socket bound to a loopback port without listening: connecting to
    it is refused. Keep the socket open while the port is in use."""
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    return sock, f'127.0.0.1:{sock.getsockname()[1]}'


class Inbox:
    """An aiosmtpd handler keeping the mails it accepts; ``reply``, when
    set, is what it answers to DATA instead of accepting."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []
        self.reply: str | None = None
        self.logins: list[tuple[str, str]] = []

    async def handle_DATA(self, server: Any, session: Any,
                          envelope: Any) -> str:
        if self.reply:
            return self.reply
        self.envelopes.append(envelope)
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
    """aiosmtpd's threaded server, on a port the kernel picks (aiosmtpd
    itself wants a port number up front)."""

    def __init__(self, handler: Any, **kwargs: Any) -> None:
        self._sock = socket.create_server(('127.0.0.1', 0))
        super().__init__(handler, hostname='127.0.0.1',
                         port=self._sock.getsockname()[1], **kwargs)

    def _create_server(self) -> Any:
        return self.loop.create_server(self._factory_invoker,
                                       sock=self._sock, ssl=self.ssl_context)

    def __enter__(self) -> SMTPServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@dataclasses.dataclass
class TLSFiles:
    ca: pathlib.Path  # what clients trust
    cert: pathlib.Path  # the server's, for 127.0.0.1, signed by ca
    key: pathlib.Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_tls_files(directory: pathlib.Path) -> TLSFiles:
    """A throwaway CA and a server certificate for 127.0.0.1 it signed."""
    now = datetime.datetime.now(datetime.UTC)
    valid = {'not_valid_before': now - datetime.timedelta(hours=1),
             'not_valid_after': now + datetime.timedelta(days=1)}
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (x509.CertificateBuilder(**valid)
               .subject_name(_name('notifier test CA'))
               .issuer_name(_name('notifier test CA'))
               .public_key(ca_key.public_key())
               .serial_number(x509.random_serial_number())
               .add_extension(x509.BasicConstraints(ca=True, path_length=0),
                              critical=True)
               .add_extension(x509.KeyUsage(
                   digital_signature=True, key_cert_sign=True,
                   crl_sign=True, content_commitment=False,
                   key_encipherment=False, data_encipherment=False,
                   key_agreement=False, encipher_only=False,
                   decipher_only=False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(
                   ca_key.public_key()), critical=False)
               .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder(**valid)
            .subject_name(_name('127.0.0.1'))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address('127.0.0.1'))]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None),
                           critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    files = TLSFiles(directory / 'ca.pem', directory / 'server.pem',
                     directory / 'server.key')
    files.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return files
