"""The Zaqar v2 requests the bench sends, as ready-to-write bytes.

A worker's requests differ only by queue and, for deletes and later
pages, by the href the server handed out. The headers (including the
worker's own ``Client-ID``) are encoded once per worker, and the bodies of
posts and claims once per worker too, so the loops do no encoding.
"""

from __future__ import annotations

import json
import urllib.parse
import uuid

from zaqar_bench.http import Endpoint
from zaqar_bench.http import encode_headers
from zaqar_bench.http import encode_request


def message_body(size: int) -> dict[str, str]:
    """A message body: a JSON object with a padding string of ``size``."""
    return {'padding': 'x' * size}


class Api:
    """Request bytes for one client (one ``Client-ID``)."""

    def __init__(self, endpoint: Endpoint, project: str,
                 token: str | None = None,
                 client_id: str | None = None) -> None:
        self.endpoint = endpoint
        self.client_id = client_id or str(uuid.uuid4())
        headers = {'Host': endpoint.host_header,
                   'Client-ID': self.client_id,
                   'X-Project-Id': project,
                   'Content-Type': 'application/json',
                   'Accept': 'application/json'}
        if token:
            headers['X-Auth-Token'] = token
        self.headers = encode_headers(headers)
        self._prefix = endpoint.prefix

    def path(self, tail: str) -> str:
        """The request target of an API path such as ``/v2/ping``."""
        return self._prefix + tail

    def queue_path(self, queue: str) -> str:
        return self.path('/v2/queues/' + urllib.parse.quote(queue, safe=''))

    def request(self, method: str, target: str, body: bytes = b'') -> bytes:
        return encode_request(method, target, self.headers, body)

    def ping(self) -> bytes:
        return self.request('GET', self.path('/v2/ping'))

    def create_queue(self, queue: str) -> bytes:
        return self.request('PUT', self.queue_path(queue))

    def queue_stats(self, queue: str) -> bytes:
        return self.request('GET', self.queue_path(queue) + '/stats')

    def post_messages(self, queue: str, count: int, ttl: int,
                      size: int) -> bytes:
        message = {'ttl': ttl, 'body': message_body(size)}
        body = json.dumps({'messages': [message] * count},
                          separators=(',', ':')).encode()
        return self.request('POST', self.queue_path(queue) + '/messages',
                            body)

    def claim(self, queue: str, limit: int, ttl: int, grace: int) -> bytes:
        body = json.dumps({'ttl': ttl, 'grace': grace}).encode()
        return self.request(
            'POST', f'{self.queue_path(queue)}/claims?limit={limit}', body)

    def list_messages(self, queue: str, limit: int) -> bytes:
        return self.request(
            'GET', f'{self.queue_path(queue)}/messages?limit={limit}'
                   '&echo=true')

    def follow(self, method: str, href: str) -> bytes:
        """A request to an href from a response body (a message with its
        ``claim_id``, the next page).

        Hrefs are relative to the server root; one that does not already
        carry the URL's path prefix gets it.
        """
        prefix = self._prefix
        if prefix and not href.startswith(prefix + '/'):
            href = prefix + href
        return self.request(method, href)
