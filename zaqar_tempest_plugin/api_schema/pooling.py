"""Pool and flavor responses (admin API, with pooling)."""

_NAME = {'type': 'string', 'minLength': 1, 'maxLength': 64}
_LINKS = {'type': 'array', 'items': {
    'type': 'object',
    'properties': {'rel': {'type': 'string'}, 'href': {'type': 'string'}},
    'required': ['rel', 'href']}}

_POOL = {
    'type': 'object',
    'properties': {
        'name': _NAME,
        'uri': {'type': 'string'},
        'weight': {'type': 'integer', 'minimum': 0},
        'flavor': {'type': ['string', 'null']},
        'options': {'type': 'object'},
        'href': {'type': 'string'},
    },
    'required': ['name', 'uri', 'weight', 'flavor', 'href'],
    'additionalProperties': False,
}

_FLAVOR = {
    'type': 'object',
    'properties': {
        'name': _NAME,
        'pool_list': {'type': 'array', 'items': _NAME},
        'capabilities': {'type': 'array', 'items': {'type': 'string'}},
        'href': {'type': 'string'},
    },
    'required': ['name', 'href'],
    'additionalProperties': False,
}

_CREATED = {
    'status_code': [201],
    'response_header': {
        'type': 'object',
        'properties': {'location': {'type': 'string'}},
        'required': ['location'],
    },
}

create_pool = _CREATED
create_flavor = _CREATED
delete = {'status_code': [204]}

show_pool = {'status_code': [200], 'response_body': _POOL}
update_pool = show_pool
list_pools = {
    'status_code': [200],
    'response_body': {
        'type': 'object',
        'properties': {'pools': {'type': 'array', 'items': _POOL},
                       'links': _LINKS},
        'required': ['pools', 'links'],
    },
}

show_flavor = {'status_code': [200], 'response_body': dict(
    _FLAVOR, required=['name', 'pool_list', 'capabilities', 'href'])}
update_flavor = show_flavor
list_flavors = {
    'status_code': [200],
    'response_body': {
        'type': 'object',
        'properties': {'flavors': {'type': 'array', 'items': _FLAVOR},
                       'links': _LINKS},
        'required': ['flavors', 'links'],
    },
}
