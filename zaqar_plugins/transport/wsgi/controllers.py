"""The Pecan root controller: a thin adapter from HTTP to API actions.

Routing is the shared table in :mod:`zaqar_core.api.v2.routes` (the same
action names the WebSocket transport uses), so this controller only turns
a WebOb request into an API :class:`Request` and a :class:`Result` back
into a response.
"""

from typing import Any

import pecan
import webob
from oslo_context import context as oslo_context
from webob import compat as webob_compat

from zaqar_core import jsontext
from zaqar_core.api import errors
from zaqar_core.api import jsonbody
from zaqar_core.api import signed_url
from zaqar_core.api.request import Request
from zaqar_core.api.service import Api
from zaqar_core.api.v2 import registry
from zaqar_plugins.transport.wsgi import decoding
from zaqar_plugins.transport.wsgi import routes
from zaqar_plugins.transport.wsgi import views

JSON = 'application/json'
#: The media type a queue PATCH must have (upstream's JSON-patch subset).
PATCH_MEDIA_TYPE = 'application/openstack-messaging-v2.0-json-patch'


def _query(req: webob.Request) -> dict[str, Any]:
    params: dict[str, Any] = {}
    query = req.environ.get('QUERY_STRING')
    if not query:
        return params  # most requests
    try:
        # WebOb's parser of req.GET, without the MultiDict it fills.
        pairs = list(webob_compat.parse_qsl_text(query))
    except UnicodeDecodeError:
        # DecodedRequest, in front of the app, refuses such a query first.
        raise decoding.undecodable_query() from None
    for key, value in pairs:
        if key in params:
            previous = params[key]
            params[key] = (previous if isinstance(previous, list)
                           else [previous]) + [value]
        else:
            params[key] = value
    return params


# Media ranges that admit a JSON answer.
_JSON_RANGES = frozenset(('*/*', 'application/*', JSON))

# A refused body up to this size is read and dropped before answering, so
# that the client, still sending, sees the 400 rather than a reset.
DRAIN_LIMIT = 8 * 1024 * 1024


def _accepts_json(accept: str) -> bool:
    for media_range in accept.split(','):
        media_type, *params = [p.strip() for p in media_range.split(';')]
        if media_type.lower() not in _JSON_RANGES:
            continue
        quality = [p for p in params if p.replace(' ', '').startswith('q=')]
        if not quality or quality[0].split('=', 1)[1].strip() not in (
                '0', '0.0', '0.00', '0.000'):
            return True
    return False


def _check_accept(environ: dict) -> None:
    accept = environ.get('HTTP_ACCEPT')
    if accept and not _accepts_json(accept):
        raise errors.NotAcceptable()


def _read(stream: Any, size: int) -> bytes:
    """Up to ``size`` bytes of ``stream``: fewer at its end, or when the
    client stops sending (uWSGI's read timeout) or goes away."""
    chunks = []
    try:
        while size > 0:
            chunk = stream.read(min(size, 65536))
            if not chunk:
                break
            chunks.append(chunk)
            size -= len(chunk)
    except OSError:
        pass
    return b''.join(chunks)


def _chunked(environ: dict) -> bool:
    return 'chunked' in environ.get('HTTP_TRANSFER_ENCODING', '').lower()


def _content_length(environ: dict) -> int:
    value = environ.get('CONTENT_LENGTH', '').strip()
    if not value:
        return 0
    if not value.isdecimal() or not value.isascii():
        if value.startswith('-') and value[1:].isdecimal():
            raise decoding.invalid_header(
                'CONTENT_LENGTH',
                'The value of the header must be a positive number.')
        raise decoding.invalid_header(
            'CONTENT_LENGTH', 'The value of the header must be a number.')
    return int(value)


def _read_body(api: Api, name: str, environ: dict) -> tuple[Any, int]:
    # Straight from the WSGI environ: WebOb's request properties cost a
    # Python call per attribute under Pecan (a tenth of a message post).
    size = _content_length(environ)
    stream = environ['wsgi.input']
    if size <= 0:
        if not _chunked(environ):
            return None, 0
        # No length to check before reading: read what may be drained,
        # then check what came.
        raw = _read(stream, DRAIN_LIMIT + 1)
        api.check_body_size(name, len(raw))
    else:
        try:
            api.check_body_size(name, size)
        except errors.ApiError:
            if size <= DRAIN_LIMIT:
                # The client, still sending, then sees the 400, not a
                # reset.
                _read(stream, size)
            raise
        raw = _read(stream, size)
        if len(raw) < size:
            raise errors.invalid_body(
                f'The request body is shorter than its Content-Length '
                f'({size} bytes).')
    if not raw.strip():
        return None, len(raw)
    if _media_type(environ) == 'application/x-www-form-urlencoded':
        raise errors.BadRequest('Form-encoded bodies are not supported; '
                                'send JSON.', title='Invalid Content-Type')
    return jsonbody.decode(raw), len(raw)


def _header(environ: dict, key: str) -> str | None:
    """The text of the header under ``key``, None when it is absent.

    Raises:
        BadRequest: its value is not UTF-8 (when DecodedRequest did not
            refuse the request already).
    """
    value = environ.get(key)
    if value is None or value.isascii():
        return value
    text = decoding.wsgi_text(value)
    if text is None:
        raise decoding.invalid_header(key, 'It must be UTF-8 text.')
    return text


def _signed(environ: dict) -> signed_url.Signed | None:
    """The URL-* headers of a pre-signed request, if it is one."""
    signature = _header(environ, 'HTTP_URL_SIGNATURE')
    if signature is None:
        return None

    def listed(name: str) -> list[str]:
        return [v.strip() for v in (_header(environ, name) or '').split(',')
                if v.strip()]

    return signed_url.Signed(
        signature=signature,
        expires=_header(environ, 'HTTP_URL_EXPIRES') or '',
        methods=listed('HTTP_URL_METHODS'), paths=listed('HTTP_URL_PATHS'))


def _media_type(environ: dict) -> str:
    """The Content-Type without its parameters, as WebOb gives it."""
    return environ.get('CONTENT_TYPE', '').split(';', 1)[0].strip()


class Response(webob.Response):
    """A WebOb response that sends its Location header as it is.

    Zaqar's Location is a relative path. WebOb makes it absolute from the
    request when the response is sent (a URL parse and join: a twentieth
    of a message post), which :class:`.middleware.RelativeLocation` would
    then undo.
    """

    def _abs_headerlist(self, environ: dict) -> list[tuple[str, str]]:
        return self._headerlist


def render(shown: views.Shown) -> webob.Response:
    """The HTTP response for a rendered result or error."""
    # Headers and body handed over whole: WebOb's property setters cost
    # a tenth of the transport's part of a message post.
    headers = shown.headers
    status = shown.status
    body = b''
    if shown.body is not None and status != 204:
        body = jsontext.dumps(shown.body).encode()
        headers = {'Content-Type': JSON, **headers}  # the view's may differ
    elif status == 200:
        status = 204  # nothing to show, as Pecan would answer it
    return Response(body=body, status=status,
                    headerlist=list(headers.items()))


def _check_patch_media_type(action: registry.Action, environ: dict) -> None:
    """Queue PATCH bodies are JSON patches of upstream's media type."""
    if action.base == 'queue_update' and \
            _media_type(environ) != PATCH_MEDIA_TYPE:
        raise errors.UnsupportedMediaType(
            f'Accepted media type for PATCH: {PATCH_MEDIA_TYPE}. See the '
            f'Accept-Patch header.',
            headers={'Accept-Patch': PATCH_MEDIA_TYPE})


class RootController:
    """Every request lands in :meth:`dispatch` (see app.Application)."""

    def __init__(self, api: Api) -> None:
        self.api = api
        # Fixed for the process's life: read once, not per request.
        self.switches = registry.switches(api.conf)

    @pecan.expose(content_type=JSON)
    def dispatch(self, req: webob.Request, resp: object) -> webob.Response:
        environ = req.environ
        # The oslo.context request context, from the auth headers
        # (keystonemiddleware's, when Keystone is on); first, as it becomes
        # the thread's current context, which log lines name.
        context = oslo_context.RequestContext.from_environ(
            decoding.text_headers(environ))
        _check_accept(environ)
        method = environ['REQUEST_METHOD']
        if method == 'OPTIONS':
            # What the path allows, as an HTTP server answers it (CORS
            # preflights were answered by the CORS middleware already).
            methods = routes.allowed_methods(
                req.pecan['routing_path'], self.switches)
            return render(views.Shown(
                204, headers={'Allow': ', '.join(methods)}))
        query = _query(req)
        name, path_params = routes.match(
            method, req.pecan['routing_path'], query, self.switches)
        action = registry.ACTIONS[name]
        body, size = _read_body(self.api, name, environ)
        _check_patch_media_type(action, environ)
        project_key = 'HTTP_X_PROJECT_ID' if 'HTTP_X_PROJECT_ID' in environ \
            else 'HTTP_X_TENANT_ID'
        api_request = Request(
            project_id=_header(environ, project_key),
            client_id=_header(environ, 'HTTP_CLIENT_ID'),
            params={**query, **path_params},
            body=body, body_size=size,
            context=context,
            signed=_signed(environ))
        call = views.Call(action, api_request, query)
        try:
            result = self.api.call(name, api_request)
        except errors.ApiError as exc:
            exc.headers.update(views.error_headers(call, exc))
            raise
        return render(views.render(call, result))
