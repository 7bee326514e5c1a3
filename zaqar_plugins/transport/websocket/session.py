"""One connection's side of the protocol, whatever library carries the
frames: a request frame in, its reply frame out.

A request is an object ``{"action", "headers", "body"}``; its reply is
``{"request": <the request, echoed>, "body": ..., "headers": {"status"}}``
in the same framing (JSON text or MessagePack binary). Checks run in
upstream's order: decoding, the envelope, the action's name, the auth
gate, then the API (its parameters, policy, storage). Every refusal is a
reply; nothing a client sends closes the connection.

:meth:`Session.handle` blocks (Keystone, storage): the server runs it on
a thread of its pool, one request of a connection at a time.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import time
from typing import Any

from oslo_log import log

from zaqar_core.api import errors
from zaqar_core.api import signed_url
from zaqar_core.api.request import Request
from zaqar_core.api.service import Api
from zaqar_core.api.v2 import registry
from zaqar_core.notification.hub import Connection
from zaqar_plugins.transport.websocket import auth
from zaqar_plugins.transport.websocket import binding
from zaqar_plugins.transport.websocket import codecs

LOG = log.getLogger(__name__)

API_VERSION = 'v2'
AUTHENTICATE = 'authenticate'
#: Headers never echoed back.
_SECRET_HEADERS = frozenset(('x-auth-token', 'url-signature'))
_NO_REQUEST = {'action': None, 'body': {}, 'headers': {}}


@dataclasses.dataclass
class Reply:
    """A reply to send.

    Attributes:
        frame: the encoded reply.
        status: its status, for the log.
        expires: after a successful ``authenticate``, when the token
            expires (the server closes the connection then, 4003).
    """

    frame: codecs.Frame
    status: int
    expires: datetime.datetime | None = None


class Session:
    """The protocol state of one connection.

    Args:
        api: the process's API.
        authenticator: checks Keystone tokens; None when auth is off.
        connection: the connection's handle for pushes (subscribing it).
    """

    def __init__(self, api: Api,
                 authenticator: auth.KeystoneAuthenticator | None,
                 connection: Connection | None = None) -> None:
        self.api = api
        # Actions that need a switch that is off are no actions here
        # (upstream's answer), rather than the API's 404.
        self.switches = registry.switches(api.conf)
        self.authenticator = authenticator
        self.connection = connection
        self.identity: auth.Identity | None = None
        #: Whether pushes are sent in MessagePack (the framing of the last
        #: request that subscribed the connection).
        self.binary_pushes = False
        # The last context made from headers, and what made it: a
        # connection sends the same ones again and again.
        self._header_context: tuple[tuple, Any] = ((), None)

    def handle(self, frame: codecs.Frame) -> Reply:
        """The reply to one request frame (never raises)."""
        binary = isinstance(frame, bytes)
        echo = dict(_NO_REQUEST)
        try:
            document = codecs.decode(frame)
            if not isinstance(document, dict):
                raise errors.BadRequest(
                    'Unexpected body type. Expected dict or dict like.')
            echo = _echo(document)
            status, body, expires = self._run(document, binary)
        except errors.ApiError as exc:
            status, body, expires = exc.status, binding.error_body(exc), None
        except Exception:
            LOG.exception('Unexpected error in a WebSocket request')
            error = errors.unexpected()
            status, body, expires = 500, binding.error_body(error), None
        reply = {'request': {**echo, 'api': API_VERSION}, 'body': body,
                 'headers': {'status': status}}
        try:
            encoded = codecs.encode(reply, binary)
        except (TypeError, ValueError, OverflowError):
            # A request echo the codec cannot write back (JSON text with
            # lone surrogates, say): reply without it.
            reply['request'] = {**_NO_REQUEST, 'api': API_VERSION}
            encoded = codecs.encode(reply, binary)
        return Reply(encoded, status, expires)

    def _run(self, document: dict[str, Any], binary: bool
             ) -> tuple[int, Any, datetime.datetime | None]:
        name, headers, body = _envelope(document)
        if name == AUTHENTICATE:
            return self._authenticate(headers)
        action = registry.ACTIONS.get(name) if isinstance(name, str) \
            else None
        if action is None or not registry.exists(action, self.switches):
            raise errors.BadRequest(f'{name} is not a valid action',
                                    title='Invalid action')
        signed = _signed(headers)
        self._recheck()
        if self.authenticator is not None and self.identity is None and \
                signed is None and not action.anonymous:
            raise errors.Forbidden('Not authenticated: send "authenticate" '
                                   'with an X-Auth-Token first.',
                                   title='Not authenticated')
        params, document_part = binding.bind(action, body)
        req = Request(project_id=self._project(headers),
                      client_id=_string(auth.header(headers, 'Client-ID')),
                      params=params, body=document_part,
                      body_size=_document_size(document_part),
                      context=self._context(headers, signed),
                      signed=signed, connection=self.connection)
        if action.document:
            self.api.check_body_size(name, req.body_size)
        result = self.api.call(name, req)
        if action.base == 'subscription_create' and \
                result.status == 201 and self.connection is not None and \
                not (isinstance(body, dict) and body.get('subscriber')):
            self.binary_pushes = binary
        return result.status, binding.reply_body(action, result), None

    def _authenticate(self, headers: dict[str, Any]
                      ) -> tuple[int, Any, datetime.datetime | None]:
        if self.authenticator is None:
            # Auth is off: every request runs as its headers say.
            return 200, {'message': 'Authenticated.'}, None
        token = auth.header(headers, 'X-Auth-Token')
        # A failed attempt leaves the connection unauthenticated, whoever
        # it was before.
        self.identity = None
        if not isinstance(token, str) or not token:
            raise errors.BadRequest('X-Auth-Token is missing.',
                                    title='Missing header value')
        try:
            self.identity = self.authenticator.authenticate(token)
        except auth.Rejected as exc:
            error = errors.ApiError(f'Authentication failed: {exc}',
                                    title='Authentication failed')
            error.status = exc.status
            raise error from None
        return 200, {'message': 'Authenticated.'}, self.identity.expires

    def _recheck(self) -> None:
        """Check the connection's token again once the check is as old as
        auth_token would trust it: a revoked token stops working."""
        identity, authenticator = self.identity, self.authenticator
        if identity is None or authenticator is None or \
                time.monotonic() - identity.checked < authenticator.recheck:
            return
        try:
            self.identity = authenticator.authenticate(identity.token)
        except auth.Rejected as exc:
            self.identity = None
            error = errors.ApiError(f'The token is no longer valid: {exc}',
                                    title='Authentication failed')
            error.status = exc.status
            raise error from None

    def deauthenticate(self) -> None:
        """Forget the identity (its token expired)."""
        self.identity = None

    def _project(self, headers: dict[str, Any]) -> str | None:
        named = _string(auth.header(headers, 'X-Project-ID'))
        if self.identity is None:
            return named
        # Authenticated: the token's project, and no other.
        if named is not None and named != self.identity.project_id:
            raise errors.Forbidden(
                'X-Project-ID is not the project of the token this '
                'connection authenticated with.', title='Not authorized')
        return self.identity.project_id

    def _context(self, headers: dict[str, Any],
                 signed: signed_url.Signed | None) -> Any:
        if self.identity is not None:
            return self.identity.context
        if signed is not None and self.authenticator is not None:
            # A pre-signed request carries no identity beyond its project,
            # whatever identity headers it has (as over REST).
            return None
        key = auth.context_key(headers)
        if self._header_context[0] != key:
            self._header_context = (key, auth.context_from_headers(headers))
        return self._header_context[1]


def _envelope(document: dict[str, Any]
              ) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    name = document.get('action')
    headers = document.get('headers')
    body = document.get('body')
    if headers is None:
        headers = {}
    if body is None:
        body = {}
    if not isinstance(headers, dict):
        raise errors.BadRequest('"headers" must be an object.',
                                title='Invalid request')
    if not isinstance(body, dict):
        raise errors.BadRequest('"body" must be an object.',
                                title='Invalid request')
    return name, headers, body


def _echo(document: dict[str, Any]) -> dict[str, Any]:
    """The request as the reply echoes it: its action, body and headers
    (but secrets)."""
    headers = document.get('headers')
    if isinstance(headers, dict):
        headers = {k: v for k, v in headers.items()
                   if not (isinstance(k, str) and
                           k.lower() in _SECRET_HEADERS)}
    else:
        headers = {}
    body = document.get('body')
    return {'action': document.get('action'),
            'body': body if isinstance(body, dict) else {},
            'headers': headers}


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _listed(value: Any) -> list[str]:
    """A URL-* header: a list (upstream's form) or a comma-separated
    string (REST's)."""
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    if isinstance(value, str):
        return [v.strip() for v in value.split(',') if v.strip()]
    return []


def _signed(headers: dict[str, Any]) -> signed_url.Signed | None:
    signature = auth.header(headers, 'URL-Signature')
    if signature is None:
        return None
    return signed_url.Signed(
        signature=signature if isinstance(signature, str) else '',
        expires=_string(auth.header(headers, 'URL-Expires')) or '',
        methods=_listed(auth.header(headers, 'URL-Methods')),
        paths=_listed(auth.header(headers, 'URL-Paths')))


def _document_size(document: Any) -> int:
    """The size of the document as compact JSON: what the body limits
    count, whatever the framing."""
    if document is None:
        return 0
    return len(json.dumps(document, separators=(',', ':'),
                          ensure_ascii=False).encode())
