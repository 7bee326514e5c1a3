"""Pool actions: the message stores queues are placed on (admin, with
``[DEFAULT] admin_mode`` and ``pooling``).

A pool is registered by its URI, kept verbatim; the driver that serves
the URI's scheme opens it, with the pool's ``options`` over its
configured group (they reach no other store). A URI is checked before
anything is stored: one no driver serves, or whose store does not answer
within :data:`CONNECT_TIMEOUT`, is refused with 400. A pool that holds
queues keeps its URI, and is not deleted (409).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from typing import Any

from zaqar_core import uris
from zaqar_core.api import errors
from zaqar_core.api import validation
from zaqar_core.api.request import Request
from zaqar_core.api.request import Result
from zaqar_core.api.v2 import registry
from zaqar_core.api.v2.registry import action
from zaqar_core.storage import errors as storage_errors
from zaqar_core.storage import pools as pooling

if TYPE_CHECKING:
    from zaqar_core.api.service import Api

COLLECTION = '/v2/pools'
POOL = COLLECTION + '/{pool_name}'

MAX_URI = 255
MAX_WEIGHT = 2 ** 32 - 1

#: Seconds a pool's store has to answer when its URI is registered.
CONNECT_TIMEOUT = 1.0

_FIELDS = ('uri', 'weight', 'flavor', 'options')


@action('pool_list', 'pools:get_all', 'GET', COLLECTION,
        query={'marker': str, 'limit': int, 'detailed': bool},
        requires=registry.POOLING)
def pool_list(api: Api, req: Request) -> Result:
    marker, limit, detailed = validation.page_params(
        req.params, api.settings.transport.max_pools_per_page)
    found = api.stores.pools.list(marker, limit)
    return Result(200, {'pools': [shown(p, detailed) for p in found]},
                  {'marker': found[-1].name} if found else None)


@action('pool_create', 'pools:create', 'PUT', POOL, document=True,
        requires=registry.POOLING)
def pool_create(api: Api, req: Request) -> Result:
    name = _name(req)
    document = _document(req.body, required=('uri', 'weight'))
    pool = pooling.Pool(name, document['uri'], document['weight'],
                        document.get('flavor') or None,
                        document.get('options', {}))
    check_reachable(api, pool.uri, pool.options)
    # Created or replaced: 201 either way, as upstream.
    api.stores.pools.put(pool)
    return Result(201)


@action('pool_get', 'pools:get', 'GET', POOL, query={'detailed': bool},
        requires=registry.POOLING)
def pool_get(api: Api, req: Request) -> Result:
    pool = _existing(api, _name(req))
    return Result(200, shown(pool, validation.get_bool(req.params,
                                                       'detailed')))


@action('pool_update', 'pools:update', 'PATCH', POOL, document=True,
        requires=registry.POOLING)
def pool_update(api: Api, req: Request) -> Result:
    name = _name(req)
    document = _document(req.body, required=())
    if not document:
        raise errors.invalid_body(
            f'Missing {", ".join(_FIELDS)}: one of them is required.')
    changes: dict[str, Any] = dict(document)
    if 'flavor' in changes:
        changes['flavor'] = changes['flavor'] or None  # "" untags
    if 'uri' in changes or 'options' in changes:
        # Only then: a weight or flavor change opens nothing.
        current = _existing(api, name)
        check_reachable(api, changes.get('uri', current.uri),
                        changes.get('options', current.options))
    pool = api.stores.pools.update(name, **changes)
    if pool is None:
        raise _missing(name)
    return Result(200, shown(pool, detailed=False))


@action('pool_delete', 'pools:delete', 'DELETE', POOL,
        requires=registry.POOLING)
def pool_delete(api: Api, req: Request) -> Result:
    name = _name(req)
    # A missing pool is gone already: 204, as upstream.
    try:
        api.stores.pools.delete(name)
    except pooling.PoolInUse:
        placement = api.stores.placement
        if placement is None:
            raise
        # Queues deleted since they were placed keep their place until
        # their pool goes: forget those that hold nothing, and try again
        # (a 409 counts the rest).
        placement.release(name)
        api.stores.pools.delete(name)
    return Result(204)


def shown(pool: pooling.Pool, detailed: bool) -> dict[str, Any]:
    """A pool as the API shows it (hrefs are the transport's)."""
    body: dict[str, Any] = {'name': pool.name, 'uri': pool.uri,
                            'weight': pool.weight, 'flavor': pool.flavor}
    if detailed:
        body['options'] = pool.options
    return body


def check_reachable(api: Api, uri: str, options: dict[str, Any]) -> None:
    """Open the store at ``uri`` and check it answers, bringing an empty
    or older schema to this release's (a pool is migrated when it is
    registered: no operator command knows it before).

    Raises:
        BadRequest: no driver serves ``uri``, an option is invalid, or
            the store does not answer.
    """
    try:
        state = api.stores.prepare_pool(uri, options, CONNECT_TIMEOUT)
    except pooling.PoolUnusable as exc:
        raise errors.BadRequest(str(exc), title='Unable to create pool'
                                ) from None
    except storage_errors.StorageError as exc:
        # Drivers that connect as they open (SQL) fail here.
        raise _unreachable(uri, str(exc)) from None
    if state.problem:
        raise _unreachable(uri, f'the store {state.problem}')


def _unreachable(uri: str, problem: str) -> errors.BadRequest:
    problem = ' '.join(problem.split()).rstrip('.')
    return errors.BadRequest(f'Cannot connect to {uris.redacted(uri)}: '
                             f'{problem}.', title='Unable to create pool')


def _name(req: Request) -> str:
    name = req.params['pool_name']
    validation.check_resource_name(name, 'pool')
    return name


def _existing(api: Api, name: str) -> pooling.Pool:
    pool = api.stores.pools.get(name)
    if pool is None:
        raise _missing(name)
    return pool


def _missing(name: str) -> errors.NotFound:
    return errors.NotFound(f'Pool {name} does not exist.')


def _document(body: Any, required: tuple[str, ...]) -> dict[str, Any]:
    """The fields of a pool document, checked (upstream's schema, which
    its PATCH forgot to close to other keys)."""
    if not isinstance(body, dict):
        raise errors.invalid_body('The body must be a JSON object.')
    extra = sorted(set(body) - set(_FIELDS))
    if extra:
        raise errors.invalid_body(
            f'Additional properties are not allowed ({", ".join(extra)}).')
    missing = [field for field in required if field not in body]
    if missing:
        raise errors.invalid_body(
            f'{", ".join(missing)}: required.')
    if 'uri' in body:
        uri = body['uri']
        if not isinstance(uri, str) or not uri or len(uri) > MAX_URI or \
                not uri.isprintable():
            raise errors.invalid_body(
                f'uri must be a URI of at most {MAX_URI} characters.')
        validation.check_text('uri', uri)
    if 'weight' in body:
        weight = body['weight']
        if not validation.is_int(weight) or not 0 <= weight <= MAX_WEIGHT:
            raise errors.invalid_body(
                f'weight must be an integer from 0 to {MAX_WEIGHT}.')
    if 'flavor' in body:
        flavor = body['flavor']
        if not isinstance(flavor, str):
            raise errors.invalid_body('flavor must be a string.')
        if flavor:
            validation.check_resource_name(flavor, 'flavor')
    if 'options' in body and not isinstance(body['options'], dict):
        raise errors.invalid_body('options must be a JSON object.')
    return body
