"""Message responses."""

from zaqar_tempest_plugin.api_schema import common

MESSAGE = {
    'type': 'object',
    'properties': {
        'id': {'type': 'string', 'minLength': 1},
        'href': common.HREF,
        'ttl': {'type': 'integer', 'minimum': 1},
        'age': common.NON_NEGATIVE,
        'body': common.ANY,
        'checksum': {'type': 'string'},
    },
    'required': ['id', 'href', 'ttl', 'age', 'body'],
    # python-zaqarclient builds its Message from these keys only.
    'additionalProperties': False,
}

post_messages = {
    'status_code': [201],
    'response_body': {
        'type': 'object',
        'properties': {
            'resources': {'type': 'array', 'items': common.HREF,
                          'minItems': 1},
        },
        'required': ['resources'],
        'additionalProperties': False,
    },
    'response_header': common.LOCATION_HEADER,
}

list_messages = {
    'status_code': [200],
    'response_body': {
        'type': 'object',
        'properties': {
            'messages': {'type': 'array', 'items': MESSAGE},
            'links': common.LINKS,
        },
        'required': ['messages', 'links'],
        'additionalProperties': False,
    },
}

get_messages_by_ids = {
    'status_code': [200],
    'response_body': {
        'type': 'object',
        'properties': {
            'messages': {'type': 'array', 'items': MESSAGE, 'minItems': 1},
        },
        'required': ['messages'],
        'additionalProperties': False,
    },
}

get_message = {'status_code': [200], 'response_body': MESSAGE}

delete_message = common.NO_CONTENT

delete_messages = common.NO_CONTENT

POPPED = {
    'type': 'object',
    'properties': {
        'id': {'type': 'string', 'minLength': 1},
        'ttl': {'type': 'integer', 'minimum': 1},
        'age': common.NON_NEGATIVE,
        'body': common.ANY,
        'claim_id': {'type': ['string', 'null']},
        'claim_count': common.NON_NEGATIVE,
        'checksum': {'type': 'string'},
    },
    'required': ['id', 'ttl', 'age', 'body', 'claim_id', 'claim_count'],
    'additionalProperties': False,
}

pop_messages = {
    'status_code': [200],
    'response_body': {
        'type': 'object',
        'properties': {'messages': {'type': 'array', 'items': POPPED}},
        'required': ['messages'],
        'additionalProperties': False,
    },
}
