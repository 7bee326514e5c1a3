"""Options of the plugin: ``[service_available] zaqar`` and the
``[messaging]`` group (the catalog entry and the server's API limits,
which must match the server's ``[transport]`` options)."""

from oslo_config import cfg

SERVICE_AVAILABLE_OPTS = [
    cfg.BoolOpt('zaqar', default=True,
                help='Whether the Zaqar messaging service is expected to '
                     'be available.'),
]

messaging_group = cfg.OptGroup(name='messaging',
                               title='Messaging (Zaqar v2) API options')

MESSAGING_OPTS = [
    cfg.StrOpt('catalog_type', default='messaging',
               help='Catalog type of the messaging service.'),
    cfg.StrOpt('endpoint_type', default='publicURL',
               choices=['public', 'admin', 'internal', 'publicURL',
                        'adminURL', 'internalURL'],
               help='Endpoint type of the messaging service.'),
    cfg.StrOpt('region', default='',
               help='Region of the messaging service; empty means the '
                    'identity region.'),
    cfg.IntOpt('max_queues_per_page', default=20,
               help='Largest queue list page ([transport] '
                    'max_queues_per_page).'),
    cfg.IntOpt('max_queue_metadata', default=65536,
               help='Largest queue metadata body in bytes ([transport] '
                    'max_queue_metadata).'),
    cfg.IntOpt('max_messages_per_page', default=20,
               help='Largest message list page and most ids per request '
                    '([transport] max_messages_per_page).'),
    cfg.IntOpt('max_messages_per_claim_or_pop', default=20,
               help='Most messages one claim or pop takes ([transport] '
                    'max_messages_per_claim_or_pop).'),
    cfg.IntOpt('max_subscriptions_per_page', default=20,
               help='Largest subscription list page ([transport] '
                    'max_subscriptions_per_page).'),
    cfg.IntOpt('max_message_ttl', default=1209600,
               help='Longest message TTL in seconds ([transport] '
                    'max_message_ttl).'),
    cfg.IntOpt('max_message_delay', default=900,
               help='Longest message delay in seconds ([transport] '
                    'max_message_delay).'),
    cfg.IntOpt('max_messages_post_size', default=262144,
               help='Largest message post body in bytes ([transport] '
                    'max_messages_post_size).'),
    cfg.IntOpt('max_claim_ttl', default=43200,
               help='Longest claim TTL in seconds ([transport] '
                    'max_claim_ttl).'),
    cfg.IntOpt('max_claim_grace', default=43200,
               help='Longest claim grace in seconds ([transport] '
                    'max_claim_grace).'),
    cfg.BoolOpt('trust_notifications', default=False,
                help='Whether the server has a [trustee] user, so that '
                     'trust+http subscriptions deliver.'),
    cfg.IntOpt('notification_timeout', default=30,
               help='Seconds to wait for a notification to arrive.'),
    cfg.ListOpt('pool_uris', default=[],
                help='URIs of message stores the server reaches, one per '
                     'pool the pool and flavor tests register (at least '
                     'two; three, so that those tests, run in parallel, '
                     'never register two pools at one URI at once), for '
                     'a server with [DEFAULT] admin_mode and pooling. '
                     'Empty: those tests are skipped.'),
]
