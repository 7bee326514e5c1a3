"""One v2 action over either transport, for the table-driven tests
(``test_transports.py``): an action and its arguments are written once;
each transport's adapter sends them as its own contract says and turns
the answer into an :class:`Outcome`, which both must agree on.

Arguments are the action's parameters with JSON values (``limit=2``,
``echo=True``, ``ids=[...]``) and, apart, its *document* (REST's request
body). REST puts path parameters in the path (the routes below are the
REST contract, facts 1.2, written here rather than taken from the
server), the others in the query string as strings (``true``, ``2``,
``a,b``), the document in a JSON body. WebSocket puts all of them in the
request's ``body`` object, as JSON values (upstream's spellings:
``message_ids`` for ``ids``, ``metadata`` for a queue's document,
``patch`` for a queue update's).

The answer is normalised to what both transports say, in WebSocket's
shapes:

* the status; REST lists versions with 300 ("multiple choices"), which is
  WebSocket's 200;
* no data (None) for REST's empty bodies, WebSocket's ``{}`` and its
  ``claim_create`` 204 ``{"claim_id": null, "messages": []}``;
* errors as ``{"title", "description"}`` (WebSocket's ``error`` repeats
  the description: checked, then dropped);
* hrefs as ids: a posted message's ``resources`` as ``message_ids``, a
  message's ``href`` as its ``id`` and ``claim_id`` (REST's
  ``?claim_id=``), a claim's ``Location`` or ``href`` as its id, stats'
  ``oldest``/``newest`` hrefs as ids; each href is checked on the way;
* the next page of a listing as ``next``: the parameters that differ from
  the request's (REST: its ``links``; WebSocket: its ``next``), as
  strings; no ``next`` when there is no next page;
* what changes from run to run checked and dropped: ``age``, a stat's
  ``created``, a health probe's ``seconds``.

:class:`Names` then writes ids as symbols (``$m0``), so that expected
data can name them and two runs (one per transport, each in a project
of its own) compare equal.
"""

from __future__ import annotations

import dataclasses
import re
import urllib.parse
from collections.abc import Callable
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import requests

from .helpers import JSON_PATCH
from .helpers import ApiClient
from .helpers import Server
from .helpers import last_segment
from .wsclient import WsClient

# -- the servers -----------------------------------------------------------

SIGNING_KEY = 'transports-signing-key'
ENCRYPTION_KEY = 'transports-encryption-key'
#: ``[drivers:transport:websocket] max_frame_size``.
MAX_FRAME = 1024 * 1024
#: Two rules refused to the role ``mute`` (and allowed to the others).
POLICY = """\
"messages:create": "not role:mute"
"queues:delete": "not role:mute"
"""


def sections(tmp_path_factory: pytest.TempPathFactory
             ) -> dict[str, dict[str, Any]]:
    """One configuration for every test of both transports, so that they
    share one pair of servers per backend: admin mode (the health check),
    a signing key (``queue_share``), an encryption key, the policy above,
    and the WebSocket frame limit (its default, said explicitly)."""
    path = Path(tmp_path_factory.getbasetemp()) / 'transports-policy.yaml'
    if not path.exists():
        path.write_text(POLICY)
    return {'DEFAULT': {'admin_mode': True},
            'signed_url': {'secret_key': SIGNING_KEY},
            'transport': {'message_encryption_key': ENCRYPTION_KEY},
            'oslo_policy': {'policy_file': str(path)},
            'drivers:transport:websocket': {'max_frame_size': MAX_FRAME}}


@dataclasses.dataclass(frozen=True)
class Servers:
    """An HTTP server and the WebSocket server beside it, on its stores."""

    http: Server
    ws: Server


def start_servers(make_server: Callable[..., Server],
                  make_ws_server: Callable[..., Server],
                  tmp_path_factory: pytest.TempPathFactory) -> Servers:
    config = sections(tmp_path_factory)
    return Servers(make_server(**config), make_ws_server(**config))


QUEUE = '/v2/queues/{queue_name}'
MESSAGES = QUEUE + '/messages'
CLAIMS = QUEUE + '/claims'
SUBSCRIPTIONS = QUEUE + '/subscriptions'

#: action -> (method, path template): the REST contract.
ROUTES: dict[str, tuple[str, str]] = {
    'get_versions': ('GET', '/'),
    'get_home_doc': ('GET', '/v2/'),
    'ping_node': ('GET', '/v2/ping'),
    'ping_node_head': ('HEAD', '/v2/ping'),
    'check_node_health': ('GET', '/v2/health'),
    'queue_list': ('GET', '/v2/queues'),
    'queue_create': ('PUT', QUEUE),
    'queue_get': ('GET', QUEUE),
    'queue_update': ('PATCH', QUEUE),
    'queue_delete': ('DELETE', QUEUE),
    'queue_get_stats': ('GET', QUEUE + '/stats'),
    'queue_purge': ('POST', QUEUE + '/purge'),
    'queue_share': ('POST', QUEUE + '/share'),
    'message_post': ('POST', MESSAGES),
    'message_list': ('GET', MESSAGES),
    'message_get_many': ('GET', MESSAGES),  # with ?ids=
    'message_delete_many': ('DELETE', MESSAGES),  # with ?ids= or ?pop=
    'message_get': ('GET', MESSAGES + '/{message_id}'),
    'message_delete': ('DELETE', MESSAGES + '/{message_id}'),
    'claim_create': ('POST', CLAIMS),
    'claim_get': ('GET', CLAIMS + '/{claim_id}'),
    'claim_update': ('PATCH', CLAIMS + '/{claim_id}'),
    'claim_delete': ('DELETE', CLAIMS + '/{claim_id}'),
    'subscription_list': ('GET', SUBSCRIPTIONS),
    'subscription_create': ('POST', SUBSCRIPTIONS),
    'subscription_get': ('GET', SUBSCRIPTIONS + '/{subscription_id}'),
    'subscription_update': ('PATCH', SUBSCRIPTIONS + '/{subscription_id}'),
    'subscription_delete': ('DELETE', SUBSCRIPTIONS + '/{subscription_id}'),
    'subscription_confirm': ('PUT',
                             SUBSCRIPTIONS + '/{subscription_id}/confirm'),
}

#: Queue actions that topics have too (``topic_<action>`` without the
#: ``queue_`` prefix), at ``/v2/topics/...``: all but share and claims.
TOPIC_TWINS = (
    'queue_list', 'queue_create', 'queue_get', 'queue_update',
    'queue_delete', 'queue_get_stats', 'queue_purge', 'message_post',
    'message_list', 'message_get_many', 'message_delete_many', 'message_get',
    'message_delete', 'subscription_list', 'subscription_create',
    'subscription_get', 'subscription_update', 'subscription_delete',
    'subscription_confirm')


def topic_twin(action: str) -> str:
    return 'topic_' + action.removeprefix('queue_')


for _action in TOPIC_TWINS:
    _method, _path = ROUTES[_action]
    ROUTES[topic_twin(_action)] = (
        _method, _path.replace('/v2/queues', '/v2/topics', 1))

#: The parameter a WebSocket body names otherwise (upstream's spelling).
WS_NAMES = {'ids': 'message_ids'}
#: The body key holding the document of these actions over WebSocket.
WS_DOCUMENT_KEYS = {'queue_create': 'metadata', 'queue_update': 'patch'}

#: No document (REST: no request body).
NO_DOC: Any = type('NoDocument', (), {'__repr__': lambda self: 'NO_DOC'})()

_PATH_PARAM = re.compile(r'\{(\w+)\}')
_CREATED = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$')


def base(action: str) -> str:
    """The queue action a topic twin runs (itself for the others)."""
    if not action.startswith('topic_'):
        return action
    rest = action.removeprefix('topic_')
    return rest if rest.startswith(('message_', 'subscription_')) \
        else 'queue_' + rest


def kind(action: str) -> str:
    return 'topics' if action.startswith('topic_') else 'queues'


@dataclasses.dataclass
class Outcome:
    """What an action answered, in a form both transports share."""

    status: int
    data: Any = None


class Like:
    """Matches any string that ``pattern`` matches in full (for expected
    data that cannot be pinned: a signature, a time)."""

    def __init__(self, pattern: str) -> None:
        self.pattern = re.compile(pattern)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and \
            self.pattern.fullmatch(other) is not None

    def __hash__(self) -> int:
        return hash(self.pattern.pattern)

    def __repr__(self) -> str:
        return f'Like({self.pattern.pattern!r})'


class Matches:
    """Matches any value ``check`` accepts (what ``Like`` cannot say)."""

    def __init__(self, check: Callable[[Any], bool], what: str) -> None:
        self.check = check
        self.what = what

    def __eq__(self, other: object) -> bool:
        return bool(self.check(other))

    def __hash__(self) -> int:
        return hash(self.what)

    def __repr__(self) -> str:
        return f'Matches({self.what})'


# -- REST -----------------------------------------------------------------

class Rest:
    """Sends actions as HTTP requests to the REST server."""

    name = 'rest'

    def __init__(self, url: str, project_id: str, client_id: str) -> None:
        self.api = ApiClient(url, project_id=project_id, client_id=client_id)

    def call(self, action: str, args: Mapping[str, Any], doc: Any = NO_DOC,
             headers: Mapping[str, Any] | None = None) -> Outcome:
        method, template = ROUTES[action]
        in_path = _PATH_PARAM.findall(template)
        path = _PATH_PARAM.sub(
            lambda found: urllib.parse.quote(str(args[found.group(1)]),
                                             safe=''), template)
        query = {k: query_value(v) for k, v in args.items()
                 if k not in in_path}
        sent = dict(headers or {})
        if base(action) == 'queue_update':
            sent['Content-Type'] = JSON_PATCH
        kwargs: dict[str, Any] = {}
        if doc is not NO_DOC:
            kwargs['json'] = doc
        resp = self.api.request(method, path, params=query or None,
                                headers=sent, **kwargs)
        return _from_rest(action, args, query, resp)

    def close(self) -> None:
        self.api.session.close()


def query_value(value: Any) -> str:
    """A JSON argument as a query string writes it."""
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, list):
        return ','.join(str(v) for v in value)
    return str(value)


def _from_rest(action: str, args: Mapping[str, Any], query: dict[str, str],
               resp: requests.Response) -> Outcome:
    status = resp.status_code
    body = resp.json() if resp.content else None
    if status >= 400:
        assert isinstance(body, dict), (status, resp.text)
        return Outcome(status, _error(body))
    name = base(action)
    if name == 'get_versions':
        # REST lists versions as "multiple choices"; WebSocket says 200.
        assert status == 300, (status, body)
        status = 200
    if status == 204:
        assert not resp.content, resp.content
    queue = args.get('queue_name')
    where = f'/v2/{kind(action)}/{queue}'
    if name == 'message_post':
        hrefs = body['resources']
        ids = [last_segment(h) for h in hrefs]
        assert hrefs == [f'{where}/messages/{i}' for i in ids], hrefs
        assert resp.headers['Location'] == \
            f'{where}/messages?ids={",".join(ids)}', resp.headers
        body = {'message_ids': ids}
    elif name == 'message_get':
        body = _rest_message(body, where)
    elif name in ('message_list', 'message_get_many'):
        body = dict(body, messages=[_rest_message(m, where)
                                    for m in body['messages']])
    elif name == 'claim_create' and status == 201:
        claim_id = last_segment(resp.headers['Location'])
        assert resp.headers['Location'] == f'{where}/claims/{claim_id}'
        body = {'claim_id': claim_id,
                'messages': [_rest_message(m, where)
                             for m in body['messages']]}
    elif name == 'claim_get':
        href = body.pop('href')
        body = {'id': last_segment(href), **body,
                'messages': [_rest_message(m, where)
                             for m in body['messages']]}
        assert href == f'{where}/claims/{body["id"]}', href
    elif name == 'queue_list':
        collection = kind(action)
        for item in body[collection]:
            assert item.pop('href') == \
                f'/v2/{collection}/{item["name"]}', item
    elif name == 'queue_get_stats':
        for end in ('oldest', 'newest'):
            if end in body['messages']:
                found = body['messages'][end]
                href = found.pop('href')
                assert urllib.parse.urlsplit(href).path.startswith(
                    f'{where}/messages/'), href
                found['id'] = last_segment(href)
    elif name in ('queue_create', 'subscription_create',
                  'subscription_update', 'subscription_confirm'):
        _check_location(name, resp, where, args)
    if isinstance(body, dict) and 'links' in body:
        links = body.pop('links')
        if links:
            [link] = links
            assert link['rel'] == 'next', link
            target = urllib.parse.urlsplit(link['href'])
            assert target.path == urllib.parse.urlsplit(resp.url).path, link
            page = dict(urllib.parse.parse_qsl(target.query))
            body['next'] = {k: v for k, v in page.items()
                            if query.get(k) != v}
    return Outcome(status, _tidy(body))


def _check_location(name: str, resp: requests.Response, where: str,
                    args: Mapping[str, Any]) -> None:
    if name == 'queue_create':
        expected = where
    elif name == 'subscription_create':
        expected = f'{where}/subscriptions'
    else:
        expected = f'{where}/subscriptions/{args["subscription_id"]}'
        if name == 'subscription_confirm':
            expected += '/confirm'
    assert resp.headers.get('Location') == expected, resp.headers


def _rest_message(msg: dict[str, Any], where: str) -> dict[str, Any]:
    msg = dict(msg)
    href = urllib.parse.urlsplit(msg.pop('href'))
    assert href.path == f'{where}/messages/{msg["id"]}', href
    query = urllib.parse.parse_qs(href.query)
    assert set(query) <= {'claim_id'}, href
    msg['claim_id'] = query['claim_id'][0] if query else None
    return msg


def _error(body: dict[str, Any]) -> dict[str, Any]:
    assert isinstance(body.get('title'), str), body
    return {'title': body['title'], 'description': body.get('description')}


# -- WebSocket ------------------------------------------------------------

class Ws:
    """Sends actions as requests on one WebSocket connection."""

    name = 'ws'

    def __init__(self, url: str, project_id: str, client_id: str) -> None:
        self.client = WsClient(url, project_id=project_id,
                               client_id=client_id)

    def call(self, action: str, args: Mapping[str, Any], doc: Any = NO_DOC,
             headers: Mapping[str, Any] | None = None) -> Outcome:
        body = ws_body(action, args, doc)
        sent = {k: v for k, v in {**self.client.headers,
                                  **(headers or {})}.items()
                if v is not None}
        reply = self.client.request(action, body, headers=sent)
        if reply.request['action'] is None:
            # A frame the server could not decode: nothing to echo.
            assert reply.status == 400, reply
            assert reply.request == {'action': None, 'body': {},
                                     'headers': {}, 'api': 'v2'}, reply
        else:
            assert reply.request == {'action': action, 'body': body,
                                     'headers': sent, 'api': 'v2'}, reply
        return _from_ws(action, reply.status, reply.body)

    def close(self) -> None:
        self.client.close()


def ws_body(action: str, args: Mapping[str, Any], doc: Any) -> dict:
    """The WebSocket request body for ``action(**args)`` with ``doc``."""
    body = {WS_NAMES.get(k, k): v for k, v in args.items()}
    if doc is NO_DOC:
        return body
    key = WS_DOCUMENT_KEYS.get(base(action))
    if key is not None:
        body[key] = doc
    else:
        assert isinstance(doc, dict), \
            f'{action}: a WebSocket body cannot hold a {type(doc)} document'
        assert not set(doc) & set(body), (doc, body)
        body.update(doc)
    return body


def _from_ws(action: str, status: int, body: Any) -> Outcome:
    if status >= 400:
        assert isinstance(body, dict), (status, body)
        # python-zaqarclient reads "error".
        assert body.get('error') == body.get('description',
                                             body.get('title')), body
        return Outcome(status, _error(body))
    name = base(action)
    if name == 'message_get':
        assert set(body) == {'messages'}, body
        body = body['messages']
    elif name == 'claim_create' and status == 204:
        # Upstream's shape of "nothing to claim".
        assert body == {'claim_id': None, 'messages': []}, body
        body = None
    if body == {}:
        body = None
    if isinstance(body, dict) and 'next' in body:
        body = dict(body, next={k: query_value(v)
                                for k, v in body['next'].items()})
    return Outcome(status, _tidy(body))


# -- both -----------------------------------------------------------------

# Data of the client's own, never looked into.
_OPAQUE = frozenset(('body', 'metadata', 'options'))


def _tidy(data: Any) -> Any:
    """``data`` without what changes from run to run (checked first)."""
    if isinstance(data, list):
        return [_tidy(item) for item in data]
    if not isinstance(data, dict):
        return data
    tidy = {}
    for key, value in data.items():
        if key in _OPAQUE:
            tidy[key] = value
        elif key == 'age':
            assert isinstance(value, int) and value >= 0, data
        elif key == 'created':
            assert _CREATED.fullmatch(value), data
        elif key == 'seconds':
            assert isinstance(value, int | float) and value >= 0, data
        else:
            tidy[key] = _tidy(value)
    return tidy


#: Keys whose values are ids (or lists of ids), and of what: ``None``
#: for the kind the enclosing data holds.
ID_KEYS: dict[str, str | None] = {
    'id': None, 'message_ids': 'message', 'claim_id': 'claim',
    'subscription_id': 'subscription', 'marker': None}
#: Keys holding data of one kind.
KIND_KEYS = {'messages': 'message', 'oldest': 'message',
             'newest': 'message', 'subscriptions': 'subscription'}
#: What the top level of an action's data is.
TOP_KINDS = {'message_get': 'message', 'claim_get': 'claim',
             'subscription_get': 'subscription'}


class Names:
    """Symbols for the ids of one run: ``$m0`` in arguments stands for the
    id saved as ``m0``, and ids in outcomes are written as their symbols
    (ids saved by no one as ``$new0``, ``$new1``...).

    Ids are told apart by kind (message, claim, subscription), since the
    SQL stores number each kind from 1. In error descriptions, long ids
    (the project's, Redis' and claims' uuids) are replaced too.
    """

    def __init__(self, project_id: str) -> None:
        self.project_id = project_id
        self.values: dict[str, str] = {'project': project_id}
        self.kinds: dict[str, str] = {'project': 'project'}
        self._new = 0

    def save(self, name: str, value: str, of: str) -> None:
        self.values[name] = value
        self.kinds[name] = of

    def resolve(self, data: Any) -> Any:
        """``data`` with every ``$name`` string replaced by its value."""
        if isinstance(data, str) and data.startswith('$'):
            return self.values[data[1:]]
        if isinstance(data, list):
            return [self.resolve(item) for item in data]
        if isinstance(data, dict):
            return {k: self.resolve(v) for k, v in data.items()}
        return data

    def symbolic(self, action: str, outcome: Outcome) -> Outcome:
        data = outcome.data
        if outcome.status >= 400:
            description = data['description']
            if isinstance(description, str):
                # Long ids only: the SQL stores' short numbers could be
                # part of anything.
                for name, value in self.values.items():
                    if len(value) >= 8:
                        description = description.replace(value,
                                                          f'${name}')
            return Outcome(outcome.status, dict(data,
                                                description=description))
        return Outcome(outcome.status, self._walk(
            data, TOP_KINDS.get(base(action)), None))

    def _walk(self, data: Any, context: str | None,
              id_of: str | None) -> Any:
        """``data`` with ids written as symbols; ``context`` is the kind of
        the data, ``id_of`` the kind of id ``data`` is (None if it is no
        id)."""
        if isinstance(data, str):
            return self._symbol(data, id_of) if id_of else \
                self._symbol(data, 'project', create=False)
        if isinstance(data, list):
            return [self._walk(item, context, id_of) for item in data]
        if not isinstance(data, dict):
            return data
        # Sorted, so that new ids get the same symbols in both runs.
        shown = {}
        for key in sorted(data):
            value = data[key]
            if key in _OPAQUE:
                shown[key] = value
            elif key in ID_KEYS:
                kind = ID_KEYS[key] or context
                shown[key] = self._walk(value, context, kind) \
                    if key != 'marker' else \
                    self._marker(value)
            else:
                shown[key] = self._walk(value, KIND_KEYS.get(key, context),
                                        None)
        return {key: shown[key] for key in data}

    def _marker(self, value: str) -> str:
        for name, known in self.values.items():
            if known == value:
                return f'${name}'
        return value

    def _symbol(self, value: str, of: str, create: bool = True) -> str:
        for name, known in self.values.items():
            if known == value and self.kinds[name] == of:
                return f'${name}'
        if not create:
            return value
        name = f'new{self._new}'
        self._new += 1
        self.save(name, value, of)
        return f'${name}'
