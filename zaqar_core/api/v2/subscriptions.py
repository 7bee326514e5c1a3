"""Subscription actions."""

from __future__ import annotations

import re
import urllib.parse
import uuid
from typing import TYPE_CHECKING
from typing import Any

from oslo_log import log

from zaqar_core.api import errors
from zaqar_core.api import validation
from zaqar_core.api.request import Request
from zaqar_core.api.request import Result
from zaqar_core.api.v2.registry import action
from zaqar_core.notification import base as notifier_base
from zaqar_core.notification import push
from zaqar_core.storage import errors as storage_errors

if TYPE_CHECKING:
    from zaqar_core.api.service import Api

LOG = log.getLogger(__name__)

MIN_TTL = 60
# The SQL stores keep TTLs as 32-bit integers (68 years).
MAX_TTL = 2 ** 31 - 1
_FIELDS = frozenset(('subscriber', 'ttl', 'options'))


SUBSCRIPTIONS = '/v2/queues/{queue_name}/subscriptions'
SUBSCRIPTION = SUBSCRIPTIONS + '/{subscription_id}'


def _check_document(api: Api, document: Any) -> dict[str, Any]:
    """The checked fields of a subscription create or update body."""
    if not document:
        raise errors.BadRequest('No subscription to create.')
    if not isinstance(document, dict):
        raise errors.BadRequest('Subscriptions must be a dict.')
    unknown = set(document) - _FIELDS
    if unknown:
        raise errors.BadRequest(f'Unknown keys: {sorted(unknown)}')
    checked: dict[str, Any] = {}
    if 'subscriber' in document:
        subscriber = document['subscriber']
        types = api.settings.transport.subscriber_types
        if isinstance(subscriber, str) and '\x00' in subscriber:
            # No URI has one, and not every store can hold it.
            raise errors.BadRequest('The subscriber must be a URI without '
                                    'NUL characters.')
        if not isinstance(subscriber, str) or \
                urllib.parse.urlsplit(subscriber).scheme not in types:
            raise errors.BadRequest(
                f'The subscriber type of subscription must be supported in '
                f'the list {types}.')
        checked['subscriber'] = subscriber
    if document.get('ttl') is not None:
        ttl = document['ttl']
        if not validation.is_int(ttl):
            raise errors.BadRequest('TTL must be an integer.')
        validation.check_range(
            ttl, MIN_TTL, MAX_TTL,
            f'The TTL for a subscription must be at least {MIN_TTL} seconds '
            f'long and may not exceed {MAX_TTL} seconds.')
        checked['ttl'] = ttl
    if document.get('options') is not None:
        options = document['options']
        if not isinstance(options, dict):
            raise errors.BadRequest('Options must be a dict.')
        validation.check_retry_policy(options)
        checked['options'] = options
    return checked


def _prepared(api: Api, req: Request, subscriber: str, ttl: int,
              options: dict[str, Any]) -> dict[str, Any]:
    """The options the subscriber's notifier stores (a trust, say)."""
    notifier = api.notifier_for(subscriber)
    if notifier is None:
        raise errors.BadRequest(
            f'No notifier is installed for the subscriber {subscriber!r}.')
    try:
        return notifier.prepare(subscriber, options, ttl, req.context)
    except notifier_base.SubscriberRejected as exc:
        raise errors.BadRequest(str(exc)) from None
    except notifier_base.NotifierUnavailable as exc:
        # The scheme only: a subscriber URL may carry credentials.
        LOG.warning('Subscription to a %s subscriber not made: %s',
                    urllib.parse.urlsplit(subscriber).scheme, exc)
        raise errors.ServiceUnavailable() from exc


def _release(api: Api, subscriber: str, options: dict[str, Any],
             req: Request) -> None:
    """Let the subscriber's notifier revoke what it made for ``options``
    (a trust), for a subscription that is gone or was never stored. Only
    the trust notifier has a ``release``."""
    release = getattr(api.notifier_for(subscriber), 'release', None)
    if release is not None and options:
        release(options, req.context)


def _added(given: dict[str, Any], prepared: dict[str, Any]
           ) -> dict[str, Any]:
    """What the notifier's preparation added to the options ``given``
    (a trust it made), and only that: never a trust the client gave."""
    return {k: v for k, v in prepared.items()
            if k not in given or given[k] != v}


@action('subscription_list', 'subscription:get_all', 'GET', SUBSCRIPTIONS,
        query={'marker': str, 'limit': int})
def subscription_list(api: Api, req: Request) -> Result:
    limit = validation.limit_param(
        req.params, 'limit', 10,
        api.settings.transport.max_subscriptions_per_page)
    marker = validation.get_str(req.params, 'marker')
    found = api.stores.subscriptions.list(
        req.project_id, req.params['queue_name'], marker, limit)
    return Result(200, {'subscriptions': found},
                  {'marker': found[-1]['id']} if found else None)


@action('subscription_create', 'subscription:create', 'POST', SUBSCRIPTIONS,
        document=True)
def subscription_create(api: Api, req: Request) -> Result:
    """Subscribe a subscriber to the queue; without one, over a transport
    that can push (WebSocket), subscribe the request's connection."""
    if req.connection is not None and (
            req.body is None or isinstance(req.body, dict) and
            not req.body.get('subscriber')):
        return _subscribe_connection(api, req)
    checked = _check_document(api, req.body)
    if 'subscriber' not in checked:
        raise errors.BadRequest('Missing parameter subscriber in body.')
    name = req.params['queue_name']
    subscriber = checked['subscriber']
    ttl = checked.get('ttl', api.settings.transport.default_subscription_ttl)
    given = checked.get('options', {})
    options = _prepared(api, req, subscriber, ttl, given)
    stored = False
    try:
        # Queues are lazy: a subscription makes its queue.
        api.stores.queues.create(req.project_id, name)
        try:
            subscription_id = api.stores.subscriptions.create(
                req.project_id, name, subscriber, ttl, options)
            stored = True
        except storage_errors.SubscriptionAlreadyExists as exc:
            existing = api.stores.subscriptions.get(req.project_id, name,
                                                    exc.subscription_id)
            if existing['confirmed']:
                raise errors.Conflict(str(exc)) from None
            # Asking again for an unconfirmed subscription sends its
            # confirmation again (it keeps its own options).
            subscription_id = existing['id']
    finally:
        if not stored:
            # Refused, or the existing one kept: the trust made for it
            # would be left to no one.
            _release(api, subscriber, _added(given, options), req)
    api.outbox.request_confirmation(req, subscription_id)
    return Result(201, {'subscription_id': subscription_id})


def _subscribe_connection(api: Api, req: Request) -> Result:
    document = {k: v for k, v in (req.body or {}).items()
                if k != 'subscriber'}
    checked = _check_document(api, document) if document else {}
    name = req.params['queue_name']
    api.stores.queues.create(req.project_id, name)
    ttl = checked.get('ttl', api.settings.transport.default_subscription_ttl)
    try:
        subscription_id = req.connection.subscribe(
            api.stores, req.project_id, name, ttl,
            checked.get('options', {}))
    except storage_errors.SubscriptionAlreadyExists as exc:
        raise errors.Conflict(str(exc)) from None
    return Result(201, {'subscription_id': subscription_id})


#: A UUID written with dashes, as upstream Zaqar wrote subscription ids.
_DASHED_UUID = re.compile(
    r'[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}')


def _subscription_id(req: Request) -> str:
    """The subscription id of the path. An id upstream made (kept by
    ``zaqar-manage import-upstream``) is stored as its 32 hex digits;
    clients still holding the dashed form find it too."""
    given = req.params['subscription_id']
    if _DASHED_UUID.fullmatch(given):
        return uuid.UUID(given).hex
    return given


@action('subscription_get', 'subscription:get', 'GET', SUBSCRIPTION)
def subscription_get(api: Api, req: Request) -> Result:
    return Result(200, api.stores.subscriptions.get(
        req.project_id, req.params['queue_name'],
        _subscription_id(req)))


@action('subscription_update', 'subscription:update', 'PATCH', SUBSCRIPTION,
        document=True)
def subscription_update(api: Api, req: Request) -> Result:
    checked = _check_document(api, req.body)
    name = req.params['queue_name']
    subscription_id = _subscription_id(req)
    current = None
    added: dict[str, Any] = {}
    subscriber = ''
    if 'subscriber' in checked or 'options' in checked:
        current = api.stores.subscriptions.get(req.project_id, name,
                                               subscription_id)
        if push.parse(current['subscriber']) is not None:
            # It belongs to a connection, which renews it and deletes it
            # when it closes: it cannot become another subscriber's, and
            # its options need no notifier's preparation.
            if 'subscriber' in checked:
                raise errors.BadRequest('The subscriber of a connection\'s '
                                        'subscription cannot change.')
            current = None
        else:
            given = checked.get('options', current['options'])
            subscriber = checked.get('subscriber', current['subscriber'])
            checked['options'] = _prepared(
                api, req, subscriber, checked.get('ttl', current['ttl']),
                given)
            added = _added(given, checked['options'])
    try:
        api.stores.subscriptions.update(req.project_id, name,
                                        subscription_id, **checked)
    except BaseException:
        # Not stored: a trust made for it would be left to no one.
        _release(api, subscriber, added, req)
        raise
    if current is not None:
        _release_replaced(api, current, checked, req)
    return Result(204)


def _release_replaced(api: Api, current: dict[str, Any],
                      changed: dict[str, Any], req: Request) -> None:
    """Revoke the trust (say) of ``current`` once the update ``changed``
    no longer uses it: another trust in its options, or a subscriber
    served by another notifier."""
    subscriber = changed.get('subscriber', current['subscriber'])
    options = changed.get('options', current['options'])
    kept = api.notifier_for(subscriber) is \
        api.notifier_for(current['subscriber']) and \
        options.get('trust_id') == current['options'].get('trust_id')
    if not kept:
        _release(api, current['subscriber'], current['options'], req)


@action('subscription_delete', 'subscription:delete', 'DELETE',
        SUBSCRIPTION)
def subscription_delete(api: Api, req: Request) -> Result:
    """Delete it, then revoke the trust (say) its notifier made for it."""
    name = req.params['queue_name']
    subscription_id = _subscription_id(req)
    try:
        current = api.stores.subscriptions.get(req.project_id, name,
                                               subscription_id)
    except storage_errors.SubscriptionDoesNotExist:
        current = None  # deleting it again is fine
    api.stores.subscriptions.delete(req.project_id, name, subscription_id)
    if current is not None:
        _release(api, current['subscriber'], current['options'], req)
    return Result(204)


@action('subscription_confirm', 'subscription:confirm', 'PUT',
        SUBSCRIPTION + '/confirm', document=True)
def subscription_confirm(api: Api, req: Request) -> Result:
    body = req.body if isinstance(req.body, dict) else {}
    confirmed = body.get('confirmed')
    if not isinstance(confirmed, bool):
        raise errors.BadRequest("The 'confirmed' should be boolean.")
    subscription_id = _subscription_id(req)
    api.stores.subscriptions.confirm(req.project_id,
                                     req.params['queue_name'],
                                     subscription_id, confirmed)
    if not confirmed:
        api.outbox.request_confirmation(req, subscription_id,
                                        unsubscribe=True)
    return Result(204)
