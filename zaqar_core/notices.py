"""What an operator must be told about a configuration that works but
does less than it seems to: said once when a server starts, and by
``zaqar-status upgrade check``."""

from __future__ import annotations

from collections.abc import Mapping

from oslo_config import cfg

from zaqar_core.conf import transport
from zaqar_core.notification.base import NotifierBase


def collect(conf: cfg.ConfigOpts,
            notifiers: Mapping[str, NotifierBase]) -> list[str]:
    """One line per thing to know, most important first."""
    found = []
    if conf.transport.message_encryption_key == \
            transport.PUBLIC_ENCRYPTION_KEY:
        found.append(
            'Queues with _enable_encrypt_messages are encrypted with the '
            'public default key, which only obscures them: set [transport] '
            'message_encryption_key to a secret of your own before any '
            'queue encrypts (bodies encrypted under the old key need it to '
            'be read).')
    reasons: dict[str, list[str]] = {}
    for scheme, notifier in sorted(notifiers.items()):
        reason = notifier.unusable_here()
        if reason:
            reasons.setdefault(reason, []).append(scheme)
    for reason, schemes in reasons.items():
        found.append(f'{" and ".join(f"{s}:" for s in schemes)} '
                     f'subscriptions are accepted but cannot be delivered '
                     f'from this host: {reason}.')
    return found
