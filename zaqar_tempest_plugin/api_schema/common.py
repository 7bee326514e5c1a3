"""Pieces the resource schemas share."""

#: A relative path under the API, as every href and Location is.
HREF = {'type': 'string', 'pattern': '^/v2/'}

LINKS = {
    'type': 'array',
    'items': {
        'type': 'object',
        'properties': {'rel': {'type': 'string', 'enum': ['next']},
                       'href': HREF},
        'required': ['rel', 'href'],
        'additionalProperties': False,
    },
}

#: A 201 whose Location names the created resource.
LOCATION_HEADER = {
    'type': 'object',
    'properties': {'location': HREF},
    'required': ['location'],
}

NON_NEGATIVE = {'type': 'integer', 'minimum': 0}

#: Any JSON value: message bodies are opaque.
ANY = {}

NO_CONTENT = {'status_code': [204]}
