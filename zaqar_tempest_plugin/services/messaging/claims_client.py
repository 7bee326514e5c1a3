"""Claims: claim, query, renew, release."""

from __future__ import annotations

from typing import Any

from zaqar_tempest_plugin.api_schema import claims as schemas
from zaqar_tempest_plugin.services.messaging import base


def claim_id_of(location: str) -> str:
    """The claim id a claim's Location names."""
    return location.rstrip('/').rsplit('/', 1)[-1]


class ClaimsClient(base.MessagingClient):
    """``/v2/queues/{name}/claims[/{id}]``."""

    def path(self, queue: str, *rest: str) -> str:
        return '/'.join(['/v2/queues', base.quote(queue), 'claims', *rest])

    def claim(self, queue: str, body: Any = None,
              limit: int | None = None) -> base.Body:
        """Claims up to ``limit`` messages: 201 with them, or 204 when
        none is free. ``body`` is ``{"ttl", "grace"}`` (both optional)."""
        resp = self.call('POST', self.path(queue) +
                         base.query({'limit': limit}), body=body)
        status = resp.response.status
        self.validate_response(
            schemas.claim_nothing if status == 204 else
            schemas.claim_messages, resp.response, dict(resp) or None)
        return resp

    def show(self, queue: str, claim_id: str) -> base.Body:
        return self.call('GET', self.path(queue, base.quote(claim_id)),
                         schemas.query_claim)

    def update(self, queue: str, claim_id: str, body: Any) -> base.Body:
        return self.call('PATCH', self.path(queue, base.quote(claim_id)),
                         schemas.update_claim, body=body)

    def release(self, queue: str, claim_id: str) -> base.Body:
        return self.call('DELETE', self.path(queue, base.quote(claim_id)),
                         schemas.release_claim)
