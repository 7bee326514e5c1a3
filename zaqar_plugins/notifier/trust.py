"""``trust+http`` and ``trust+https`` subscribers: webhooks that carry a
Keystone token of the subscription's creator.

When the subscription is made, the requester delegates their roles on
their project to the ``[trustee]`` user through a Keystone trust (with
impersonation, expiring with the subscription); its id is kept in the
options as ``trust_id``, and ``trust_created`` marks it as made here:
deleting the subscription, or replacing its trust, revokes it (see
:meth:`TrustNotifier.release`). A client may bring a trust of its own
instead (as upstream): it must be the requester's, on their project, to
the ``[trustee]`` user, or anyone who saw a subscription's ``trust_id``
could have its token sent where they like. Zaqar leaves such a trust
alone, unless its options say ``trust_created`` too (as they do when an
update sends back the options a GET showed): the trustor asks for it.

Each delivery POSTs as :mod:`~zaqar_plugins.notifier.webhook` does, to
the URL without its ``trust+`` prefix, with a token scoped to the trust
in ``X-Auth-Token``. That is how a subscription can post into another
Zaqar queue of the same user. The token is kept, per trust, until shortly
before it expires (keystoneauth1 renews it two minutes ahead), and
dropped when the receiver answers 401 (one new token, one more try).
"""

from __future__ import annotations

import collections
import datetime
import threading
import urllib.parse
from typing import Any

from keystoneauth1 import exceptions as ka_exceptions
from keystoneauth1 import identity
from keystoneauth1 import loading
from keystoneauth1 import plugin
from keystoneauth1 import session as ka_session
from oslo_config import cfg
from oslo_context import context as oslo_context
from oslo_log import log

from zaqar_core.conf import trustee
from zaqar_core.notification import base
from zaqar_plugins.notifier import webhook

LOG = log.getLogger(__name__)

PREFIX = 'trust+'
#: The options key marking a trust this notifier made.
CREATED = 'trust_created'
#: Trusts whose token is kept (least recently used dropped first).
MAX_CACHED_TRUSTS = 1024

# Where trusts are created: the identity v3 API, found in the catalog of
# the requester's token (as upstream, through the public interface).
IDENTITY_V3 = {'service_type': 'identity', 'interface': 'public',
               'version': (3, 0)}


class _NotConfigured(Exception):
    """``[trustee]`` does not name a usable auth plugin."""


class TrustNotifier(webhook.WebhookNotifier):
    """A webhook whose requests carry a trust-scoped Keystone token."""

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        super().__init__(conf)
        self._lock = threading.Lock()
        # Trust id -> its auth plugin, which holds the trust-scoped token
        # and renews it (under a lock of its own) when it nears expiry.
        self._trusts: collections.OrderedDict[
            str, identity.BaseIdentityPlugin] = collections.OrderedDict()
        self._ks_session: ka_session.Session | None = None
        self._trustee: identity.BaseIdentityPlugin | None = None

    def prepare(self, subscriber: str, options: dict[str, Any], ttl: int,
                context: oslo_context.RequestContext | None
                ) -> dict[str, Any]:
        """``options`` plus the ``trust_id`` of a new trust from the
        requester to the ``[trustee]`` user (and ``trust_created``).

        Options that already have a ``trust_id`` keep it (as upstream, a
        client may bring its own trust) once Keystone shows it to be the
        requester's, on their project, to the ``[trustee]`` user. A
        request without a Keystone identity (no auth) has them returned
        as they are, but for ``trust_created``: nothing to check them
        against, and no trust of theirs to revoke.

        Raises:
            SubscriberRejected: no Keystone identity in ``context``,
                ``[trustee]`` unset, Keystone refused (4xx) the
                requester's token or the trust, or the given trust is not
                theirs.
            NotifierUnavailable: Keystone failed otherwise (unreachable,
                5xx) or refused Zaqar's own ``[trustee]`` credentials; a
                server-side fault.
        """
        trust_id = options.get('trust_id')
        given = isinstance(trust_id, str) and bool(trust_id)
        if given and not _identified(context):
            if CREATED not in options:
                return options
            return {k: v for k, v in options.items() if k != CREATED}
        if not _identified(context):
            raise base.SubscriberRejected(
                'A trust subscriber needs a Keystone-authenticated request: '
                'the trust delegates the requester\'s roles on their '
                'project.')
        assert context is not None  # for mypy: _identified checked it
        try:
            trustee_auth = self._trustee_auth()
        except _NotConfigured as exc:
            raise base.SubscriberRejected(
                f'Trust subscribers are not available: {exc}') from None
        try:
            trustee_id = self._session().get_user_id(
                auth=self._trustee_plugin(trustee_auth))
            # The requester's own token, rescoped by keystoneauth to their
            # project (it finds the identity endpoint in its catalog).
            requester = identity.Token(trustee_auth.auth_url,
                                       context.auth_token,
                                       project_id=context.project_id)
            try:
                if given:
                    self._check_given(trust_id, requester, context,
                                      trustee_id)
                    return options
                response = self._session().post(
                    '/OS-TRUST/trusts', auth=requester,
                    json={'trust': _trust_request(context, trustee_id,
                                                  ttl)},
                    endpoint_filter=IDENTITY_V3)
            except ka_exceptions.HttpError as exc:
                if exc.http_status is not None and \
                        400 <= exc.http_status < 500:
                    what = 'use the trust' if given else 'create the trust'
                    raise base.SubscriberRejected(
                        f'Keystone refused to {what}: {exc}') from exc
                raise
        except ka_exceptions.ClientException as exc:
            raise base.NotifierUnavailable(
                f'Keystone could not {"check" if given else "create"} the '
                f'trust: {exc}') from exc
        return {**options, 'trust_id': response.json()['trust']['id'],
                CREATED: True}

    def release(self, options: dict[str, Any],
                context: oslo_context.RequestContext | None = None) -> bool:
        """Revoke (delete in Keystone) the trust of a subscription that is
        gone or was refused, if this notifier made it (``trust_created``);
        a trust the client brought stays. Never raises: a trust that
        cannot be deleted now expires with the subscription anyway.

        The trust's own token deletes it (with impersonation it speaks
        for the trustor, whom Keystone lets delete it), whoever removes
        the subscription; failing that, the requester's token, if theirs.

        Returns:
            Whether the trust is gone (or was not this notifier's).
        """
        trust_id = options.get('trust_id')
        if options.get(CREATED) is not True or \
                not isinstance(trust_id, str) or not trust_id:
            return True
        path = f'/OS-TRUST/trusts/{urllib.parse.quote(trust_id, safe="")}'
        try:
            trust_auth = self._trust_auth(trust_id)
        except _NotConfigured as exc:
            LOG.warning('Trust %s of a removed subscription not revoked: '
                        '%s', trust_id, exc)
            return False
        auths: list[plugin.BaseAuthPlugin] = [trust_auth]
        if _identified(context):
            assert context is not None
            auths.append(identity.Token(
                trust_auth.auth_url, context.auth_token,
                project_id=context.project_id))
        failure: Exception | None = None
        try:
            for auth in auths:
                try:
                    self._session().delete(path, auth=auth,
                                           endpoint_filter=IDENTITY_V3)
                    return True
                except ka_exceptions.NotFound:
                    return True  # already gone (expired and flushed...)
                except ka_exceptions.ClientException as exc:
                    failure = exc
        finally:
            self.forget(trust_id)
        LOG.warning('Trust %s of a removed subscription not revoked: %s',
                    trust_id, failure)
        return False

    def forget(self, trust_id: str) -> None:
        """Drop the token kept for ``trust_id``."""
        with self._lock:
            self._trusts.pop(trust_id, None)

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
            auth = self._trust_auth(trust_id)
        except _NotConfigured as exc:
            raise base.DeliveryFailed(str(exc), retryable=False) from None
        try:
            token = self._session().get_token(auth=auth)
        except ka_exceptions.ClientException as exc:
            # A refused trust (deleted, expired) must not stay cached.
            self.forget(trust_id)
            raise base.DeliveryFailed(
                f'No trust-scoped token from Keystone: {exc}',
                retryable=True) from exc
        if not token:
            raise base.DeliveryFailed('Keystone gave no trust-scoped token.',
                                      retryable=True)
        url = target['subscriber'].removeprefix(PREFIX)
        return url, {'X-Auth-Token': token}

    def _send(self, target: base.Target, body: str) -> None:
        """POST with the kept token; if the receiver answers 401 (the
        token was revoked, say), once more with a new one."""
        for attempt in range(2):
            url, extra = self.endpoint(target)
            try:
                webhook.post(url, body,
                             webhook.headers(target['options'], extra),
                             self.conf.notification.webhook_timeout)
                return
            except webhook.Refused as exc:
                if exc.status != 401 or attempt:
                    raise
                self.forget(target['options']['trust_id'])

    def _check_given(self, trust_id: str, requester: plugin.BaseAuthPlugin,
                     context: oslo_context.RequestContext,
                     trustee_id: str) -> None:
        """Refuse a client's trust unless it is the requester's, on their
        project, to the ``[trustee]`` user.

        Raises:
            SubscriberRejected: it is not.
            ka_exceptions.HttpError: Keystone refused to show it.
        """
        trust = self._session().get(
            f'/OS-TRUST/trusts/{urllib.parse.quote(trust_id, safe="")}',
            auth=requester, endpoint_filter=IDENTITY_V3).json()['trust']
        if trust.get('trustor_user_id') != context.user_id or \
                trust.get('project_id') != context.project_id or \
                trust.get('trustee_user_id') != trustee_id:
            raise base.SubscriberRejected(
                'The trust_id given must name a trust from the requester, '
                'on their project, to this service\'s trustee.')

    def _trust_auth(self, trust_id: str) -> identity.BaseIdentityPlugin:
        """The ``[trustee]`` plugin scoped to ``trust_id``: the kept one,
        whose token is reused until near its expiry, or a new one.

        Raises:
            _NotConfigured: no or an unusable ``[trustee]`` plugin.
        """
        with self._lock:
            auth = self._trusts.get(trust_id)
            if auth is not None:
                self._trusts.move_to_end(trust_id)
                return auth
        made = self._trustee_auth(trust_id=trust_id)
        with self._lock:
            # Another thread may have made one meanwhile: one token.
            auth = self._trusts.setdefault(trust_id, made)
            self._trusts.move_to_end(trust_id)
            while len(self._trusts) > MAX_CACHED_TRUSTS:
                self._trusts.popitem(last=False)
        return auth

    def _trustee_plugin(self, made: identity.BaseIdentityPlugin
                        ) -> identity.BaseIdentityPlugin:
        """The trustee's own plugin, kept (its token serves every
        subscription made); ``made`` the first time."""
        with self._lock:
            if self._trustee is None:
                self._trustee = made
            return self._trustee

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

    def _session(self) -> ka_session.Session:
        """The session (one, for its connection pool; each call names
        its auth) with the ``[trustee]`` TLS options; its timeout, when
        unset, is ``[notification] webhook_timeout``, so that Keystone
        cannot hang a delivery forever."""
        with self._lock:
            if self._ks_session is None:
                timeout = (self.conf[trustee.GROUP].timeout or
                           self.conf.notification.webhook_timeout)
                self._ks_session = loading.load_session_from_conf_options(
                    self.conf, trustee.GROUP, timeout=timeout)
            return self._ks_session


def _identified(context: oslo_context.RequestContext | None) -> bool:
    """Whether ``context`` carries a Keystone identity (auth_token)."""
    return context is not None and bool(
        context.auth_token and context.user_id and context.project_id)


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
