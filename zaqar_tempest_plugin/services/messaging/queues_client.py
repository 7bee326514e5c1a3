"""Queues: create, get, update (JSON patch), list, stats, purge, delete."""

from __future__ import annotations

from typing import Any

from zaqar_tempest_plugin.api_schema import queues as schemas
from zaqar_tempest_plugin.services.messaging import base

#: The only media type a queue or topic PATCH accepts.
PATCH_MEDIA_TYPE = 'application/openstack-messaging-v2.0-json-patch'


class QueuesClient(base.MessagingClient):
    """``/v2/queues`` and ``/v2/queues/{name}`` (messages, claims,
    subscriptions and sharing have clients of their own)."""

    collection = 'queues'
    schemas = {
        'list': schemas.list_queues,
        'list_detailed': schemas.list_queues_detailed,
        'create': schemas.create_queue,
        'show': schemas.get_queue,
        'update': schemas.update_queue,
        'stats': schemas.queue_stats,
        'purge': schemas.purge_queue,
        'delete': schemas.delete_queue,
    }

    def path(self, name: str, *rest: str) -> str:
        return '/'.join([f'/v2/{self.collection}', base.quote(name), *rest])

    def list(self, **params: Any) -> base.Body:
        """A page: ``limit``, ``marker``, ``detailed``, ``with_count``."""
        schema = self.schemas['list_detailed' if params.get('detailed')
                              else 'list']
        return self.call('GET', f'/v2/{self.collection}' +
                         base.query(params), schema)

    def list_href(self, href: str) -> base.Body:
        """The page a ``next`` link names."""
        return self.call('GET', href, self.schemas['list'])

    def create(self, name: str,
               metadata: dict[str, Any] | None = None) -> base.Body:
        return self.call('PUT', self.path(name), self.schemas['create'],
                         body=metadata)

    def show(self, name: str) -> base.Body:
        """The metadata, reserved keys filled with their defaults."""
        return self.call('GET', self.path(name), self.schemas['show'])

    def update(self, name: str, operations: Any,
               content_type: str = PATCH_MEDIA_TYPE) -> base.Body:
        """Applies JSON-patch ``operations`` to the metadata."""
        return self.call('PATCH', self.path(name), self.schemas['update'],
                         body=operations,
                         headers={'Content-Type': content_type})

    def stats(self, name: str) -> base.Body:
        return self.call('GET', self.path(name, 'stats'),
                         self.schemas['stats'])

    def purge(self, name: str, resource_types: Any = None) -> base.Body:
        """Deletes ``resource_types`` (messages, subscriptions; default
        both), keeping the metadata."""
        body = None if resource_types is None else \
            {'resource_types': resource_types}
        return self.call('POST', self.path(name, 'purge'),
                         self.schemas['purge'], body=body)

    def delete(self, name: str) -> base.Body:
        return self.call('DELETE', self.path(name), self.schemas['delete'])
