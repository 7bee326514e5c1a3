"""WSGI middleware of the app (assembled in :mod:`.app`).

The ones on every request's path are plain WSGI callables: each WebOb
layer builds a request object and, in oslo.middleware, inspects its own
signature per request, which cost a fifth of a message post.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from collections.abc import Iterable
from typing import Any

import webob
from oslo_middleware import request_id

from zaqar_core.transport.gate import Gate
from zaqar_plugins.transport.wsgi import controllers
from zaqar_plugins.transport.wsgi import decoding
from zaqar_plugins.transport.wsgi import views

Environ = dict[str, Any]
WSGIApp = Callable[[Environ, Callable], Iterable[bytes]]

_REQUEST_ID_HEADER = request_id.HTTP_RESP_HEADER_REQUEST_ID
_GLOBAL_ID = re.compile(request_id.ID_FORMAT)
# The version (4) and variant (RFC 9562) bits of a random UUID.
_UUID4_CLEAR = ~((0xf000 << 64) | (0xc000 << 48))
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)


def new_request_id() -> str:
    """A request id as oslo.context makes one (``req-`` and a random
    UUID), from the random module's generator, seeded from the OS and
    again in a forked child: it need not be secret, only unique, and
    oslo.context's (os.urandom, a system call, and a UUID object) was 1%
    of a message delete."""
    h = '%032x' % (random.getrandbits(128) & _UUID4_CLEAR | _UUID4_SET)
    return f'req-{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}'


class RequestId:
    """oslo.middleware's RequestId, without WebOb: a new
    ``openstack.request_id`` per request, sent back as
    x-openstack-request-id; a well-formed inbound X-Openstack-Request-Id
    becomes ``openstack.global_request_id``."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: Environ, start_response: Callable):
        inbound = environ.get('HTTP_X_OPENSTACK_REQUEST_ID', '')
        if inbound and _GLOBAL_ID.match(inbound):
            environ[request_id.GLOBAL_REQ_ID] = inbound
        req_id = new_request_id()
        environ[request_id.ENV_REQUEST_ID] = req_id

        def with_id(status, headers, exc_info=None):
            if not any(k.lower() == _REQUEST_ID_HEADER for k, _ in headers):
                headers = [*headers, (_REQUEST_ID_HEADER, req_id)]
            return start_response(status, headers, exc_info)

        return self.app(environ, with_id)


class DecodedRequest:
    """Refuses (400) a request whose path, query string or header values
    are not UTF-8 text, or whose URL has a "%" that is no escape, before
    anything decodes them: WebOb, Pecan, oslo.context and auth_token each
    fail their own way on such input (a 500, a traceback in the log), or
    read it as Latin-1 text.

    A path or query string that the server handed over as decoded text
    (which PEP 3333 forbids) is put back in PEP 3333's form, which WebOb
    and the router expect.
    """

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: Environ, start_response: Callable):
        error = decoding.undecodable(environ)
        if error is None:
            return self.app(environ, start_response)
        response = controllers.render(views.Shown(error.status,
                                                  error.to_dict()))
        return response(environ, start_response)


class CrossOrigin:
    """Sends to oslo.middleware's CORS only what it acts on: requests with
    an Origin header, and OPTIONS (whose errors it turns into 200)."""

    def __init__(self, app: WSGIApp, cors_app: WSGIApp) -> None:
        self.app = app
        self.cors_app = cors_app

    def __call__(self, environ: Environ, start_response: Callable):
        if 'HTTP_ORIGIN' in environ or environ['REQUEST_METHOD'] == 'OPTIONS':
            return self.cors_app(environ, start_response)
        return self.app(environ, start_response)


class AuthErrorsAsJson:
    """Reshapes auth_token's refusals (HTML, or ``{"error": {...}}``) into
    Zaqar's ``{"title", "description"}``, keeping their status and
    headers (WWW-Authenticate)."""

    def __init__(self, app) -> None:
        self.app = app

    def __call__(self, environ, start_response):
        response = webob.Request(environ).get_response(self.app)
        if response.status_int >= 400 and not _zaqar_error(response):
            reason = response.status.split(' ', 1)[-1]
            description = f'{reason}.'
            try:
                description = response.json['error']['message']
            except (ValueError, KeyError, TypeError):
                pass
            response.json = {'title': reason, 'description': description}
            response.content_type = controllers.JSON
            response.charset = None
        return response(environ, start_response)


def _zaqar_error(response: webob.Response) -> bool:
    if response.content_type != controllers.JSON:
        return False
    try:
        return 'title' in response.json
    except ValueError:
        return False


# Headers a pre-signed request may carry past Keystone: its project (the
# signature covers it) and its request id. Identity headers (X-Roles,
# X-User-Id...) are dropped, as auth_token would drop forged ones.
_SIGNED_KEEPS = frozenset(('HTTP_X_PROJECT_ID', 'HTTP_X_OPENSTACK_REQUEST_ID'))


class RootWithoutAuth:
    """Sends ``/`` and pre-signed requests (``URL-Signature``, checked by
    the API instead) straight to the app, everything else through auth."""

    def __init__(self, app, authenticated) -> None:
        self.app = app
        self.authenticated = authenticated

    def __call__(self, environ, start_response):
        if environ.get('PATH_INFO', '') in ('', '/'):
            return self.app(environ, start_response)
        if 'HTTP_URL_SIGNATURE' in environ:
            for name in [k for k in environ if k.startswith('HTTP_X_') and
                         not k.startswith('HTTP_X_FORWARDED_') and
                         k not in _SIGNED_KEEPS]:
                del environ[name]
            return self.app(environ, start_response)
        return self.authenticated(environ, start_response)


class RelativeLocation:
    """Strips this server's own origin from Location headers.

    The app's own responses keep theirs relative
    (:class:`.controllers.Response`), but a WebOb layer in front of it (an
    oslo middleware, auth_token) rewrites a relative Location as an absolute
    URL built from the request; Zaqar's contract is the relative path.
    """

    def __init__(self, app) -> None:
        self.app = app

    def __call__(self, environ: Environ, start_response: Callable):
        def relative(status, headers, exc_info=None):
            if any(k.lower() == 'location' and not v.startswith('/')
                   for k, v in headers):
                origin = webob.Request(environ).host_url
                headers = [(k, v[len(origin):])
                           if k.lower() == 'location' and
                           v.startswith(origin) else (k, v)
                           for k, v in headers]
            return start_response(status, headers, exc_info)

        return self.app(environ, relative)


class Working:
    """Lets each request through a :class:`~zaqar_core.transport.gate.Gate`
    (zaqar-server's threads beyond those that work are for requests that
    wait for messages)."""

    def __init__(self, app: WSGIApp, gate: Gate) -> None:
        self.app = app
        self.gate = gate

    def __call__(self, environ: Environ, start_response: Callable):
        with self.gate.working():
            return self.app(environ, start_response)
