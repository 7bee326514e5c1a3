"""Pre-signed URLs: sharing a queue, and requests that carry the
signature (``URL-*`` headers) instead of a token."""

from __future__ import annotations

from typing import Any

from zaqar_tempest_plugin.api_schema import signed_urls as schemas
from zaqar_tempest_plugin.services.messaging import base


def signed_headers(signed: dict[str, Any]) -> dict[str, str]:
    """The headers that authorise a request with a share response."""
    return {
        'URL-Signature': signed['signature'],
        'URL-Expires': signed['expires'],
        'URL-Methods': ','.join(signed['methods']),
        'URL-Paths': ','.join(signed['paths']),
        'X-Project-ID': signed['project'],
    }


class SignedUrlClient(base.MessagingClient):
    """``POST /v2/queues/{name}/share`` (with a token), and any request
    authorised by its result (without one)."""

    def share(self, queue: str, body: Any = None) -> base.Body:
        """``body``: ``{"paths"?, "methods"?, "expires"?}``; ``{}`` takes
        the defaults (GET on messages for a day)."""
        return self.call('POST', f'/v2/queues/{base.quote(queue)}/share',
                         schemas.share_queue,
                         body={} if body is None else body)

    def request_signed(self, method: str, path: str,
                       signed: dict[str, Any], body: Any = None,
                       schema: dict | None = None,
                       headers: dict[str, str] | None = None) -> base.Body:
        """``method`` on ``path`` authorised by ``signed`` (a share
        response, possibly altered by the caller), with no token."""
        all_headers = signed_headers(signed)
        all_headers.update(headers or {})
        return self.call_unauthenticated(method, path, all_headers, body,
                                         schema)
