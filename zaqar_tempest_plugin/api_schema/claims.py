"""Claim responses."""

import copy

from zaqar_tempest_plugin.api_schema import common
from zaqar_tempest_plugin.api_schema import messages

#: A claimed message: its href names the claim (last, as clients parse it).
CLAIMED_MESSAGE = copy.deepcopy(messages.MESSAGE)
CLAIMED_MESSAGE['properties']['href'] = {
    'type': 'string', 'pattern': r'^/v2/.+\?(.+&)?claim_id=[^&]+$'}

claim_messages = {
    'status_code': [201],
    'response_body': {
        'type': 'object',
        'properties': {
            'messages': {'type': 'array', 'items': CLAIMED_MESSAGE,
                         'minItems': 1},
        },
        'required': ['messages'],
        'additionalProperties': False,
    },
}

#: Nothing was free to claim: 204, no body.
claim_nothing = common.NO_CONTENT

query_claim = {
    'status_code': [200],
    'response_body': {
        'type': 'object',
        'properties': {
            'age': common.NON_NEGATIVE,
            'ttl': {'type': 'integer', 'minimum': 1},
            'href': common.HREF,
            'messages': {'type': 'array', 'items': CLAIMED_MESSAGE},
        },
        'required': ['age', 'ttl', 'href', 'messages'],
        'additionalProperties': False,
    },
}

update_claim = common.NO_CONTENT

release_claim = common.NO_CONTENT
