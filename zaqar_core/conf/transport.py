"""``[transport]``: API limits and defaults (upstream names and values).

The ``min_*`` options are new: they keep upstream's fixed lower bounds by
default and let test deployments use short TTLs.
"""

from oslo_config import cfg

GROUP = 'transport'
#: Upstream's default message_encryption_key: public, so it only obscures.
PUBLIC_ENCRYPTION_KEY = 'AES256'

OPTS = [
    cfg.IntOpt('default_message_ttl', default=3600,
               help='TTL (s) of a message posted without "ttl" when its '
                    'queue sets no _default_message_ttl.'),
    cfg.IntOpt('default_message_delay', default=0,
               help='Delay (s) of a message in a delayed queue when neither '
                    'the message nor the queue gives one.'),
    cfg.IntOpt('default_claim_ttl', default=300,
               help='Claim TTL (s) when the request gives none.'),
    cfg.IntOpt('default_claim_grace', default=60,
               help='Claim grace (s) when the request gives none.'),
    cfg.IntOpt('default_subscription_ttl', default=3600,
               help='Subscription TTL (s) when the request gives none.'),
    cfg.IntOpt('max_queues_per_page', default=20,
               help='Largest page of queues.'),
    cfg.IntOpt('max_messages_per_page', default=20,
               help='Largest page of messages, and most ids per request.'),
    cfg.IntOpt('max_subscriptions_per_page', default=20,
               help='Largest page of subscriptions.'),
    cfg.IntOpt('max_messages_per_claim_or_pop', default=20,
               help='Most messages one claim or pop may take.'),
    cfg.IntOpt('max_queue_metadata', default=64 * 1024,
               help='Largest queue metadata document (bytes).'),
    cfg.IntOpt('max_messages_post_size', default=256 * 1024,
               help='Largest message POST body (bytes).'),
    cfg.IntOpt('max_message_ttl', default=1209600,
               help='Largest message TTL (s).'),
    cfg.IntOpt('max_message_delay', default=900,
               help='Largest message delay (s).'),
    cfg.IntOpt('max_message_wait', default=20, min=0, max=300,
               help='Longest "wait" (s) a listing of messages or a claim may '
                    'ask for: long polling, an extension of the v2 API. A '
                    'request that finds no message then answers as soon as '
                    'one arrives, or after that many seconds. 0 turns it '
                    'off (a request asking to wait is refused with 400). '
                    'Requests without "wait" answer at once, as ever.'),
    cfg.IntOpt('max_waiting_requests', default=100, min=0,
               help='Requests that may wait for messages at once, per '
                    'server process; one more is refused with 429 and '
                    'Retry-After. Each holds a thread that does nothing '
                    'while it waits: zaqar-server gives each process that '
                    'many threads for them, apart from those that run the '
                    'other requests. Under another WSGI server, give it '
                    'threads for them too.'),
    cfg.IntOpt('max_claim_ttl', default=43200,
               help='Largest claim TTL (s).'),
    cfg.IntOpt('max_claim_grace', default=43200,
               help='Largest claim grace (s).'),
    cfg.IntOpt('min_message_ttl', default=60, min=1,
               help='Smallest message TTL (s).'),
    cfg.IntOpt('min_claim_ttl', default=60, min=1,
               help='Smallest claim TTL (s).'),
    cfg.IntOpt('min_claim_grace', default=60, min=0,
               help='Smallest claim grace (s).'),
    cfg.ListOpt('subscriber_types',
                default=['http', 'https', 'mailto',
                         'trust+http', 'trust+https'],
                help='URI schemes a subscriber may use.'),
    cfg.IntOpt('max_flavors_per_page', default=20,
               help='Largest page of flavors.'),
    cfg.IntOpt('max_pools_per_page', default=20,
               help='Largest page of pools.'),
    cfg.StrOpt('client_id_uuid_safe', default='strict',
               choices=('strict', 'off'),
               help='"strict": Client-ID must be a UUID; "off": any string '
                    'between min_length_client_id and max_length_client_id '
                    'characters.'),
    cfg.IntOpt('min_length_client_id', default=10,
               help='Shortest Client-ID when client_id_uuid_safe is off.'),
    cfg.IntOpt('max_length_client_id', default=36,
               help='Longest Client-ID when client_id_uuid_safe is off.'),
    cfg.BoolOpt('message_delete_with_claim_id', default=False,
                help='Require claim_ids next to ids when deleting claimed '
                     'messages in bulk.'),
    cfg.StrOpt('message_encryption_algorithms', default='AES256',
               choices=('AES256', 'RSA'),
               help='Algorithm for queues with _enable_encrypt_messages. '
                    'AES256 stores bodies encrypted with AES-256-GCM. RSA '
                    'is accepted so that upstream config files load, but '
                    'is not implemented: with it, posts to queues with '
                    '_enable_encrypt_messages are refused (503, error '
                    'logged) rather than stored in plaintext. Reads '
                    'decrypt stored bodies whatever this says.'),
    cfg.StrOpt('message_encryption_key', default=PUBLIC_ENCRYPTION_KEY,
               secret=True,
               help='Key for queues with _enable_encrypt_messages: any '
                    'string; its SHA-256 is the AES key. The default is '
                    'public, so set your own. Reads decrypt with it '
                    'whatever the queue metadata says now; bodies stored '
                    'under another key are shown as stored (warning '
                    'logged). Empty turns encryption off: such queues '
                    'then store plaintext.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> dict:
    return {GROUP: OPTS}
