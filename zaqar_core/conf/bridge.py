"""``[bridge]``: ``zaqar-bridge``, OpenStack notifications into queues.

The bus itself is configured with oslo.messaging's own options:
``[DEFAULT] transport_url`` and ``control_exchange``, or
``[oslo_messaging_notifications] transport_url`` when notifications
travel on a bus of their own.
"""

from oslo_config import cfg

GROUP = 'bridge'

# The oslo.messaging notification priorities (its dispatcher's list).
PRIORITIES = ('audit', 'debug', 'info', 'warn', 'error', 'critical',
              'sample')

# Where the usual services publish (each service's own control_exchange),
# as Ceilometer listens by default; "openstack" is the library default,
# used by Cinder and by Zaqar itself.
_EXCHANGES = ['nova', 'glance', 'neutron', 'cinder', 'heat', 'keystone',
              'octavia', 'designate', 'magnum', 'ironic', 'manila', 'trove',
              'openstack']

OPTS = [
    cfg.ListOpt('topics', default=['notifications'],
                help='Notification topics to consume (the topics the other '
                     'services publish on: their [oslo_messaging_'
                     'notifications] topics).'),
    cfg.ListOpt('exchanges', default=_EXCHANGES,
                help='Exchanges to consume the topics from: each service '
                     'publishes on its own control_exchange. Empty means '
                     'only this configuration\'s [DEFAULT] '
                     'control_exchange.'),
    cfg.StrOpt('pool', default='zaqar-bridge',
               help='Listener pool: the bridges that share a pool name '
                    'share the work, each notification going to one of '
                    'them. Empty: no pool (every bridge gets every '
                    'notification, and competes with other consumers of '
                    'the plain notification queues).'),
    cfg.StrOpt('queue_name', default='cloud-events',
               help='Template of the queue each notification is posted '
                    'to, in its project. May use {event_type}, {service} '
                    '(the first dotted part of the event type) and '
                    '{publisher_id}. Characters a queue name cannot have '
                    'become "_", and the result is cut to 64 characters.'),
    cfg.ListOpt('event_types', default=['*'],
                help='Event types to bridge, as shell-style patterns '
                     '(compute.instance.*).'),
    cfg.ListOpt('exclude_event_types', default=[],
                help='Event types never bridged, even when event_types '
                     'match them.'),
    cfg.ListOpt('payload_fields', default=[],
                help='When set, only these top-level payload keys are '
                     'kept in the message (a payload that is not an '
                     'object becomes {}). Empty: the whole payload.'),
    cfg.IntOpt('message_ttl', default=3600, min=60,
               help='TTL in seconds of the messages posted; it must lie '
                    'within [transport] min_message_ttl and '
                    'max_message_ttl.'),
    cfg.ListOpt('priorities', default=list(PRIORITIES),
                item_type=cfg.types.String(choices=PRIORITIES),
                help='Notification priorities to consume.'),
    cfg.StrOpt('default_project',
               help='Project that receives notifications carrying no '
                    'project. Unset: they are dropped.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> dict:
    return {GROUP: OPTS}
