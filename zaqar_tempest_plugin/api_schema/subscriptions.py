"""Subscription responses."""

from zaqar_tempest_plugin.api_schema import common

SUBSCRIPTION = {
    'type': 'object',
    'properties': {
        'id': {'type': 'string', 'minLength': 1},
        'source': {'type': 'string'},
        'subscriber': {'type': 'string'},
        'ttl': {'type': 'integer', 'minimum': 60},
        'age': common.NON_NEGATIVE,
        'options': {'type': 'object'},
        'confirmed': {'type': 'boolean'},
    },
    # python-zaqarclient requires all of these.
    'required': ['id', 'source', 'subscriber', 'ttl', 'age', 'options',
                 'confirmed'],
    'additionalProperties': False,
}

create_subscription = {
    'status_code': [201],
    'response_body': {
        'type': 'object',
        'properties': {'subscription_id': {'type': 'string',
                                           'minLength': 1}},
        'required': ['subscription_id'],
        'additionalProperties': False,
    },
    'response_header': common.LOCATION_HEADER,
}

list_subscriptions = {
    'status_code': [200],
    'response_body': {
        'type': 'object',
        'properties': {
            'subscriptions': {'type': 'array', 'items': SUBSCRIPTION},
            'links': common.LINKS,
        },
        'required': ['subscriptions', 'links'],
        'additionalProperties': False,
    },
}

get_subscription = {'status_code': [200], 'response_body': SUBSCRIPTION}

update_subscription = {'status_code': [204]}

delete_subscription = common.NO_CONTENT

confirm_subscription = {'status_code': [204]}
