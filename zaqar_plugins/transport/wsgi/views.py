"""The REST representation of action results.

Actions answer data (:class:`~zaqar_core.api.request.Result`); REST shows
it with hrefs, ``links`` and ``Location`` headers, and a few statuses of
its own (300 for the version list). One view per action that needs one;
the others are shown as they are.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from zaqar_core.api import errors
from zaqar_core.api.request import Request
from zaqar_core.api.request import Result
from zaqar_core.api.v2 import registry
from zaqar_plugins.transport.wsgi import hrefs


@dataclasses.dataclass
class Shown:
    """A response to send: status, JSON-able body (or None), headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Call:
    """What a view knows of the request: the action, the API request and
    the query string as sent (for ``links``)."""

    action: registry.Action
    req: Request
    query: dict[str, Any]

    @property
    def queue(self) -> str:
        return self.req.params['queue_name']


View = Callable[[Call, Result], Shown]


def render(call: Call, result: Result) -> Shown:
    """The response for ``result``."""
    view = _VIEWS.get(call.action.base)
    if view is None:
        return Shown(result.status, result.body)
    return view(call, result)


def error_headers(call: Call, error: errors.ApiError) -> dict[str, str]:
    """Headers REST adds to ``error`` (besides the error's own)."""
    if call.action.base == 'subscription_create' and error.status == 409:
        # The collection the existing subscription is in, as upstream.
        return {'Location': hrefs.subscriptions(call.queue, call.req.kind)}
    return {}


def message(call: Call, msg: dict[str, Any]) -> dict[str, Any]:
    shown = {'id': msg['id'],
             'href': hrefs.message(call.queue, msg['id'], msg['claim_id'],
                                   call.req.kind),
             'ttl': msg['ttl'], 'age': msg['age'], 'body': msg['body']}
    if 'checksum' in msg:
        shown['checksum'] = msg['checksum']
    return shown


def _links(call: Call, result: Result, path: str) -> list[dict[str, str]]:
    if result.next is None:
        return []
    return hrefs.next_link(path, call.query, result.next)


def _versions(call: Call, result: Result) -> Shown:
    # REST lists versions as "multiple choices".
    return Shown(300, result.body)


def _home(call: Call, result: Result) -> Shown:
    return Shown(result.status, result.body,
                 {'Content-Type': 'application/json-home',
                  'Cache-Control': 'max-age=86400'})


def _queue_list(call: Call, result: Result) -> Shown:
    kind = call.req.kind
    queues = [dict(item, href=hrefs.queue(item['name'], kind))
              for item in result.body[kind]]
    body = {kind: queues,
            'links': _links(call, result, hrefs.collection(kind))}
    if 'count' in result.body:
        body['count'] = result.body['count']
    return Shown(result.status, body)


def _queue_create(call: Call, result: Result) -> Shown:
    return Shown(result.status, None,
                 {'Location': hrefs.queue(call.queue, call.req.kind)})


def _queue_stats(call: Call, result: Result) -> Shown:
    stats = dict(result.body['messages'])
    for end in ('oldest', 'newest'):
        if end in stats:
            found = stats[end]
            stats[end] = {'href': hrefs.message(call.queue, found['id'],
                                                kind=call.req.kind),
                          'age': found['age'], 'created': found['created']}
    return Shown(result.status, {'messages': stats})


def _message_post(call: Call, result: Result) -> Shown:
    ids = result.body['message_ids']
    path = hrefs.messages(call.queue, call.req.kind)
    return Shown(result.status,
                 {'resources': [f'{path}/{i}' for i in ids]},
                 {'Location': f'{path}?ids={",".join(ids)}'})


def _message_list(call: Call, result: Result) -> Shown:
    return Shown(result.status, {
        'messages': [message(call, m) for m in result.body['messages']],
        'links': _links(call, result,
                        hrefs.messages(call.queue, call.req.kind))})


def _messages(call: Call, result: Result) -> Shown:
    return Shown(result.status, {
        'messages': [message(call, m) for m in result.body['messages']]})


def _message_get(call: Call, result: Result) -> Shown:
    return Shown(result.status, message(call, result.body))


def _claim_create(call: Call, result: Result) -> Shown:
    if result.status == 204:
        return Shown(204)
    return Shown(result.status, {
        'messages': [message(call, m) for m in result.body['messages']]},
        {'Location': hrefs.claim(call.queue, result.body['claim_id'])})


def _claim_get(call: Call, result: Result) -> Shown:
    claim = result.body
    return Shown(result.status, {
        'age': claim['age'], 'ttl': claim['ttl'],
        'messages': [message(call, m) for m in claim['messages']],
        'href': hrefs.claim(call.queue, claim['id'])})


def _subscription_list(call: Call, result: Result) -> Shown:
    path = hrefs.subscriptions(call.queue, call.req.kind)
    return Shown(result.status, {
        'subscriptions': result.body['subscriptions'],
        'links': _links(call, result, path)})


def _subscription_create(call: Call, result: Result) -> Shown:
    return Shown(result.status, result.body, {
        'Location': hrefs.subscriptions(call.queue, call.req.kind)})


def _at_itself(call: Call, result: Result) -> Shown:
    # Changes answer where the changed resource is.
    return Shown(result.status, result.body, {'Location': call.req.path})


def _listing(key: str, path: Callable[[], str],
             href: Callable[[str], str]) -> View:
    """The view of a page of pools or flavors: an href for each."""
    def view(call: Call, result: Result) -> Shown:
        items = [dict(item, href=href(item['name']))
                 for item in result.body[key]]
        return Shown(result.status,
                     {key: items, 'links': _links(call, result, path())},
                     {'Content-Location': path()})
    return view


def _created(param: str, href: Callable[[str], str]) -> View:
    def view(call: Call, result: Result) -> Shown:
        return Shown(result.status, None,
                     {'Location': href(call.req.params[param])})
    return view


def _with_href(href: Callable[[str], str]) -> View:
    def view(call: Call, result: Result) -> Shown:
        return Shown(result.status, dict(result.body,
                                         href=href(result.body['name'])))
    return view


_VIEWS: dict[str, View] = {
    'get_versions': _versions,
    'get_home_doc': _home,
    'queue_list': _queue_list,
    'queue_create': _queue_create,
    'queue_get_stats': _queue_stats,
    'message_post': _message_post,
    'message_list': _message_list,
    'message_get_many': _messages,
    'message_get': _message_get,
    'claim_create': _claim_create,
    'claim_get': _claim_get,
    'subscription_list': _subscription_list,
    'subscription_create': _subscription_create,
    'subscription_update': _at_itself,
    'subscription_confirm': _at_itself,
    'pool_list': _listing('pools', hrefs.pools, hrefs.pool),
    'pool_create': _created('pool_name', hrefs.pool),
    'pool_get': _with_href(hrefs.pool),
    'pool_update': _with_href(hrefs.pool),
    'flavor_list': _listing('flavors', hrefs.flavors, hrefs.flavor),
    'flavor_create': _created('flavor_name', hrefs.flavor),
    'flavor_get': _with_href(hrefs.flavor),
    'flavor_update': _with_href(hrefs.flavor),
}
