"""Pre-signed URL responses (``POST /v2/queues/{q}/share``)."""

share_queue = {
    'status_code': [200],
    'response_body': {
        'type': 'object',
        'properties': {
            'paths': {
                'type': 'array', 'minItems': 1,
                'items': {'type': 'string', 'pattern':
                          '^/v2/queues/[^/]+/'
                          '(messages|subscriptions|claims)$'},
            },
            'methods': {'type': 'array', 'minItems': 1,
                        'items': {'type': 'string'}},
            'project': {'type': 'string', 'minLength': 1},
            # Naive UTC, seconds precision.
            'expires': {'type': 'string', 'pattern':
                        r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$'},
            'signature': {'type': 'string', 'pattern': '^[0-9a-f]{64}$'},
        },
        'required': ['paths', 'methods', 'project', 'expires', 'signature'],
        'additionalProperties': False,
    },
}
