"""``[notification]``: subscriptions, notifier drivers and the outbox.

Upstream's options keep their names and defaults; the ``webhook_*``,
``smtp_security``, ``outbox_*`` and ``push_lease`` options are new.
"""

from oslo_config import cfg

GROUP = 'notification'

_SUBSCRIBE_TEMPLATE = {
    'topic': 'Zaqar Notification - Subscription Confirmation',
    'body': 'You have chosen to subscribe to the queue: {0}. This queue '
            'belongs to project: {1}. To confirm this subscription, click '
            'or visit this link below: {2}',
    'sender': 'Zaqar Notifications <no-reply@openstack.org>',
}
_UNSUBSCRIBE_TEMPLATE = {
    'topic': 'Zaqar Notification - Unsubscribe Confirmation',
    'body': 'You have unsubscribed successfully to the queue: {0}. This '
            'queue belongs to project: {1}. To resubscribe this '
            'subscription, click or visit this link below: {2}',
    'sender': 'Zaqar Notifications <no-reply@openstack.org>',
}

OPTS = [
    cfg.StrOpt('smtp_mode', default='third_part',
               choices=('third_part', 'self_local'),
               help='How mailto subscribers are mailed: "third_part" pipes '
                    'each mail to smtp_command; "self_local" talks SMTP to '
                    'smtp_host itself.'),
    cfg.HostAddressOpt('smtp_host', help='SMTP server (self_local mode).'),
    cfg.PortOpt('smtp_port', help='SMTP server port (self_local mode); '
                                  'empty means 465 with ssl, else 25.'),
    cfg.StrOpt('smtp_user_name',
               help='SMTP login (self_local mode); empty: no login.'),
    cfg.StrOpt('smtp_user_password', secret=True,
               help='SMTP password (self_local mode).'),
    cfg.StrOpt('smtp_security', default='ssl',
               choices=('ssl', 'starttls', 'none'),
               help='Transport security towards smtp_host: "ssl" (SMTPS, '
                    'as upstream Zaqar always does), "starttls", or "none" '
                    'for a relay on a trusted network.'),
    cfg.StrOpt('smtp_command', default='/usr/sbin/sendmail -t -oi',
               help='Command that reads a mail on stdin and sends it '
                    '(third_part mode).'),
    cfg.IntOpt('max_notifier_workers', default=10, min=1,
               help='Deliveries in progress at once, per server process.'),
    cfg.BoolOpt('require_confirmation', default=False,
                help='Notify only subscribers that confirmed. Needs '
                     '[signed_url] secret_key: the confirmation request '
                     'carries a pre-signed URL.'),
    cfg.URIOpt('external_confirmation_url',
               help='Page that confirms a mailto subscription, linked from '
                    'the confirmation mail with the signed URL in its '
                    'query.'),
    cfg.DictOpt('subscription_confirmation_email_template',
                default=_SUBSCRIBE_TEMPLATE,
                help='Confirmation mail: "topic", "body" (placeholders {0} '
                     'queue, {1} project, {2} confirmation link) and '
                     '"sender".'),
    cfg.DictOpt('unsubscribe_confirmation_email_template',
                default=_UNSUBSCRIBE_TEMPLATE,
                help='Unsubscribe mail, as the confirmation mail.'),
    cfg.FloatOpt('webhook_timeout', default=10.0, min=0.1,
                 help='Seconds a webhook (or trust) subscriber has to '
                      'answer one notification.'),
    cfg.IntOpt('outbox_claim_ttl', default=60, min=1,
               help='Seconds a server process holds pending notifications '
                    'it took; it renews them while delivering. After a '
                    'crash, another process delivers them once this has '
                    'passed.'),
    cfg.FloatOpt('outbox_poll_interval', default=1.0, min=0.01,
                 help='Seconds between looks for pending notifications '
                      'posted through other server processes.'),
    cfg.IntOpt('outbox_ttl', default=1209600, min=60,
               help='Seconds a notification waits for delivery (across '
                    'restarts) before it is dropped.'),
    cfg.IntOpt('push_lease', default=60, min=5,
               help='Seconds a subscription of a WebSocket connection '
                    'outlives its server process: the process renews it '
                    'while the connection lasts (up to the TTL the client '
                    'asked for), so a crashed process\'s subscriptions lapse '
                    'within this time.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> dict:
    return {GROUP: OPTS}
