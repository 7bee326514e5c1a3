"""Messages: post, list, get (one or by ids), delete (one, by ids, pop)."""

from __future__ import annotations

from typing import Any

from zaqar_tempest_plugin.api_schema import messages as schemas
from zaqar_tempest_plugin.services.messaging import base


def ids_of(resources: list[str]) -> list[str]:
    """Message ids from the hrefs a post returns."""
    return [href.rsplit('/', 1)[-1].split('?')[0] for href in resources]


class MessagesClient(base.MessagingClient):
    """``/v2/queues/{name}/messages[/{id}]``."""

    def path(self, queue: str, *rest: str) -> str:
        return '/'.join(['/v2/queues', base.quote(queue), 'messages', *rest])

    def post(self, queue: str, messages: Any) -> base.Body:
        """Posts ``messages`` (a list of ``{"body", "ttl"?, "delay"?}``)."""
        return self.call('POST', self.path(queue), schemas.post_messages,
                         body={'messages': messages})

    def post_body(self, queue: str, body: Any) -> base.Body:
        """Posts ``body`` as it is (for malformed requests)."""
        return self.call('POST', self.path(queue), schemas.post_messages,
                         body=body)

    def list(self, queue: str, **params: Any) -> base.Body:
        """A page: ``limit``, ``marker``, ``echo``, ``include_claimed``,
        ``include_delayed``."""
        return self.call('GET', self.path(queue) + base.query(params),
                         schemas.list_messages)

    def list_href(self, href: str) -> base.Body:
        """The page a ``next`` link names."""
        return self.call('GET', href, schemas.list_messages)

    def show_many(self, queue: str, ids: list[str]) -> base.Body:
        return self.call('GET', self.path(queue) + base.query({'ids': ids}),
                         schemas.get_messages_by_ids)

    def show(self, queue: str, message_id: str) -> base.Body:
        return self.call('GET', self.path(queue, base.quote(message_id)),
                         schemas.get_message)

    def show_href(self, href: str) -> base.Body:
        return self.call('GET', href, schemas.get_message)

    def delete(self, queue: str, message_id: str,
               claim_id: str | None = None) -> base.Body:
        return self.call('DELETE', self.path(queue, base.quote(message_id)) +
                         base.query({'claim_id': claim_id}),
                         schemas.delete_message)

    def delete_href(self, href: str) -> base.Body:
        """Deletes by an href, which names the claim when claimed."""
        return self.call('DELETE', href, schemas.delete_message)

    def delete_many(self, queue: str, **params: Any) -> base.Body:
        """``DELETE ?ids=`` (204) or ``?pop=N`` (200 with the messages)."""
        schema = schemas.pop_messages if 'pop' in params else \
            schemas.delete_messages
        return self.call('DELETE', self.path(queue) + base.query(params),
                         schema)
