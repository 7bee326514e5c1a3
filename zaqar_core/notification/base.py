"""What a notifier plugin (``zaqar_core.notifiers``) implements.

A notifier delivers to one kind of subscriber; the plugin's name is the
URI scheme it serves (``http``, ``mailto``, ``trust+https``...). The
outbox worker (:mod:`zaqar_core.notification.outbox`) calls it off the
request path, one delivery at a time, and retries what it reports as
retryable under the subscription's retry policy.
"""

from __future__ import annotations

import abc
import urllib.parse
from collections.abc import Mapping
from typing import Any
from typing import TypedDict

from oslo_config import cfg
from oslo_context import context as oslo_context


class Target(TypedDict):
    """The subscription a delivery goes to, as it was when queued."""

    id: str
    project: str
    source: str  # queue (or topic) name
    subscriber: str
    options: dict[str, Any]


class DeliveryFailed(Exception):
    """A delivery did not happen.

    Args:
        reason: what went wrong, for the log.
        retryable: whether trying again later may succeed (connection
            errors, timeouts, 5xx); False for a refusal that will not
            change (most 4xx, a malformed subscriber).
    """

    def __init__(self, reason: str, retryable: bool = True) -> None:
        super().__init__(reason)
        self.retryable = retryable


class SubscriberRejected(ValueError):
    """A subscription cannot be made as asked (the API answers 400)."""


class NotifierUnavailable(Exception):
    """A service the notifier needs (Keystone, say) failed; the API
    answers 503."""


class NotifierBase(abc.ABC):
    """Entry class of a notifier plugin."""

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.conf = conf

    def prepare(self, subscriber: str, options: dict[str, Any], ttl: int,
                context: oslo_context.RequestContext | None
                ) -> dict[str, Any]:
        """The options to store for a new or changed subscription.

        Called in the request that creates the subscription (or changes
        its subscriber), with the requester's context; the trust notifier
        creates its Keystone trust here.

        Raises:
            SubscriberRejected: the subscription cannot be made.
            NotifierUnavailable: it cannot be made now.
        """
        return options

    @abc.abstractmethod
    def notify(self, target: Target, message: dict[str, Any]) -> None:
        """Deliver one notification: ``message`` is the posted message
        document plus ``queue_name`` and ``Message_Type``.

        Raises:
            DeliveryFailed: not delivered.
        """

    @abc.abstractmethod
    def confirm(self, target: Target, document: dict[str, Any]) -> None:
        """Deliver a subscription (or unsubscribe) confirmation.

        ``document`` has upstream's keys: ``Message_Type``
        (``SubscriptionConfirmation`` or ``UnsubscribeConfirmation``),
        ``Message``, ``URL-Signature``, ``URL-Methods``, ``URL-Paths``,
        ``URL-Expires``, ``X-Project-ID``, ``SubscribeBody``,
        ``UnsubscribeBody`` and ``queue_name``.

        Raises:
            DeliveryFailed: not delivered.
        """

    def unusable_here(self) -> str | None:
        """Why this notifier cannot deliver from this host as configured
        (a program or a setting it needs is missing), or None. Checked
        without sending anything: at start and by ``zaqar-status``."""
        return None


def loggable(subscriber: str) -> str:
    """``subscriber`` fit for a log line: ``scheme://host[:port]`` of a
    URL, without the credentials it may carry in its user info, path or
    query; the address of a ``mailto:``."""
    try:
        parts = urllib.parse.urlsplit(subscriber)
    except ValueError:
        return 'a malformed URL'
    if not parts.netloc:
        return f'{parts.scheme}:{parts.path}'
    host = parts.hostname or ''
    if ':' in host:
        host = f'[{host}]'
    try:
        port = parts.port
    except ValueError:
        port = None
    return f'{parts.scheme}://{host}' + (f':{port}' if port else '')


def notifier_for(notifiers: Mapping[str, NotifierBase],
                 subscriber: str) -> NotifierBase | None:
    """The notifier of ``subscriber``'s URI scheme, if there is one."""
    return notifiers.get(urllib.parse.urlsplit(subscriber).scheme)
