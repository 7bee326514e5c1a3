"""Flavor actions: a project's named set of pools, which a queue names in
its ``_flavor`` (admin, with ``[DEFAULT] admin_mode`` and ``pooling``).

A flavor's pools are those tagged with its name; a PUT replaces them
(former members are untagged), as a PATCH does. Flavor names are unique
across projects, since pools carry the bare name: a name another project
holds is a 409.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from typing import Any

from zaqar_core.api import errors
from zaqar_core.api import validation
from zaqar_core.api.request import Request
from zaqar_core.api.request import Result
from zaqar_core.api.v2 import registry
from zaqar_core.api.v2.registry import action
from zaqar_core.storage import pools as pooling

if TYPE_CHECKING:
    from zaqar_core.api.service import Api

COLLECTION = '/v2/flavors'
FLAVOR = COLLECTION + '/{flavor_name}'

_FIELDS = ('pool_list', 'capabilities')


@action('flavor_list', 'flavors:get_all', 'GET', COLLECTION,
        query={'marker': str, 'limit': int, 'detailed': bool},
        requires=registry.POOLING)
def flavor_list(api: Api, req: Request) -> Result:
    marker, limit, detailed = validation.page_params(
        req.params, api.settings.transport.max_flavors_per_page)
    found = api.stores.flavors.list(req.project_id, marker, limit)
    listed = []
    for flavor in found:
        item: dict[str, Any] = {'name': flavor.name}
        if flavor.pools:
            item['pool_list'] = list(flavor.pools)
        if detailed:
            item['capabilities'] = capabilities(api, flavor)
        listed.append(item)
    return Result(200, {'flavors': listed},
                  {'marker': found[-1].name} if found else None)


@action('flavor_create', 'flavors:create', 'PUT', FLAVOR, document=True,
        requires=registry.POOLING)
def flavor_create(api: Api, req: Request) -> Result:
    name = _name(req)
    pools = _pool_list(req.body)
    try:
        api.stores.flavors.put(req.project_id, name, pools)
    except pooling.PoolNotFound as exc:
        raise errors.BadRequest(
            f'Flavor {name} could not be created: {exc}',
            title='Unable to create flavor') from None
    return Result(201)


@action('flavor_get', 'flavors:get', 'GET', FLAVOR,
        requires=registry.POOLING)
def flavor_get(api: Api, req: Request) -> Result:
    name = _name(req)
    flavor = api.stores.flavors.get(req.project_id, name)
    if flavor is None:
        raise _missing(name)
    return Result(200, shown(api, flavor))


@action('flavor_update', 'flavors:update', 'PATCH', FLAVOR, document=True,
        requires=registry.POOLING)
def flavor_update(api: Api, req: Request) -> Result:
    name = _name(req)
    pools = _pool_list(req.body)
    try:
        flavor = api.stores.flavors.update(req.project_id, name, pools)
    except pooling.PoolNotFound as exc:
        raise errors.BadRequest(
            f'Flavor {name} could not be updated: {exc}',
            title='Unable to update flavor') from None
    if flavor is None:
        raise _missing(name)
    return Result(200, shown(api, flavor))


@action('flavor_delete', 'flavors:delete', 'DELETE', FLAVOR,
        requires=registry.POOLING)
def flavor_delete(api: Api, req: Request) -> Result:
    # A missing flavor is gone already: 204, as upstream.
    api.stores.flavors.delete(req.project_id, _name(req))
    return Result(204)


def shown(api: Api, flavor: pooling.Flavor) -> dict[str, Any]:
    """A flavor as the API shows it (hrefs are the transport's)."""
    return {'name': flavor.name, 'pool_list': list(flavor.pools),
            'capabilities': capabilities(api, flavor)}


def capabilities(api: Api, flavor: pooling.Flavor) -> list[str]:
    """What every pool of ``flavor`` offers (upstream's names), by the
    drivers that serve their URIs; none when it has no pools."""
    offered: set[str] | None = None
    if not flavor.pools:
        return []
    # Its pools are those tagged with its name: one read, not one a pool.
    for pool in api.stores.pools.with_flavor(flavor.name):
        found = set(api.stores.pool_capabilities(pool.uri))
        offered = found if offered is None else offered & found
    return sorted(offered or ())


def _name(req: Request) -> str:
    name = req.params['flavor_name']
    validation.check_resource_name(name, 'flavor')
    return name


def _missing(name: str) -> errors.NotFound:
    return errors.NotFound(f'Flavor {name} does not exist.')


def _pool_list(body: Any) -> list[str]:
    """The pools of a flavor document (upstream's schema: ``pool_list``
    required and not empty; ``capabilities`` accepted and ignored, since
    they come from the pools' drivers)."""
    if not isinstance(body, dict):
        raise errors.invalid_body('The body must be a JSON object.')
    extra = sorted(set(body) - set(_FIELDS))
    if extra:
        raise errors.invalid_body(
            f'Additional properties are not allowed ({", ".join(extra)}).')
    pools = body.get('pool_list')
    if not isinstance(pools, list) or not pools:
        raise errors.invalid_body('pool_list must be a list of at least one '
                                  'pool name.')
    for pool in pools:
        if not isinstance(pool, str):
            raise errors.invalid_body('pool_list must hold pool names.')
        validation.check_resource_name(pool, 'pool')
    if 'capabilities' in body and not isinstance(body['capabilities'], dict):
        raise errors.invalid_body('capabilities must be a JSON object.')
    return pools
