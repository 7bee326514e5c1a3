"""Queue actions."""

import datetime
from typing import TYPE_CHECKING

from zaqar_core.api import errors
from zaqar_core.api import signed_url
from zaqar_core.api import validation
from zaqar_core.api.request import Request
from zaqar_core.api.request import Result
from zaqar_core.api.v2 import metadata
from zaqar_core.api.v2 import registry
from zaqar_core.api.v2.registry import action
from zaqar_core.storage import errors as storage_errors

if TYPE_CHECKING:
    from zaqar_core.api.service import Api

PURGEABLE = ('messages', 'subscriptions')

COLLECTION = '/v2/queues'
QUEUE = COLLECTION + '/{queue_name}'

_METADATA_LIMIT = {'body_limit': 'max_queue_metadata',
                   'too_large': 'Queue metadata is too large. Max size: '
                                '{limit}'}


@action('queue_list', 'queues:get_all', 'GET', COLLECTION,
        query={'marker': str, 'limit': int, 'detailed': bool,
               'with_count': bool})
def queue_list(api: 'Api', req: Request) -> Result:
    marker, limit, detailed = validation.page_params(
        req.params, api.settings.transport.max_queues_per_page)
    with_count = validation.get_bool(req.params, 'with_count')
    found = api.stores.queues.list(req.project_id, marker, limit, detailed)
    if detailed:
        for item in found:
            item['metadata'] = metadata.with_defaults(
                api.conf, item['metadata'], req.kind)
    body = {req.kind: found}
    if with_count:
        body['count'] = api.stores.queues.count(req.project_id)
    # As upstream: a next page whenever this one has queues.
    return Result(200, body,
                  {'marker': found[-1]['name']} if found else None)


@action('queue_create', 'queues:create', 'PUT', QUEUE, document=True,
        **_METADATA_LIMIT)
def queue_create(api: 'Api', req: Request) -> Result:
    document = {} if req.body is None else req.body
    metadata.validate(api.conf, document)
    _check_flavor(api, req, document, errors.BadRequest)
    name = req.params['queue_name']
    created = api.stores.queues.create(req.project_id, name, document)
    return Result(201 if created else 204)


def _check_flavor(api: 'Api', req: Request, document: dict,
                  missing: type[errors.ApiError]) -> None:
    """With pooling, a queue's ``_flavor`` picks its pools: it must name a
    flavor of the caller's project (``missing`` says what answers
    otherwise: upstream's 400 on create, 404 on update)."""
    flavor = document.get('_flavor')
    if not api.settings.pooling or flavor is None:
        return
    if not isinstance(flavor, str):
        raise errors.BadRequest('_flavor must be a string.')
    if api.stores.flavors.get(req.tenant, flavor) is None:
        raise missing(f'Flavor {flavor} does not exist for project '
                      f'{req.tenant}.')


@action('queue_get', 'queues:get', 'GET', QUEUE)
def queue_get(api: 'Api', req: Request) -> Result:
    try:
        stored = api.stores.queues.get_metadata(req.project_id,
                                                req.params['queue_name'])
    except storage_errors.QueueDoesNotExist:
        # Queues are lazy: a missing one shows its defaults.
        stored = {}
    return Result(200, metadata.with_defaults(api.conf, stored, req.kind))


@action('queue_update', 'queues:update', 'PATCH', QUEUE, document=True,
        **_METADATA_LIMIT)
def queue_update(api: 'Api', req: Request) -> Result:
    """Apply a JSON patch (a list of operations) to the metadata."""
    if req.body is None:
        raise errors.invalid_body('PATCH body could not be empty for '
                                  'update.')
    name = req.params['queue_name']
    stored = api.stores.queues.get_metadata(req.project_id, name)
    try:
        updated = metadata.apply_patch(api.conf, stored, req.body)
        metadata.validate(api.conf, updated)
    except errors.BadRequest as exc:
        # Upstream titles whatever is wrong with a patch this way.
        exc.title = 'Invalid request body'
        raise
    if updated.get('_flavor') != stored.get('_flavor'):
        _check_flavor(api, req, updated, errors.NotFound)
    api.stores.queues.set_metadata(req.project_id, name, updated)
    return Result(200, metadata.with_defaults(api.conf, updated, req.kind))


@action('queue_delete', 'queues:delete', 'DELETE', QUEUE)
def queue_delete(api: 'Api', req: Request) -> Result:
    name = req.params['queue_name']
    # Messages first: a crash in between leaves an empty queue, which the
    # client's retry deletes; the other order left its messages behind, to
    # reappear in a queue made again under that name.
    api.stores.messages.purge(req.project_id, name)
    api.stores.queues.delete(req.project_id, name)
    return Result(204)


@action('queue_get_stats', 'queues:stats', 'GET', QUEUE + '/stats')
def queue_get_stats(api: 'Api', req: Request) -> Result:
    name = req.params['queue_name']
    stats = api.stores.messages.stats(req.project_id, name)
    shown: dict = {'claimed': stats['claimed'], 'free': stats['free'],
                   'total': stats['total']}
    for end in ('oldest', 'newest'):
        if end in stats:
            found = stats[end]
            shown[end] = {'id': found['id'], 'age': found['age'],
                          'created': _isotime(found['created'])}
    return Result(200, {'messages': shown})


def _isotime(epoch: float) -> str:
    moment = datetime.datetime.fromtimestamp(epoch, datetime.UTC)
    return moment.strftime('%Y-%m-%dT%H:%M:%SZ')


@action('queue_purge', 'queues:purge', 'POST', QUEUE + '/purge',
        document=True)
def queue_purge(api: 'Api', req: Request) -> Result:
    kinds = list(PURGEABLE)
    if req.body is not None:
        if not isinstance(req.body, dict) or \
                'resource_types' not in req.body:
            raise errors.BadRequest('Missing "resource_types" in the '
                                    'request body.')
        kinds = req.body['resource_types']
        if not isinstance(kinds, list) or not kinds or \
                any(k not in PURGEABLE for k in kinds):
            raise errors.BadRequest(
                'Resource types must be a sub set of '
                f'{", ".join(PURGEABLE)}.')
    name = req.params['queue_name']
    if 'messages' in kinds:
        api.stores.messages.purge(req.project_id, name)
    if 'subscriptions' in kinds:
        api.stores.subscriptions.purge(req.project_id, name)
    return Result(204)


_SHARE_KEYS = frozenset(('paths', 'methods', 'expires'))


@action('queue_share', 'queues:share', 'POST', QUEUE + '/share',
        document=True)
def queue_share(api: 'Api', req: Request) -> Result:
    """A pre-signed URL for the queue (it need not exist yet)."""
    document = req.body
    if not isinstance(document, dict):
        raise errors.invalid_body('Request body can not be empty')
    unknown = set(document) - _SHARE_KEYS
    if unknown:
        raise errors.BadRequest(f'Unknown keys: {unknown}')
    key = api.settings.signed_url.secret_key
    if not key:
        raise errors.BadRequest('Pre-signed URLs are not enabled: '
                                '[signed_url] secret_key is not set.')
    granted = document.get('paths') or ['messages']
    if not isinstance(granted, list) or \
            not all(isinstance(p, str) for p in granted):
        raise errors.BadRequest('`paths` must be a non-empty list')
    invalid = set(granted) - set(signed_url.SHAREABLE)
    if invalid:
        raise errors.BadRequest(f'Invalid paths: {invalid}')
    methods = document.get('methods') or ['GET']
    if not isinstance(methods, list) or \
            not all(isinstance(m, str) for m in methods):
        raise errors.BadRequest('`methods` should be a list')
    expires = document.get('expires')
    if expires is None:
        at = signed_url.utcnow() + signed_url.DEFAULT_LIFETIME
    else:
        if not isinstance(expires, str) or expires.strip().isdigit():
            raise errors.BadRequest(
                f'`expires` should be date format, for example '
                f'2016-01-01T00:00:00, not integer value: {expires}')
        try:
            at = signed_url.parse_expires(expires)
        except ValueError:
            raise errors.BadRequest(
                f'`expires` is not a date: {expires}') from None
        if at <= signed_url.utcnow():
            raise errors.BadRequest('`expires` is lower than the current '
                                    'time')
    queue = registry.address('queue_get', queue_name=req.params['queue_name'])
    paths = sorted(f'{queue}/{p}' for p in set(granted))
    expires_text = at.strftime(signed_url.EXPIRES_FORMAT)
    project = req.project_id or ''
    return Result(200, {
        'paths': paths, 'methods': sorted(methods), 'project': project,
        'expires': expires_text,
        'signature': signed_url.sign(key, paths, methods, project,
                                     expires_text)})
