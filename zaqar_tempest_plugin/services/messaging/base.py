"""What every messaging client shares: the Client-ID header, JSON bodies
(decoded as they are: tempest's own parsing would strip single top-level
keys such as ``messages``) and response validation."""

from __future__ import annotations

import json
import urllib.parse
import uuid
from typing import Any

from tempest.lib.common import rest_client

Body = rest_client.ResponseBody | rest_client.ResponseBodyList


def query(params: dict[str, Any] | None) -> str:
    """``?k=v&...`` for the params that are not None, or ''."""
    if not params:
        return ''
    items = []
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = 'true' if value else 'false'
        elif isinstance(value, list | tuple):
            value = ','.join(map(str, value))
        items.append((key, value))
    return '?' + urllib.parse.urlencode(items) if items else ''


def quote(name: str) -> str:
    """A path segment, percent-encoded (names under test may be odd)."""
    return urllib.parse.quote(name, safe='')


class MessagingClient(rest_client.RestClient):
    """Base of the v2 clients.

    Each client sends its own ``Client-ID`` (a random UUID, as 32 hex
    digits like python-zaqarclient's), so two clients of one user are two
    messaging clients: a message list hides the lister's own messages
    unless ``echo`` is true.
    """

    # The catalog URL is the server root; paths carry the version.
    api_version = None

    def __init__(self, auth_provider: Any, service: str, region: str,
                 **kwargs: Any) -> None:
        super().__init__(auth_provider, service, region, **kwargs)
        self.client_id = uuid.uuid4().hex

    def get_headers(self, accept_type: str | None = None,
                    send_type: str | None = None) -> dict[str, str]:
        headers = super().get_headers(accept_type, send_type)
        headers['Client-ID'] = self.client_id
        return headers

    def call(self, method: str, path: str, schema: dict | None = None,
             body: Any = None, headers: dict[str, str] | None = None,
             raw_body: bool = False) -> Body:
        """``method`` on ``path`` (``/v2/...``, an href as the server
        gives it), with Keystone auth.

        ``body`` is JSON-encoded unless ``raw_body``; ``headers`` add to or
        replace the defaults. The response is validated against
        ``schema`` when given; errors raise tempest.lib exceptions.
        """
        all_headers = self.get_headers()
        all_headers.update(headers or {})
        data = body if raw_body or body is None else json.dumps(body)
        resp, raw = self.request(method, path.lstrip('/'),
                                 headers=all_headers, body=data)
        return self.finish(resp, raw, schema)

    def call_unauthenticated(self, method: str, path: str,
                             headers: dict[str, str] | None = None,
                             body: Any = None,
                             schema: dict | None = None) -> Body:
        """``method`` on ``path`` without the client's token: only the
        default headers and ``headers`` (which may carry a token of the
        caller's choosing)."""
        all_headers = self.get_headers()
        all_headers.update(headers or {})
        data = None if body is None else json.dumps(body)
        resp, raw = self.raw_request(self.url_for(path), method,
                                     headers=all_headers, body=data)
        self._error_checker(resp, raw)
        return self.finish(resp, raw, schema)

    def url_for(self, path: str) -> str:
        """The absolute URL of ``path`` on this service's endpoint."""
        return self.base_url.rstrip('/') + '/' + path.lstrip('/')

    def finish(self, resp: Any, raw: bytes | str | None,
               schema: dict | None) -> Body:
        decoded = json.loads(raw) if raw else None
        if schema is not None:
            self.validate_response(schema, resp, decoded)
        if isinstance(decoded, list):
            return rest_client.ResponseBodyList(resp, decoded)
        return rest_client.ResponseBody(resp, decoded)
