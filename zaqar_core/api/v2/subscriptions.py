"""Subscription actions."""

from __future__ import annotations

import urllib.parse
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
        types = api.conf.transport.subscriber_types
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
        LOG.warning('Subscription to %s not made: %s', subscriber, exc)
        raise errors.ServiceUnavailable() from exc


@action('subscription_list', 'subscription:get_all', 'GET', SUBSCRIPTIONS,
        query={'marker': str, 'limit': int})
def subscription_list(api: Api, req: Request) -> Result:
    limit = validation.limit_param(
        req.params, 'limit', 10,
        api.conf.transport.max_subscriptions_per_page)
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
    ttl = checked.get('ttl', api.conf.transport.default_subscription_ttl)
    options = _prepared(api, req, subscriber, ttl,
                        checked.get('options', {}))
    # Queues are lazy: a subscription makes its queue.
    api.stores.queues.create(req.project_id, name)
    try:
        subscription_id = api.stores.subscriptions.create(
            req.project_id, name, subscriber, ttl, options)
    except storage_errors.SubscriptionAlreadyExists as exc:
        existing = api.stores.subscriptions.get(req.project_id, name,
                                                exc.subscription_id)
        if existing['confirmed']:
            raise errors.Conflict(str(exc)) from None
        # Asking again for an unconfirmed subscription sends its
        # confirmation again.
        subscription_id = existing['id']
    api.outbox.request_confirmation(req, subscription_id)
    return Result(201, {'subscription_id': subscription_id})


def _subscribe_connection(api: Api, req: Request) -> Result:
    document = {k: v for k, v in (req.body or {}).items()
                if k != 'subscriber'}
    checked = _check_document(api, document) if document else {}
    name = req.params['queue_name']
    api.stores.queues.create(req.project_id, name)
    try:
        subscription_id = req.connection.subscribe(
            api.stores, req.project_id, name,
            checked.get('ttl', api.conf.transport.default_subscription_ttl),
            checked.get('options', {}))
    except storage_errors.SubscriptionAlreadyExists as exc:
        raise errors.Conflict(str(exc)) from None
    return Result(201, {'subscription_id': subscription_id})


@action('subscription_get', 'subscription:get', 'GET', SUBSCRIPTION)
def subscription_get(api: Api, req: Request) -> Result:
    return Result(200, api.stores.subscriptions.get(
        req.project_id, req.params['queue_name'],
        req.params['subscription_id']))


@action('subscription_update', 'subscription:update', 'PATCH', SUBSCRIPTION,
        document=True)
def subscription_update(api: Api, req: Request) -> Result:
    checked = _check_document(api, req.body)
    name = req.params['queue_name']
    subscription_id = req.params['subscription_id']
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
        else:
            checked['options'] = _prepared(
                api, req, checked.get('subscriber', current['subscriber']),
                checked.get('ttl', current['ttl']),
                checked.get('options', current['options']))
    api.stores.subscriptions.update(req.project_id, name, subscription_id,
                                    **checked)
    return Result(204)


@action('subscription_delete', 'subscription:delete', 'DELETE',
        SUBSCRIPTION)
def subscription_delete(api: Api, req: Request) -> Result:
    api.stores.subscriptions.delete(req.project_id, req.params['queue_name'],
                                    req.params['subscription_id'])
    return Result(204)


@action('subscription_confirm', 'subscription:confirm', 'PUT',
        SUBSCRIPTION + '/confirm', document=True)
def subscription_confirm(api: Api, req: Request) -> Result:
    body = req.body if isinstance(req.body, dict) else {}
    confirmed = body.get('confirmed')
    if not isinstance(confirmed, bool):
        raise errors.BadRequest("The 'confirmed' should be boolean.")
    subscription_id = req.params['subscription_id']
    api.stores.subscriptions.confirm(req.project_id,
                                     req.params['queue_name'],
                                     subscription_id, confirmed)
    if not confirmed:
        api.outbox.request_confirmation(req, subscription_id,
                                        unsubscribe=True)
    return Result(204)
