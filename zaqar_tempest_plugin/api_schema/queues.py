"""Queue responses."""

import copy

from zaqar_tempest_plugin.api_schema import common

#: Reserved metadata keys the server fills with their defaults.
RESERVED_METADATA = {
    '_max_messages_post_size': {'type': 'integer', 'minimum': 1},
    '_default_message_ttl': {'type': 'integer', 'minimum': 60},
    '_default_message_delay': common.NON_NEGATIVE,
}

METADATA = {
    'type': 'object',
    'properties': RESERVED_METADATA,
    'required': list(RESERVED_METADATA),
}

QUEUE = {
    'type': 'object',
    'properties': {
        'name': {'type': 'string', 'pattern': '^[a-zA-Z0-9_.-]{1,64}$'},
        'href': common.HREF,
        'metadata': METADATA,
    },
    'required': ['name', 'href'],
    'additionalProperties': False,
}

list_queues = {
    'status_code': [200],
    'response_body': {
        'type': 'object',
        'properties': {
            'queues': {'type': 'array', 'items': QUEUE},
            'links': common.LINKS,
            'count': common.NON_NEGATIVE,
        },
        'required': ['queues', 'links'],
        'additionalProperties': False,
    },
}

list_queues_detailed = copy.deepcopy(list_queues)
list_queues_detailed['response_body']['properties']['queues']['items'][
    'required'] = ['name', 'href', 'metadata']

create_queue = {
    'status_code': [201, 204],
    'response_header': common.LOCATION_HEADER,
}

get_queue = {'status_code': [200], 'response_body': METADATA}

update_queue = {'status_code': [200], 'response_body': METADATA}

delete_queue = common.NO_CONTENT

purge_queue = common.NO_CONTENT

_MESSAGE_REF = {
    'type': 'object',
    'properties': {
        'href': common.HREF,
        'age': common.NON_NEGATIVE,
        'created': {'type': 'string',
                    'pattern': r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$'},
    },
    'required': ['href', 'age', 'created'],
}

queue_stats = {
    'status_code': [200],
    'response_body': {
        'type': 'object',
        'properties': {
            'messages': {
                'type': 'object',
                'properties': {
                    'claimed': common.NON_NEGATIVE,
                    'free': common.NON_NEGATIVE,
                    'total': common.NON_NEGATIVE,
                    'oldest': _MESSAGE_REF,
                    'newest': _MESSAGE_REF,
                },
                'required': ['claimed', 'free', 'total'],
            },
        },
        'required': ['messages'],
        'additionalProperties': False,
    },
}
