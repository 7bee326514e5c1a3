"""Versions, home document, ping, health, and requests without a token."""

from __future__ import annotations

from typing import Any

from zaqar_tempest_plugin.api_schema import system as schemas
from zaqar_tempest_plugin.services.messaging import base


class SystemClient(base.MessagingClient):
    """``/``, ``/v2/``, ``/v2/ping`` and ``/v2/health``."""

    def list_versions(self) -> base.Body:
        """``GET /``: needs no token."""
        return self.call_unauthenticated('GET', '/',
                                         schema=schemas.list_versions)

    def show_home_document(self) -> base.Body:
        return self.call('GET', '/v2/', schemas.get_home_document,
                         headers={'Accept': 'application/json-home, '
                                            'application/json'})

    def ping(self, method: str = 'GET') -> base.Body:
        return self.call(method, '/v2/ping', schemas.ping)

    def show_health(self) -> base.Body:
        """Admin only (``health:get``), and only with ``admin_mode``."""
        return self.call('GET', '/v2/health', schemas.get_health)

    def request_with_token(self, method: str, path: str,
                           token: str | None) -> base.Body:
        """``method`` on ``path`` with ``token`` (None: no token) instead
        of the client's own."""
        headers: dict[str, Any] = {}
        if token is not None:
            headers['X-Auth-Token'] = token
        return self.call_unauthenticated(method, path, headers)
