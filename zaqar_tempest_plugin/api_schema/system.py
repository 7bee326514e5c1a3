"""Version discovery, home document, ping and health responses."""

list_versions = {
    'status_code': [300],
    'response_body': {
        'type': 'object',
        'properties': {
            'versions': {
                'type': 'array', 'minItems': 1,
                'items': {
                    'type': 'object',
                    'properties': {
                        'id': {'type': 'string'},
                        'status': {'type': 'string'},
                        'links': {'type': 'array'},
                        'media-types': {'type': 'array'},
                    },
                    'required': ['id', 'status', 'links'],
                },
            },
        },
        'required': ['versions'],
    },
}

get_home_document = {
    'status_code': [200],
    'response_body': {
        'type': 'object',
        'properties': {
            'resources': {
                'type': 'object',
                'additionalProperties': {
                    'type': 'object',
                    'properties': {
                        'href-template': {'type': 'string'},
                        'href': {'type': 'string'},
                        'hints': {'type': 'object'},
                    },
                    'required': ['hints'],
                },
            },
        },
        'required': ['resources'],
    },
    'response_header': {
        'type': 'object',
        'properties': {'content-type': {'enum': ['application/json-home']}},
        'required': ['content-type'],
    },
}

ping = {'status_code': [204]}

_OPERATION = {
    'type': 'object',
    'properties': {
        'succeeded': {'type': 'boolean'},
        'seconds': {'type': 'number'},
    },
    'required': ['succeeded', 'seconds'],
}

get_health = {
    'status_code': [200],
    'response_body': {
        'type': 'object',
        'properties': {
            'storage_reachable': {'type': 'boolean'},
            'operation_status': {'type': 'object',
                                 'additionalProperties': _OPERATION},
        },
        'required': ['storage_reachable', 'operation_status'],
    },
}
