"""The Pecan root controller: a thin adapter from HTTP to API actions.

Routing is the shared table in :mod:`zaqar_core.api.v2.routes` (the same
action names the WebSocket transport uses), so this controller only turns
a WebOb request into an API :class:`Request` and a :class:`Result` back
into a response.
"""

import json
from typing import Any

import pecan
import webob

from zaqar_core.api import errors
from zaqar_core.api import jsonbody
from zaqar_core.api.request import Request
from zaqar_core.api.request import Result
from zaqar_core.api.service import Api
from zaqar_core.api.v2 import routes

JSON = 'application/json'


def _query(req: webob.Request) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for key, value in req.GET.items():
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


def _check_accept(req: webob.Request) -> None:
    accept = req.headers.get('Accept')
    if accept and not _accepts_json(accept):
        raise errors.NotAcceptable()


def _drain(req: webob.Request, size: int) -> None:
    if size > DRAIN_LIMIT:
        return
    stream = req.body_file_raw
    while size > 0:
        chunk = stream.read(min(size, 65536))
        if not chunk:
            return
        size -= len(chunk)


def _read_body(api: Api, name: str, req: webob.Request) -> tuple[Any, int]:
    size = req.content_length or 0
    if size <= 0:
        return None, 0
    try:
        api.check_body_size(name, size)
    except errors.ApiError:
        _drain(req, size)
        raise
    raw = req.body
    if not raw.strip():
        return None, len(raw)
    if req.content_type == 'application/x-www-form-urlencoded':
        raise errors.BadRequest('Form-encoded bodies are not supported; '
                                'send JSON.', title='Invalid Content-Type')
    return jsonbody.decode(raw), len(raw)


def render(result: Result) -> webob.Response:
    """The HTTP response for an action's result."""
    response = webob.Response(status=result.status)
    if result.body is not None and result.status != 204:
        response.body = json.dumps(result.body).encode()
        response.content_type = JSON
        response.charset = None
    else:
        response.content_type = None
    for header, value in result.headers.items():
        response.headers[header] = value
    return response


class RootController:
    """Every request lands in :meth:`dispatch` (see app.Application)."""

    def __init__(self, api: Api) -> None:
        self.api = api

    @pecan.expose(content_type=JSON)
    def dispatch(self, req: webob.Request,
                 resp: webob.Response) -> webob.Response:
        _check_accept(req)
        if req.method == 'OPTIONS':
            # What the path allows, as an HTTP server answers it (CORS
            # preflights were answered by the CORS middleware already).
            methods = routes.allowed_methods(req.path_info,
                                             self.api.conf.admin_mode)
            return render(Result(204, headers={'Allow': ', '.join(methods)}))
        query = _query(req)
        name, path_params = routes.match(req.method, req.path_info, query,
                                         self.api.conf.admin_mode)
        body, size = _read_body(self.api, name, req)
        api_request = Request(
            project_id=req.headers.get('X-Project-Id',
                                       req.headers.get('X-Tenant-Id')),
            client_id=req.headers.get('Client-Id'),
            params={**query, **path_params},
            body=body, body_size=size,
            content_type=req.content_type or '',
            context=req.environ.get('zaqar.context'))
        return render(self.api.call(name, api_request))
