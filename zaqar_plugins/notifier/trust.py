"""``trust+http`` and ``trust+https`` subscribers: webhooks that carry a
Keystone token of the subscription's creator.

When the subscription is made, the requester delegates their roles on
their project to the ``[trustee]`` user through a Keystone trust (with
impersonation, expiring with the subscription); its id is kept in the
options as ``trust_id``. Each delivery gets a token scoped to that trust
and POSTs as :mod:`~zaqar_plugins.notifier.webhook` does, to the URL
without its ``trust+`` prefix, with the token in ``X-Auth-Token``. That is
how a subscription can post into another Zaqar queue of the same user.
"""

from __future__ import annotations

import datetime
from typing import Any

from keystoneauth1 import exceptions as ka_exceptions
from keystoneauth1 import identity
from keystoneauth1 import loading
from keystoneauth1 import plugin
from keystoneauth1 import session as ka_session
from oslo_context import context as oslo_context

from zaqar_core.conf import trustee
from zaqar_core.notification import base
from zaqar_plugins.notifier import webhook

PREFIX = 'trust+'

# Where trusts are created: the identity v3 API, found in the catalog of
# the requester's token (as upstream, through the public interface).
IDENTITY_V3 = {'service_type': 'identity', 'interface': 'public',
               'version': (3, 0)}


class _NotConfigured(Exception):
    """``[trustee]`` does not name a usable auth plugin."""


class TrustNotifier(webhook.WebhookNotifier):
    """A webhook whose requests carry a trust-scoped Keystone token."""

    def prepare(self, subscriber: str, options: dict[str, Any], ttl: int,
                context: oslo_context.RequestContext | None
                ) -> dict[str, Any]:
        """``options`` plus the ``trust_id`` of a new trust from the
        requester to the ``[trustee]`` user; options that already have a
        ``trust_id`` are returned as they are (as upstream, a client may
        bring its own trust).

        Raises:
            SubscriberRejected: no Keystone identity in ``context``,
                ``[trustee]`` unset, or Keystone refused (4xx) the
                requester's token or the trust.
            NotifierUnavailable: Keystone failed otherwise (unreachable,
                5xx) or refused Zaqar's own ``[trustee]`` credentials; a
                server-side fault.
        """
        trust_id = options.get('trust_id')
        if isinstance(trust_id, str) and trust_id:
            return options
        if context is None or not (context.auth_token and context.user_id
                                   and context.project_id):
            raise base.SubscriberRejected(
                'A trust subscriber needs a Keystone-authenticated request: '
                'the trust delegates the requester\'s roles on their '
                'project.')
        try:
            trustee_auth = self._trustee_auth()
        except _NotConfigured as exc:
            raise base.SubscriberRejected(
                f'Trust subscribers are not available: {exc}') from None
        try:
            trustee_id = self._session(trustee_auth).get_user_id()
            body = {'trust': _trust_request(context, trustee_id, ttl)}
            # The requester's own token makes them the trustor;
            # keystoneauth rescopes it to their project and finds the
            # identity endpoint.
            trustor_auth = identity.Token(trustee_auth.auth_url,
                                          context.auth_token,
                                          project_id=context.project_id)
            try:
                response = self._session(trustor_auth).post(
                    '/OS-TRUST/trusts', json=body,
                    endpoint_filter=IDENTITY_V3)
            except ka_exceptions.HttpError as exc:
                if exc.http_status is not None and \
                        400 <= exc.http_status < 500:
                    raise base.SubscriberRejected(
                        f'Keystone refused to create the trust: {exc}'
                    ) from exc
                raise
        except ka_exceptions.ClientException as exc:
            raise base.NotifierUnavailable(
                f'Keystone could not create the trust: {exc}') from exc
        return {**options, 'trust_id': response.json()['trust']['id']}

    def endpoint(self, target: base.Target
                 ) -> tuple[str, dict[str, str]]:
        """The subscriber URL without ``trust+``, and ``X-Auth-Token``.

        Raises:
            DeliveryFailed: retryable when Keystone failed; final when the
                subscription has no trust or ``[trustee]`` is unset.
        """
        trust_id = target['options'].get('trust_id')
        if not isinstance(trust_id, str) or not trust_id:
            raise base.DeliveryFailed('The subscription has no trust_id.',
                                      retryable=False)
        try:
            auth = self._trustee_auth(trust_id=trust_id)
        except _NotConfigured as exc:
            raise base.DeliveryFailed(str(exc), retryable=False) from None
        try:
            token = self._session(auth).get_token()
        except ka_exceptions.ClientException as exc:
            raise base.DeliveryFailed(
                f'No trust-scoped token from Keystone: {exc}',
                retryable=True) from exc
        if not token:
            raise base.DeliveryFailed('Keystone gave no trust-scoped token.',
                                      retryable=True)
        url = target['subscriber'].removeprefix(PREFIX)
        return url, {'X-Auth-Token': token}

    def _trustee_auth(self, **overrides: Any
                      ) -> identity.BaseIdentityPlugin:
        """The ``[trustee]`` auth plugin (``overrides``: e.g. trust_id).

        Raises:
            _NotConfigured: no or an unusable plugin.
        """
        try:
            auth = loading.load_auth_from_conf_options(
                self.conf, trustee.GROUP, **overrides)
        except ka_exceptions.ClientException as exc:
            raise _NotConfigured(f'[{trustee.GROUP}]: {exc}') from None
        if not isinstance(auth, identity.BaseIdentityPlugin):
            raise _NotConfigured(f'[{trustee.GROUP}] auth_type must name '
                                 f'a Keystone identity plugin.')
        return auth

    def _session(self, auth: plugin.BaseAuthPlugin) -> ka_session.Session:
        """A session with the ``[trustee]`` TLS options; its timeout, when
        unset, is ``[notification] webhook_timeout``, so that Keystone
        cannot hang a delivery forever."""
        timeout = (self.conf[trustee.GROUP].timeout or
                   self.conf.notification.webhook_timeout)
        return loading.load_session_from_conf_options(
            self.conf, trustee.GROUP, auth=auth, timeout=timeout)


def _trust_request(context: oslo_context.RequestContext, trustee_id: str,
                   ttl: int) -> dict[str, Any]:
    """The ``trust`` object of POST /v3/OS-TRUST/trusts."""
    trust: dict[str, Any] = {
        'trustor_user_id': context.user_id,
        'trustee_user_id': trustee_id,
        'project_id': context.project_id,
        'impersonation': True,
        'roles': [{'name': role} for role in context.roles],
    }
    if ttl:
        expires = (datetime.datetime.now(datetime.UTC) +
                   datetime.timedelta(seconds=ttl))
        trust['expires_at'] = expires.strftime('%Y-%m-%dT%H:%M:%S.%fZ')
    return trust
