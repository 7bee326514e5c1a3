"""``http`` and ``https`` subscribers: POST each notification as JSON.

Subscription options:

* ``post_headers``: an object of extra request headers;
* ``post_data``: a string sent instead of the bare message, in which the
  literal ``"$zaqar_message$"`` (quotes included) is replaced by the
  message JSON, e.g. ``{"messages": [{"body": "$zaqar_message$"}]}``.

Outcome of one POST: any 2xx is delivered; a connection error, a timeout,
a 5xx, 408 or 429 may pass and is retryable; anything else (redirects,
which are not followed, and other 4xx) is final.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from http import cookiejar
from typing import Any

import requests
from requests import structures

from zaqar_core.notification import base

#: What ``post_data`` marks the place of the message with.
PLACEHOLDER = '"$zaqar_message$"'

RETRYABLE_STATUSES = frozenset({408, 429})

#: Bytes of a receiver's answer read (and dropped) so that its connection
#: can serve the next POST; a longer answer costs a new connection.
DRAIN_LIMIT = 64 * 1024

# One pool of keep-alive connections for every delivery in the process
# (stream=True below, so that _drain decides how much answer to read).
# requests' Session is safe to share between threads for plain requests
# like ours; it must not keep cookies, or a receiver's would go with
# other subscriptions' (other projects') requests to the same host.
_SESSION = requests.Session()
_SESSION.cookies.set_policy(cookiejar.DefaultCookiePolicy(allowed_domains=[]))


class _HideRequestTargets(logging.Filter):
    """urllib3 logs the path and query of every request it sends, at
    DEBUG; a subscriber URL's may carry credentials (``?token=...``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) > 4 and \
                isinstance(args[4], str):
            record.args = (*args[:4], '<path hidden>', *args[5:])
        return True


logging.getLogger('urllib3.connectionpool').addFilter(_HideRequestTargets())


class Refused(base.DeliveryFailed):
    """The subscriber answered, with a status that is not a 2xx.

    Args:
        status: the HTTP status it answered.
    """

    def __init__(self, reason: str, status: int,
                 retryable: bool = True) -> None:
        super().__init__(reason, retryable)
        self.status = status


def headers(options: Mapping[str, Any],
            extra: Mapping[str, str] | None = None
            ) -> structures.CaseInsensitiveDict:
    """The request headers: JSON content type, then the subscription's
    ``post_headers`` (ignored unless an object; values that are not text
    or numbers are skipped), then ``extra``, each overriding the one
    before, whatever the case of the names."""
    result = structures.CaseInsensitiveDict(
        {'Content-Type': 'application/json'})
    custom = options.get('post_headers')
    if isinstance(custom, Mapping):
        for name, value in custom.items():
            if isinstance(value, bool) or \
                    not isinstance(value, str | int | float):
                continue
            result[str(name)] = str(value)
    result.update(extra or {})
    return result


def notification_body(message: Mapping[str, Any],
                      options: Mapping[str, Any]) -> str:
    """The message JSON, or the ``post_data`` template around it."""
    document = json.dumps(message)
    template = options.get('post_data')
    if isinstance(template, str):
        return template.replace(PLACEHOLDER, document)
    return document


def post(url: str, body: str, request_headers: Mapping[str, str],
         timeout: float) -> None:
    """POST ``body`` (sent as UTF-8) to ``url``; redirects are not
    followed.

    Args:
        timeout: seconds allowed to connect and for each read.

    Raises:
        Refused: not a 2xx answer.
        DeliveryFailed: no answer.
    """
    where = base.loggable(url)
    try:
        response = _SESSION.post(url, data=body.encode('utf-8'),
                                 headers=dict(request_headers),
                                 timeout=timeout, allow_redirects=False,
                                 stream=True)
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise base.DeliveryFailed(
            f'POST to {where} failed: {type(exc).__name__}',
            retryable=True) from exc
    except (requests.RequestException, ValueError) as exc:
        # A malformed URL or header: trying again cannot help.
        raise base.DeliveryFailed(f'POST to {where} impossible: {exc}',
                                  retryable=False) from exc
    status = response.status_code
    _drain(response)
    if 200 <= status < 300:
        return
    retryable = status >= 500 or status in RETRYABLE_STATUSES
    raise Refused(
        f'{where} answered {status} {response.reason or ""}'.rstrip(),
        status, retryable=retryable)


def _drain(response: requests.Response) -> None:
    """Read a short answer to its end (which puts the connection back in
    the pool), then close; never more than :data:`DRAIN_LIMIT` bytes:
    the answer does not matter, and may be huge."""
    read = 0
    try:
        for chunk in response.iter_content(8192):
            read += len(chunk)
            if read > DRAIN_LIMIT:
                break
    except requests.RequestException:
        pass  # the status is what counts
    finally:
        response.close()


class WebhookNotifier(base.NotifierBase):
    """POSTs notifications and confirmations to the subscriber URL."""

    def notify(self, target: base.Target,
               message: dict[str, Any]) -> None:
        """POST ``message`` (or the ``post_data`` template around it).

        Raises:
            DeliveryFailed: see the module docstring for which are
                retryable.
        """
        self._send(target, notification_body(message, target['options']))

    def confirm(self, target: base.Target,
                document: dict[str, Any]) -> None:
        """POST the confirmation ``document`` as it is: ``post_data``
        shapes notifications only, while the receiver must see the
        confirmation's own fields to confirm.

        Raises:
            DeliveryFailed: as :meth:`notify`.
        """
        self._send(target, json.dumps(document))

    def _send(self, target: base.Target, body: str) -> None:
        url, extra = self.endpoint(target)
        post(url, body, headers(target['options'], extra),
             self.conf.notification.webhook_timeout)

    def endpoint(self, target: base.Target
                 ) -> tuple[str, dict[str, str]]:
        """Where to POST for ``target``, and headers to add to (and win
        over) ``post_headers``.

        Raises:
            DeliveryFailed: no endpoint can be had for now.
        """
        return target['subscriber'], {}
