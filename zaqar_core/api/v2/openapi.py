"""The OpenAPI 3.1 document of the v2 REST API, built from the action
registry, and the action that serves it (``GET /v2/openapi.json``).

Paths, methods, path and query parameters and policy rules
(``x-policy-rule``) come from the registered actions; the documents they
take and answer from :mod:`.schemas`; the statuses each can answer from
:data:`SHAPES` below. Two actions on one path and method (``GET
.../messages`` lists, or gets by ``ids``) make one operation, which names
both in ``x-zaqar-actions``.

The document describes the deployment that serves it: its limits,
whether ``Client-ID`` must be a UUID, Keystone (a token in place of
``X-Project-Id``) and the admin-only routes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING
from typing import Any

from oslo_config import cfg

from zaqar_core.api import waiting
from zaqar_core.api.request import Request
from zaqar_core.api.request import Result
from zaqar_core.api.v2 import registry
from zaqar_core.api.v2 import schemas
from zaqar_core.api.v2 import topics
from zaqar_core.api.v2.registry import action

if TYPE_CHECKING:
    from zaqar_core.api.service import Api

PATH = '/v2/openapi.json'
JSON = 'application/json'
PATCH_MEDIA_TYPE = 'application/openstack-messaging-v2.0-json-patch'


@action('get_openapi', None, 'GET', PATH, anonymous=True)
def get_openapi(api: Api, req: Request) -> Result:
    # Anonymous, as the version list: the API's shape and this
    # deployment's limits are the same for every project.
    return Result(200, document(api.conf))


@dataclasses.dataclass(frozen=True)
class Shape:
    """What one action's REST form takes and answers, beyond what the
    registry says.

    Attributes:
        summary: one line.
        ok: success statuses and the schema of their body (None: none).
        errors: error statuses of its own (those every action can
            answer are added: see :func:`_error_statuses`).
        body: the schema of the request document, if it takes one.
        body_required: whether it must be sent.
        located: statuses whose response carries ``Location``.
        media_type: of the request document.
        storage: whether it reaches storage (and so can answer 503).
        creates: the path parameter that names what it creates, and
            where its first success response holds the value (a runtime
            expression), for links to the operations on it.
    """

    summary: str
    ok: Mapping[int, str | None]
    errors: tuple[int, ...] = ()
    body: str | None = None
    body_required: bool = False
    located: tuple[int, ...] = ()
    media_type: str = JSON
    storage: bool = True
    creates: tuple[str, str] | None = None


#: By base action (a topic twin has its queue action's shape; ``Queue``
#: in a schema name reads ``Topic`` there).
SHAPES: dict[str, Shape] = {
    'get_versions': Shape('List the API versions', {300: 'Versions'},
                          storage=False),
    'get_home_doc': Shape('The JSON-Home document',
                          {200: 'HomeDocument'}, storage=False),
    'get_openapi': Shape('This OpenAPI document', {200: 'OpenApiDocument'},
                         storage=False),
    'ping_node': Shape('Check that storage is reachable', {204: None}),
    'ping_node_head': Shape('Check that the API is up', {204: None},
                            storage=False),
    'check_node_health': Shape('Detailed health (admin mode only)',
                               {200: 'Health'}),
    'queue_list': Shape('List queues', {200: 'QueueList'}),
    'queue_create': Shape(
        'Create a queue (an existing one is left as it is: 204)',
        {201: None, 204: None}, body='MetadataInput', located=(201, 204)),
    'queue_get': Shape('Show the metadata (a missing queue shows defaults)',
                       {200: 'QueueMetadata'}),
    'queue_update': Shape('Change the metadata with a JSON patch',
                          {200: 'QueueMetadata'}, (404, 409, 415),
                          body='JsonPatch', body_required=True,
                          media_type=PATCH_MEDIA_TYPE),
    'queue_delete': Shape('Delete', {204: None}),
    'queue_get_stats': Shape('Message counts', {200: 'Stats'}),
    'queue_purge': Shape('Delete messages and/or subscriptions',
                         {204: None}, body='Purge'),
    'queue_share': Shape('Make a pre-signed URL', {200: 'SignedUrl'},
                         body='ShareRequest', body_required=True),
    'message_post': Shape('Post messages', {201: 'PostedMessages'},
                          body='NewMessages', body_required=True,
                          located=(201,)),
    'message_list': Shape('List messages', {200: 'Messages'}, (429,)),
    'message_get_many': Shape('Get messages by id', {200: 'Messages'},
                              (404,)),
    'message_delete_many': Shape(
        'Delete messages by id (204), or pop them (200)',
        {200: 'PoppedMessages', 204: None}),
    'message_get': Shape('Get a message', {200: 'Message'}, (404,)),
    'message_delete': Shape('Delete a message', {204: None}, (403,)),
    'claim_create': Shape('Claim messages (204: none was free)',
                          {201: 'Claimed', 204: None}, (429,),
                          body='ClaimRequest', located=(201,)),
    'claim_get': Shape('Show a claim', {200: 'Claim'}, (404,)),
    'claim_update': Shape('Renew a claim', {204: None}, (404,),
                          body='ClaimUpdate', body_required=True),
    'claim_delete': Shape('Release a claim', {204: None}),
    'subscription_list': Shape('List subscriptions', {200: 'Subscriptions'}),
    'subscription_create': Shape(
        'Subscribe (an unconfirmed duplicate answers its id again)',
        {201: 'SubscriptionCreated'}, (409,), body='NewSubscription',
        body_required=True, located=(201, 409),
        creates=('subscription_id', '$response.body#/subscription_id')),
    'subscription_get': Shape('Show a subscription', {200: 'Subscription'},
                              (404,)),
    'subscription_update': Shape('Change a subscription', {204: None},
                                 (404, 409), body='SubscriptionUpdate',
                                 body_required=True, located=(204,)),
    'subscription_delete': Shape('Delete a subscription', {204: None}),
    'subscription_confirm': Shape('Confirm, or unsubscribe', {204: None},
                                  (404,), body='Confirmation',
                                  body_required=True, located=(204,)),
    'pool_list': Shape('List pools', {200: 'PoolList'}),
    'pool_create': Shape('Register a pool, or replace one (its URI must '
                         'answer)', {201: None}, (409,), body='NewPool',
                         body_required=True, located=(201,)),
    'pool_get': Shape('Show a pool', {200: 'Pool'}, (404,)),
    'pool_update': Shape('Change a pool', {200: 'Pool'}, (404, 409),
                         body='PoolUpdate', body_required=True),
    'pool_delete': Shape('Delete a pool that holds no queues', {204: None},
                         (409,)),
    'flavor_list': Shape('List the project\'s flavors', {200: 'FlavorList'}),
    'flavor_create': Shape('Create a flavor, or replace its pools',
                           {201: None}, (409,), body='NewFlavor',
                           body_required=True, located=(201,)),
    'flavor_get': Shape('Show a flavor', {200: 'Flavor'}, (404,)),
    'flavor_update': Shape('Replace a flavor\'s pools', {200: 'Flavor'},
                           (404,), body='FlavorUpdate', body_required=True),
    'flavor_delete': Shape('Delete a flavor (its pools are untagged)',
                           {204: None}),
}

# (action, query parameter) -> ([transport] option of its maximum).
_BOUNDED = {
    ('queue_list', 'limit'): 'max_queues_per_page',
    ('message_list', 'limit'): 'max_messages_per_page',
    ('message_get_many', 'ids'): 'max_messages_per_page',
    ('message_delete_many', 'ids'): 'max_messages_per_page',
    ('message_delete_many', 'claim_ids'): 'max_messages_per_page',
    ('message_delete_many', 'pop'): 'max_messages_per_claim_or_pop',
    ('claim_create', 'limit'): 'max_messages_per_claim_or_pop',
    ('message_list', waiting.PARAM): 'max_message_wait',
    ('claim_create', waiting.PARAM): 'max_message_wait',
    ('subscription_list', 'limit'): 'max_subscriptions_per_page',
    ('pool_list', 'limit'): 'max_pools_per_page',
    ('flavor_list', 'limit'): 'max_flavors_per_page',
}

# status -> (name under components/responses, description).
_ERRORS = {
    400: ('BadRequest', 'The request is invalid: a missing or malformed '
          'header, a bad name, parameter or body (the description says '
          'which).'),
    401: ('Unauthorized', 'Keystone refused the token.'),
    403: ('Forbidden', 'A policy rule refused the request.'),
    404: ('NotFound', 'No such resource.'),
    405: ('MethodNotAllowed', 'The path exists, but not with this '
          'method.'),
    406: ('NotAcceptable', 'The Accept header does not allow JSON (no '
          'body).'),
    409: ('Conflict', 'The request conflicts with the resource\'s state.'),
    415: ('UnsupportedMediaType', f'The body is not of type '
          f'{PATCH_MEDIA_TYPE}.'),
    429: ('TooManyRequests', 'As many requests as this server process '
          'holds wait for messages; try again after Retry-After seconds.'),
    503: ('ServiceUnavailable', 'Storage is unavailable; try again later.'),
}
# Query parameters whose least value is not 1.
_LEAST = {waiting.PARAM: 0}
_DESCRIBED = {waiting.PARAM: 'Seconds to wait for messages when there are '
                             'none: the answer comes as soon as some '
                             'arrive (long polling, an extension).'}
# Headers of an error response besides the request id, by status.
_ERROR_HEADERS = {
    405: {'Allow': {'description': 'The methods the path has.',
                    'required': True, 'schema': {'type': 'string'}}},
    415: {'Accept-Patch': {'description': 'The media type to send.',
                           'required': True,
                           'schema': {'const': PATCH_MEDIA_TYPE}}},
    429: {'Retry-After': {'description': 'Seconds to wait before trying '
                                         'again.',
                          'required': True,
                          'schema': {'type': 'string',
                                     'pattern': '^[0-9]+$'}}},
}

_TAGS = (('queues', 'Queues and their metadata'),
         ('messages', 'Messages of a queue or topic'),
         ('claims', 'Claims on a queue\'s messages'),
         ('subscriptions', 'Subscriptions of a queue or topic'),
         ('topics', 'Topics: queues made for fan-out'),
         ('pools', 'Pools: the stores queues are placed on (admin, '
                   'pooling)'),
         ('flavors', 'Flavors: named sets of pools (pooling)'),
         ('system', 'Versions, home document, ping, health'))

_REQUEST_ID = {'$ref': '#/components/headers/RequestId'}
_LOCATION = {'$ref': '#/components/headers/Location'}

# The only path Keystone does not guard (middleware.RootWithoutAuth).
_PUBLIC = '/'


def document(conf: cfg.ConfigOpts) -> dict[str, Any]:
    """The OpenAPI document of the REST API as ``conf`` deploys it."""
    keystone = conf.auth_strategy == 'keystone'
    paths: dict[str, dict[str, Any]] = {}
    for path, method, served in _operations(registry.switches(conf)):
        paths.setdefault(path, {})[method.lower()] = _operation(
            conf, served, keystone)
    components: dict[str, Any] = {
        'schemas': schemas.components(conf),
        'parameters': _shared_parameters(conf),
        'responses': {name: _error(status)
                      for status, (name, _) in _ERRORS.items()},
        'headers': {
            'RequestId': {
                'description': 'The id of this request in the logs.',
                'required': True,
                'schema': {'type': 'string', 'pattern':
                           '^req-[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$'}},
            'Location': {
                'description': 'The resource (a relative path).',
                'required': True, 'schema': {'type': 'string'}}},
    }
    doc: dict[str, Any] = {
        'openapi': '3.1.0',
        'info': {
            'title': 'OpenStack Messaging (Zaqar) API',
            'version': '2',
            'description': 'The v2 REST API of zaqar-core, generated from '
                           'its action registry.'},
        'tags': [{'name': n, 'description': d} for n, d in _TAGS],
        'paths': paths,
        'components': components,
    }
    if keystone:
        components['securitySchemes'] = {'keystone': {
            'type': 'apiKey', 'in': 'header', 'name': 'X-Auth-Token',
            'description': 'A Keystone token; its project applies.'}}
        doc['security'] = [{'keystone': []}]
    return doc


def _operations(switches: frozenset[str]
                ) -> list[tuple[str, str, list[registry.Action]]]:
    """(path, method, actions) of every route, in registration order."""
    found: dict[tuple[str, str], list[registry.Action]] = {}
    for entry in registry.ACTIONS.values():
        if not registry.exists(entry, switches):
            continue
        found.setdefault((entry.path, entry.method), []).append(entry)
    return [(path, method, served)
            for (path, method), served in found.items()]


def _kinded(name: str | None, kind: str) -> str | None:
    if name is not None and kind == topics.KIND:
        return name.replace('Queue', 'Topic')
    return name


def _operation(conf: cfg.ConfigOpts, served: list[registry.Action],
               keystone: bool) -> dict[str, Any]:
    first = served[0]
    shapes = [SHAPES[a.base] for a in served]
    op: dict[str, Any] = {
        'operationId': first.name,
        'summary': ' or '.join(s.summary for s in shapes),
        'tags': [_tag(first)],
        'parameters': _parameters(conf, served),
        'responses': _responses(served, shapes, keystone),
    }
    if first.rule:
        op['x-policy-rule'] = first.rule
    if len(served) > 1:
        op['x-zaqar-actions'] = [a.name for a in served]
    shape = shapes[0]
    if shape.body is not None:
        op['requestBody'] = {
            'required': shape.body_required,
            'content': {shape.media_type: {
                'schema': schemas.ref(_kinded(shape.body, first.kind))}}}
    if keystone and first.path == _PUBLIC:
        op['security'] = []
    return op


def _tag(entry: registry.Action) -> str:
    if entry.kind == topics.KIND:
        return 'topics'
    for tag in ('claim', 'message', 'subscription', 'queue', 'pool',
                'flavor'):
        if entry.base.startswith(tag):
            return f'{tag}s'
    return 'system'


def _param_ref(name: str) -> dict[str, str]:
    return {'$ref': f'#/components/parameters/{name}'}


def _path_parameter(name: str, kind: str) -> str:
    """The name under components/parameters of path parameter ``name``."""
    if name == 'queue_name':
        return 'TopicName' if kind == topics.KIND else 'QueueName'
    return name.title().replace('_', '')


def _shared_parameters(conf: cfg.ConfigOpts) -> dict[str, Any]:
    """Path parameters and headers, under components/parameters."""
    name_schema = {'type': 'string', 'pattern': schemas.QUEUE_NAME,
                   'maxLength': 64}
    shared: dict[str, Any] = {
        'QueueName': {'name': 'queue_name', 'in': 'path', 'required': True,
                      'description': 'The queue name.',
                      'schema': name_schema},
        'TopicName': {'name': 'queue_name', 'in': 'path', 'required': True,
                      'description': 'The topic name.',
                      'schema': name_schema},
    }
    for name in ('message_id', 'claim_id', 'subscription_id'):
        shared[_path_parameter(name, '')] = {
            'name': name, 'in': 'path', 'required': True,
            'schema': {'type': 'string', 'pattern': schemas.SEGMENT}}
    for name in ('pool_name', 'flavor_name'):
        shared[_path_parameter(name, '')] = {
            'name': name, 'in': 'path', 'required': True,
            'schema': name_schema}
    shared.update(_headers(conf))
    return shared


def _parameters(conf: cfg.ConfigOpts, served: list[registry.Action]
                ) -> list[dict[str, Any]]:
    first = served[0]
    found = [_param_ref(_path_parameter(name, first.kind))
             for name in first.path_params]
    seen = set()
    for entry in served:
        for name, kind in entry.query.items():
            if name == waiting.PARAM and \
                    not conf.transport.max_message_wait:
                continue  # the server does not wait
            if name not in seen:
                seen.add(name)
                found.append(_query_parameter(conf, entry, name, kind))
    if not first.anonymous:
        found.append(_param_ref('ClientId'))
        if conf.auth_strategy != 'keystone':
            found.append(_param_ref('ProjectId'))
    return found


def _query_parameter(conf: cfg.ConfigOpts, entry: registry.Action,
                     name: str, kind: type) -> dict[str, Any]:
    bound = _BOUNDED.get((entry.base, name))
    maximum = conf.transport[bound] if bound else None
    schema: dict[str, Any]
    if kind is list:
        schema = {'type': 'array', 'items': {'type': 'string',
                                             'minLength': 1,
                                             'pattern': schemas.TEXT},
                  'minItems': 1}
        if maximum:
            schema['maxItems'] = maximum
        return {'name': name, 'in': 'query', 'style': 'form',
                'explode': False, 'schema': schema,
                'description': 'Comma-separated.'}
    schema = {'type': {str: 'string', int: 'integer',
                       bool: 'boolean'}[kind]}
    if kind is str:
        schema['pattern'] = schemas.TEXT
    if maximum:
        schema.update(minimum=_LEAST.get(name, 1), maximum=maximum)
    parameter = {'name': name, 'in': 'query', 'schema': schema}
    if name in _DESCRIBED:
        parameter['description'] = _DESCRIBED[name]
    return parameter


def _headers(conf: cfg.ConfigOpts) -> dict[str, Any]:
    limits = conf.transport
    if limits.client_id_uuid_safe == 'strict':
        client_id = {'type': 'string', 'format': 'uuid'}
    else:
        client_id = {'type': 'string',
                     'minLength': limits.min_length_client_id,
                     'maxLength': limits.max_length_client_id}
    return {
        'ClientId': {
            'name': 'Client-ID', 'in': 'header', 'required': True,
            'description': 'Names the client (its own messages are hidden '
                           'from its listings unless echo).',
            'schema': client_id},
        'ProjectId': {
            'name': 'X-Project-Id', 'in': 'header', 'required': True,
            'description': 'The project (without Keystone: with it, the '
                           'token\'s project applies).',
            'schema': {'type': 'string', 'minLength': 1,
                       'maxLength': 256}},
    }


def _error_statuses(served: list[registry.Action], shapes: list[Shape],
                    keystone: bool) -> set[int]:
    first = served[0]
    # 400: a query string or a body that cannot be decoded, on any path;
    # headers, parameters and documents that are not as documented.
    statuses = {400, 406}
    for shape in shapes:
        statuses.update(shape.errors)
    if first.rule:
        statuses.add(403)
    if first.path_params:
        # A name that is not one path segment lands on no route (or on
        # another with other methods).
        statuses.update((404, 405))
    if keystone and first.path != _PUBLIC:
        statuses.add(401)
    if any(shape.storage for shape in shapes):
        statuses.add(503)
    return statuses


def _responses(served: list[registry.Action], shapes: list[Shape],
               keystone: bool) -> dict[str, Any]:
    kind = served[0].kind
    responses: dict[str, Any] = {}
    for shape in shapes:
        for status, schema in shape.ok.items():
            headers: dict[str, Any] = {'X-Openstack-Request-Id': _REQUEST_ID}
            if status in shape.located:
                headers['Location'] = _LOCATION
            response: dict[str, Any] = {'description': shape.summary,
                                        'headers': headers}
            if schema is not None:
                media = 'application/json-home' \
                    if schema == 'HomeDocument' else JSON
                response['content'] = {media: {
                    'schema': schemas.ref(_kinded(schema, kind))}}
            if shape.creates is not None and status == min(shape.ok):
                response['links'] = _links(served[0], *shape.creates)
            responses.setdefault(str(status), response)
    located = {status for shape in shapes for status in shape.located}
    for status in sorted(_error_statuses(served, shapes, keystone)):
        if status in located:
            responses[str(status)] = _error(status, located=True)
        else:
            responses[str(status)] = {
                '$ref': f'#/components/responses/{_ERRORS[status][0]}'}
    return dict(sorted(responses.items()))


def _error(status: int, located: bool = False) -> dict[str, Any]:
    headers = {'X-Openstack-Request-Id': _REQUEST_ID,
               **_ERROR_HEADERS.get(status, {})}
    if located:
        headers['Location'] = _LOCATION
    response: dict[str, Any] = {'description': _ERRORS[status][1],
                                'headers': headers}
    if status != 406:
        response['content'] = {JSON: {'schema': schemas.ref('Error')}}
    return response


def _links(source: registry.Action, param: str,
           value: str) -> dict[str, Any]:
    """Links to the operations on what ``source`` created (in its
    collection: a queue's, or a topic's)."""
    found = {}
    for target in registry.ACTIONS.values():
        if target.kind == source.kind and param in target.path_params:
            found[target.name] = {
                'operationId': target.name,
                'parameters': {name: '$request.path.' + name
                               if name != param else value
                               for name in target.path_params}}
    return found
