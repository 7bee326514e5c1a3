"""Subscriptions: create, list, get, update, confirm, delete."""

from __future__ import annotations

from typing import Any

from zaqar_tempest_plugin.api_schema import subscriptions as schemas
from zaqar_tempest_plugin.services.messaging import base


class SubscriptionsClient(base.MessagingClient):
    """``/v2/queues/{name}/subscriptions[/{id}[/confirm]]``."""

    def path(self, queue: str, *rest: str) -> str:
        return '/'.join(['/v2/queues', base.quote(queue), 'subscriptions',
                         *rest])

    def create(self, queue: str, body: Any) -> base.Body:
        """``body``: ``{"subscriber", "ttl"?, "options"?}``."""
        return self.call('POST', self.path(queue),
                         schemas.create_subscription, body=body)

    def list(self, queue: str, **params: Any) -> base.Body:
        return self.call('GET', self.path(queue) + base.query(params),
                         schemas.list_subscriptions)

    def list_href(self, href: str) -> base.Body:
        return self.call('GET', href, schemas.list_subscriptions)

    def show(self, queue: str, subscription_id: str) -> base.Body:
        return self.call('GET', self.path(queue, base.quote(subscription_id)),
                         schemas.get_subscription)

    def update(self, queue: str, subscription_id: str,
               body: Any) -> base.Body:
        return self.call('PATCH',
                         self.path(queue, base.quote(subscription_id)),
                         schemas.update_subscription, body=body)

    def confirm(self, queue: str, subscription_id: str,
                confirmed: Any = True) -> base.Body:
        return self.call('PUT', self.path(queue, base.quote(subscription_id),
                                          'confirm'),
                         schemas.confirm_subscription,
                         body={'confirmed': confirmed})

    def delete(self, queue: str, subscription_id: str) -> base.Body:
        return self.call('DELETE',
                         self.path(queue, base.quote(subscription_id)),
                         schemas.delete_subscription)
