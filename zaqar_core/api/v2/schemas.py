"""JSON Schemas of the v2 REST documents: the bodies actions take and the
bodies they answer, for the OpenAPI document (:mod:`.openapi`).

The actions check their documents in code, with upstream's error texts;
these schemas describe the same rules for clients and are checked
against the running server (``zaqar_core/tests/functional/
test_openapi.py`` generates requests from them and validates every
response). Limits come from the deployment's configuration.
"""

import re
from typing import Any

from oslo_config import cfg

from zaqar_core.api import signed_url
from zaqar_core.api.v2 import pools
from zaqar_core.api.v2 import queues
from zaqar_core.api.v2 import subscriptions

Schema = dict[str, Any]

ANY: Schema = {}
STRING: Schema = {'type': 'string'}
INTEGER: Schema = {'type': 'integer'}
#: The JSON values metadata takes as "unset".
FALSY: Schema = {'enum': [None, False, 0, '', [], {}]}

#: Text of a parameter: anything but NUL (which not every store holds).
TEXT = '^[^\\x00]*$'
#: A path segment: text, never empty, never only dots (HTTP clients
#: resolve ``.`` and ``..`` segments before sending, so such names
#: cannot be addressed).
SEGMENT = '^[^/\\x00]*[^/.\\x00][^/\\x00]*$'
#: A queue or topic name that HTTP can address (see :data:`SEGMENT`).
QUEUE_NAME = '^[a-zA-Z0-9_.-]*[a-zA-Z0-9_-][a-zA-Z0-9_.-]*$'

# The reserved keys a topic shows (see metadata.with_defaults).
_TOPIC_KEYS = ('_max_messages_post_size', '_default_message_ttl',
               '_default_message_delay')


def ref(name: str) -> Schema:
    return {'$ref': f'#/components/schemas/{name}'}


def _obj(properties: dict[str, Schema], required: tuple[str, ...] = (),
         **extra: Any) -> Schema:
    schema: Schema = {'type': 'object', 'properties': properties, **extra}
    if required:
        schema['required'] = list(required)
    return schema


def _array(items: Schema, **extra: Any) -> Schema:
    return {'type': 'array', 'items': items, **extra}


def _between(low: int, high: int, nullable: bool = False) -> Schema:
    kind: Any = ['integer', 'null'] if nullable else 'integer'
    return {'type': kind, 'minimum': low, 'maximum': high}


def _metadata_keys(conf: cfg.ConfigOpts) -> dict[str, Schema]:
    """The reserved metadata keys, as a queue shows them."""
    limits = conf.transport
    ttl = _between(limits.min_message_ttl, limits.max_message_ttl)
    return {
        '_max_messages_post_size': _between(
            1, limits.max_messages_post_size),
        '_default_message_ttl': ttl,
        '_default_message_delay': _between(0, limits.max_message_delay),
        '_dead_letter_queue': {'type': ['string', 'null'],
                               'pattern': QUEUE_NAME, 'maxLength': 64},
        '_dead_letter_queue_messages_ttl': {**ttl,
                                            'type': ['integer', 'null']},
        '_max_claim_count': _between(0, 2 ** 31 - 1, nullable=True),
        '_enable_encrypt_messages': {'type': 'boolean'},
    }


def _metadata_input(conf: cfg.ConfigOpts) -> Schema:
    """Metadata as a client sets it: reserved keys are checked (null
    leaves them unset), any other key is the client's."""
    keys = _metadata_keys(conf)
    keys['_max_messages_post_size'] = {
        **keys['_max_messages_post_size'], 'type': ['integer', 'null']}
    for name in ('_default_message_ttl', '_default_message_delay'):
        keys[name] = {**keys[name], 'type': ['integer', 'null']}
    keys['_enable_encrypt_messages'] = {'type': ['boolean', 'null']}
    return _obj(keys, description='Queue metadata: any keys; the reserved '
                'ones (``_...``) are checked.')


def _message(href: bool) -> Schema:
    props = {'id': STRING, 'ttl': INTEGER, 'age': INTEGER, 'body': ANY,
             'checksum': {'type': 'string', 'pattern': '^MD5:[0-9a-f]{32}$'}}
    if href:
        return _obj({**props, 'href': STRING},
                    ('id', 'href', 'ttl', 'age', 'body'),
                    additionalProperties=False)
    return _obj({**props, 'claim_id': {'type': ['string', 'null']},
                 'claim_count': INTEGER},
                ('id', 'ttl', 'age', 'body', 'claim_id', 'claim_count'),
                additionalProperties=False)


def _ttl_grace(conf: cfg.ConfigOpts, grace_low: int) -> Schema:
    limits = conf.transport
    return _obj({
        'ttl': _between(limits.min_claim_ttl, limits.max_claim_ttl, True),
        'grace': _between(grace_low, limits.max_claim_grace, True)},
        description='null or absent: the default.')


def _subscription_input(conf: cfg.ConfigOpts,
                        required: tuple[str, ...]) -> Schema:
    schemes = '|'.join(re.escape(scheme)
                       for scheme in conf.transport.subscriber_types)
    return _obj({
        'subscriber': {'type': 'string',
                       'pattern': f'^({schemes}):[^\\x00]*$'},
        'ttl': _between(subscriptions.MIN_TTL, subscriptions.MAX_TTL,
                        nullable=True),
        'options': {'type': ['object', 'null']}},
        required, additionalProperties=False, minProperties=1)


def components(conf: cfg.ConfigOpts) -> dict[str, Schema]:
    """Every schema the OpenAPI document names, by name."""
    limits = conf.transport
    metadata = _metadata_keys(conf)
    links = _array(_obj({'rel': STRING, 'href': STRING}, ('rel', 'href')))
    queue_metadata = _obj(metadata, tuple(metadata))
    # A topic's other reserved keys show as stored: checked, or unset by
    # any false value.
    topic_metadata = _obj({
        name: schema if name in _TOPIC_KEYS else {'anyOf': [schema, FALSY]}
        for name, schema in metadata.items()}, _TOPIC_KEYS)

    def listing(kind: str, metadata_ref: str) -> Schema:
        item = _obj({'name': STRING, 'href': STRING,
                     'metadata': ref(metadata_ref)}, ('name', 'href'),
                    additionalProperties=False)
        return _obj({kind: _array(item), 'links': links,
                     'count': {'type': 'integer', 'minimum': 0}},
                    (kind, 'links'), additionalProperties=False)

    message_end = _obj({'href': STRING, 'age': INTEGER,
                        'created': {'type': 'string',
                                    'format': 'date-time'}},
                       ('href', 'age', 'created'),
                       additionalProperties=False)
    count = {'type': 'integer', 'minimum': 0}
    subscription = _obj({
        'id': STRING, 'source': STRING, 'subscriber': STRING,
        'ttl': INTEGER, 'age': INTEGER, 'options': {'type': 'object'},
        'confirmed': {'type': 'boolean'}},
        ('id', 'source', 'subscriber', 'ttl', 'age', 'options',
         'confirmed'), additionalProperties=False)
    return {
        'Error': _obj({'title': STRING, 'description': STRING}, ('title',),
                      additionalProperties=False),
        'Versions': _obj({'versions': _array(_obj(
            {'id': STRING, 'status': STRING, 'updated': STRING,
             'media-types': _array({'type': 'object'}), 'links': links},
            ('id', 'status', 'links')))}, ('versions',)),
        'HomeDocument': _obj({'resources': {'type': 'object'}},
                             ('resources',)),
        'OpenApiDocument': _obj({'openapi': STRING}, ('openapi', 'info',
                                                      'paths')),
        'Health': _obj({'storage_reachable': {'type': 'boolean'},
                        'operation_status': {'type': 'object'}},
                       ('storage_reachable',)),
        'QueueMetadata': queue_metadata,
        'TopicMetadata': topic_metadata,
        'MetadataInput': _metadata_input(conf),
        'QueueList': listing('queues', 'QueueMetadata'),
        'TopicList': listing('topics', 'TopicMetadata'),
        'JsonPatch': _array(_obj({
            'op': {'enum': ['add', 'remove', 'replace']},
            'path': {'type': 'string',
                     'pattern': '^/metadata/([^/~]|~[01])+$'},
            'value': ANY}, ('op', 'path'),
            # add and replace need the value.
            **{'if': {'properties': {'op': {'const': 'remove'}}},
               'else': {'required': ['value']}}), minItems=1),
        'Stats': _obj({'messages': _obj(
            {'claimed': count, 'free': count, 'total': count,
             'oldest': message_end, 'newest': message_end},
            ('claimed', 'free', 'total'), additionalProperties=False)},
            ('messages',), additionalProperties=False),
        'Purge': _obj({'resource_types': _array(
            {'enum': list(queues.PURGEABLE)}, minItems=1)},
            ('resource_types',)),
        'ShareRequest': _obj({
            'paths': _array({'enum': list(signed_url.SHAREABLE)}),
            'methods': _array(STRING),
            'expires': {'type': 'string', 'format': 'date-time'}},
            additionalProperties=False),
        'SignedUrl': _obj({
            'paths': _array(STRING), 'methods': _array(STRING),
            'project': STRING, 'expires': STRING, 'signature': STRING},
            ('paths', 'methods', 'project', 'expires', 'signature'),
            additionalProperties=False),
        'NewMessages': _obj({'messages': _array(_obj({
            'body': ANY,
            'ttl': _between(limits.min_message_ttl, limits.max_message_ttl),
            'delay': _between(0, limits.max_message_delay)},
            ('body',)), minItems=1)}, ('messages',)),
        'PostedMessages': _obj({'resources': _array(STRING, minItems=1)},
                               ('resources',), additionalProperties=False),
        'Message': _message(href=True),
        'Messages': _obj({'messages': _array(ref('Message')),
                          'links': links}, ('messages',),
                         additionalProperties=False,
                         description='``links`` is absent when ``ids`` '
                         'are given.'),
        'PoppedMessages': _obj({'messages': _array(_message(href=False))},
                               ('messages',), additionalProperties=False),
        'ClaimRequest': _ttl_grace(conf, limits.min_claim_grace),
        'ClaimUpdate': _ttl_grace(conf, 0),
        'Claimed': _obj({'messages': _array(ref('Message'), minItems=1)},
                        ('messages',), additionalProperties=False),
        'Claim': _obj({'age': INTEGER, 'ttl': INTEGER,
                       'messages': _array(ref('Message')), 'href': STRING},
                      ('age', 'ttl', 'messages', 'href'),
                      additionalProperties=False),
        'NewSubscription': _subscription_input(conf, ('subscriber',)),
        'SubscriptionUpdate': _subscription_input(conf, ()),
        'SubscriptionCreated': _obj({'subscription_id': STRING},
                                    ('subscription_id',),
                                    additionalProperties=False),
        'Subscription': subscription,
        'Subscriptions': _obj({'subscriptions': _array(subscription),
                               'links': links},
                              ('subscriptions', 'links'),
                              additionalProperties=False),
        'Confirmation': _obj({'confirmed': {'type': 'boolean'}},
                             ('confirmed',)),
        **_pooling(conf, links),
    }


def _pooling(conf: cfg.ConfigOpts, links: Schema) -> dict[str, Schema]:
    """Pools and flavors (admin, with pooling)."""
    name = {'type': 'string', 'pattern': QUEUE_NAME, 'minLength': 1,
            'maxLength': 64}
    uri = {'type': 'string', 'minLength': 1, 'maxLength': pools.MAX_URI,
           'pattern': TEXT}
    weight = _between(0, pools.MAX_WEIGHT)
    fields = {'uri': uri, 'weight': weight,
              'flavor': {'anyOf': [name, {'const': ''}]},
              'options': {'type': 'object'}}
    pool = _obj({'name': name, 'uri': uri, 'weight': weight,
                 'flavor': {'anyOf': [name, {'type': 'null'}]},
                 'options': {'type': 'object'}, 'href': STRING},
                ('name', 'uri', 'weight', 'flavor', 'href'),
                additionalProperties=False)
    flavor = _obj({'name': name, 'pool_list': _array(name),
                   'capabilities': _array(STRING), 'href': STRING},
                  ('name', 'href'), additionalProperties=False)
    pool_list = _array(name, minItems=1)
    return {
        'Pool': pool,
        'PoolList': _obj({'pools': _array(pool), 'links': links},
                         ('pools', 'links'), additionalProperties=False),
        'NewPool': _obj(fields, ('uri', 'weight'),
                        additionalProperties=False),
        'PoolUpdate': _obj(fields, minProperties=1,
                           additionalProperties=False),
        'Flavor': flavor,
        'FlavorList': _obj({'flavors': _array(flavor), 'links': links},
                           ('flavors', 'links'),
                           additionalProperties=False),
        'NewFlavor': _obj({'pool_list': pool_list,
                           'capabilities': {'type': 'object'}},
                          ('pool_list',), additionalProperties=False),
        'FlavorUpdate': _obj({'pool_list': pool_list,
                              'capabilities': {'type': 'object'}},
                             ('pool_list',), additionalProperties=False),
    }
