"""Pools and flavors: ``/v2/pools`` and ``/v2/flavors`` (the server needs
``[DEFAULT] admin_mode`` and ``pooling``)."""

from __future__ import annotations

from typing import Any

from zaqar_tempest_plugin.api_schema import pooling as schemas
from zaqar_tempest_plugin.services.messaging import base


class PoolingClient(base.MessagingClient):
    """Pools (admin) and the caller's project's flavors."""

    def list_pools(self, **params: Any) -> base.Body:
        return self.call('GET', '/v2/pools' + base.query(params),
                         schemas.list_pools)

    def create_pool(self, name: str, uri: str, weight: int,
                    **fields: Any) -> base.Body:
        return self.call('PUT', f'/v2/pools/{base.quote(name)}',
                         schemas.create_pool,
                         {'uri': uri, 'weight': weight, **fields})

    def show_pool(self, name: str, detailed: bool = False) -> base.Body:
        return self.call('GET', f'/v2/pools/{base.quote(name)}'
                         + base.query({'detailed': detailed or None}),
                         schemas.show_pool)

    def update_pool(self, name: str, **fields: Any) -> base.Body:
        return self.call('PATCH', f'/v2/pools/{base.quote(name)}',
                         schemas.update_pool, fields)

    def delete_pool(self, name: str) -> base.Body:
        return self.call('DELETE', f'/v2/pools/{base.quote(name)}',
                         schemas.delete)

    def list_flavors(self, **params: Any) -> base.Body:
        return self.call('GET', '/v2/flavors' + base.query(params),
                         schemas.list_flavors)

    def create_flavor(self, name: str, pool_list: list[str]) -> base.Body:
        return self.call('PUT', f'/v2/flavors/{base.quote(name)}',
                         schemas.create_flavor, {'pool_list': pool_list})

    def show_flavor(self, name: str) -> base.Body:
        return self.call('GET', f'/v2/flavors/{base.quote(name)}',
                         schemas.show_flavor)

    def update_flavor(self, name: str, pool_list: list[str]) -> base.Body:
        return self.call('PATCH', f'/v2/flavors/{base.quote(name)}',
                         schemas.update_flavor, {'pool_list': pool_list})

    def delete_flavor(self, name: str) -> base.Body:
        return self.call('DELETE', f'/v2/flavors/{base.quote(name)}',
                         schemas.delete)
