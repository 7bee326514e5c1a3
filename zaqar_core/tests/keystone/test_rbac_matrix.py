"""Every policy rule against every kind of caller, over HTTP, with real
Keystone tokens: the RBAC matrix.

One table (:data:`ROWS`): for each route of the v2 API (each action of
the registry; the stack has pooling on, so pools and flavors too), the
request to make on resources of demo's project, and the status each
persona gets:

``admin``
    a user with the ``admin`` role on demo's project;
``member``
    demo (``member``);
``reader``
    a user with the ``reader`` role on demo's project;
``other_project``
    alt, a member of another project, naming demo's project in
    ``X-Project-Id`` (its token's project wins: it reaches only its own);
``signed``
    no token, a pre-signed URL for that path and method: from ``/share``
    where it can grant the path (messages, subscriptions and claims of a
    queue), else signed with the server's ``[signed_url] secret_key``
    (what only its operator can make);
``signed_other_method``, ``signed_other_path``
    a valid pre-signed URL, for the same path and another method, or
    for the same method and another path.

The rules keep upstream's defaults (``""`` but for health, pools and
flavors, ``role:admin``), so a reader may do whatever a member may.

Each cell runs on resources of its own and checks, beside the status,
what the request did to demo's project, through demo's eyes: a request
allowed there changes what the row says it changes (a queue created,
metadata updated, a message gone...) and a read shows demo's data (a
marker in it); a refused request, or one that landed in another
project, changes nothing of demo's and shows none of its data.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import re
import uuid
from collections.abc import Callable
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

import pytest
import requests

from zaqar_core import policies
from zaqar_core.api.v2 import actions  # noqa: F401 (registers them)
from zaqar_core.api.v2 import registry
from zaqar_core.tests.functional.helpers import JSON_PATCH
from zaqar_core.tests.functional.helpers import ApiClient
from zaqar_core.tests.functional.helpers import last_segment
from zaqar_testing import stack as stack_files

from .conftest import Stack
from .conftest import User
from .conftest import unique

PERSONAS = ('admin', 'member', 'reader', 'other_project', 'signed',
            'signed_other_method', 'signed_other_path')
#: Personas acting in demo's project when they get a 2xx.
IN_PROJECT = frozenset({'admin', 'member', 'reader', 'signed'})
#: Rules of zaqar_core.policies that no request is enforced against:
#: the ones the others refer to.
BASE_RULES = frozenset({'context_is_admin', 'admin_or_owner'})
#: Persona -> key of stack.users.
USER_OF = {'admin': 'project_admin', 'member': 'demo', 'reader': 'reader',
           'other_project': 'alt'}
#: A refused signature: falcon's bare 404, as upstream.
REFUSED_SIGNATURE = 404
FORBIDDEN = 403


# -- what a cell sets up, sends and looks at -------------------------------

@dataclasses.dataclass
class Cell:
    """The resources of one cell, in demo's project."""

    stack: Stack
    kind: str  # 'queues' or 'topics'
    name: str
    marker: str  # in demo's data only: a read that shows it leaks it
    message_id: str = ''
    claim_id: str = ''
    subscription_id: str = ''

    @property
    def demo(self) -> ApiClient:
        return self.stack.api('demo')

    @property
    def base(self) -> str:
        return f'/v2/{self.kind}/{self.name}'

    @property
    def admin(self) -> ApiClient:
        """demo's project's admin: pools are theirs to make."""
        return self.stack.api('project_admin')

    @property
    def pool_uri(self) -> str:
        """A store the stack's server reaches, of this cell's own."""
        return f'sqlite:///{stack_files.POOL_DIR / self.name}.sqlite'


@dataclasses.dataclass(frozen=True)
class Call:
    method: str
    path: str
    params: dict[str, str] | None = None
    json: Any = None
    headers: dict[str, str] | None = None


def _setup_none(cell: Cell) -> None:
    pass


def _setup_queue(cell: Cell) -> None:
    resp = cell.demo.put(cell.base, json={'marker': cell.marker})
    assert resp.status_code == 201, resp.text


def _setup_messages(cell: Cell) -> None:
    _setup_queue(cell)
    resp = cell.demo.post(f'{cell.base}/messages', json={
        'messages': [{'body': {'marker': cell.marker}, 'ttl': 300}]})
    assert resp.status_code == 201, resp.text
    cell.message_id = last_segment(resp.json()['resources'][0])


def _setup_claim(cell: Cell) -> None:
    _setup_messages(cell)
    resp = cell.demo.post(f'{cell.base}/claims',
                          json={'ttl': 300, 'grace': 60})
    assert resp.status_code == 201, resp.text
    cell.claim_id = last_segment(resp.headers['Location'])


def _setup_subscription(cell: Cell) -> None:
    _setup_queue(cell)
    # Nothing listens there; no message is posted and the subscription
    # is confirmed (if at all) with confirmed=true: nothing is delivered.
    resp = cell.demo.post(f'{cell.base}/subscriptions', json={
        'subscriber': f'http://127.0.0.1:9/{cell.marker}', 'ttl': 600})
    assert resp.status_code == 201, resp.text
    cell.subscription_id = resp.json()['subscription_id']


def _setup_pool(cell: Cell) -> None:
    # Weight 0 and a flavor of its own: no other test's queue is placed
    # on it, even once a flavor_delete row untags it.
    resp = cell.admin.put(f'/v2/pools/{cell.name}',
                          json={'uri': cell.pool_uri, 'weight': 0,
                                'flavor': cell.name})
    assert resp.status_code == 201, resp.text


def _setup_flavor(cell: Cell) -> None:
    _setup_pool(cell)
    resp = cell.admin.put(f'/v2/flavors/{cell.name}',
                          json={'pool_list': [cell.name]})
    assert resp.status_code == 201, resp.text


def _pool(cell: Cell) -> Any:
    resp = cell.admin.get(f'/v2/pools/{cell.name}')
    assert resp.status_code in (200, 404), resp.text
    return resp.json() if resp.status_code == 200 else None


def _flavor(cell: Cell) -> Any:
    resp = cell.demo.get(f'/v2/flavors/{cell.name}')
    assert resp.status_code in (200, 404), resp.text
    return resp.json() if resp.status_code == 200 else None


def _exists(cell: Cell) -> bool:
    resp = cell.demo.get(f'/v2/{cell.kind}', params={'name': cell.name})
    assert resp.status_code == 200, resp.text
    return cell.name in [q['name'] for q in resp.json()[cell.kind]]


def _metadata(cell: Cell) -> Any:
    resp = cell.demo.get(cell.base)
    assert resp.status_code == 200, resp.text
    return resp.json()


def _stats(cell: Cell) -> Any:
    """The message counts and the oldest and newest messages, without
    their ages: those grow with the clock between two probes."""
    resp = cell.demo.get(f'{cell.base}/stats')
    assert resp.status_code == 200, resp.text
    stats = resp.json()['messages']
    for end in ('oldest', 'newest'):
        if end in stats:
            stats[end].pop('age')
    return stats


def _claim(cell: Cell) -> Any:
    resp = cell.demo.get(f'{cell.base}/claims/{cell.claim_id}')
    assert resp.status_code == 200, resp.text
    return resp.json()['ttl']


def _subscriptions(cell: Cell) -> Any:
    resp = cell.demo.get(f'{cell.base}/subscriptions')
    assert resp.status_code == 200, resp.text
    return sorted((s['id'], s['ttl'], s['confirmed'])
                  for s in resp.json()['subscriptions'])


def _nothing(cell: Cell) -> Any:
    return None


SETUP = {'none': _setup_none, 'queue': _setup_queue,
         'messages': _setup_messages, 'claim': _setup_claim,
         'subscription': _setup_subscription, 'pool': _setup_pool,
         'flavor': _setup_flavor}
PROBES: dict[str, Callable[[Cell], Any]] = {
    'exists': _exists, 'metadata': _metadata, 'stats': _stats,
    'claim': _claim, 'subscriptions': _subscriptions, 'pool': _pool,
    'flavor': _flavor, 'none': _nothing}


@dataclasses.dataclass(frozen=True)
class Row:
    """One route: the request, and what each persona gets.

    Attributes:
        action: the registry action it exercises (``None``: a rule with
            no route).
        rule: the policy rule enforced on it.
        setup: what demo's project holds first (see :data:`SETUP`).
        request: the request, given the cell.
        probe: what of demo's project the request may change (see
            :data:`PROBES`).
        changes: whether an allowed request changes what ``probe``
            sees.
        reveals: whether an allowed request shows demo's data (the
            cell's marker).
        expected: persona -> status.
    """

    action: str | None
    rule: str
    setup: str
    request: Callable[[Cell], Call]
    probe: str
    changes: bool
    reveals: bool
    expected: dict[str, int]


def row(action: str | None, rule: str, setup: str,
        request: Callable[[Cell], Call], ok: int, *, other: int,
        probe: str = 'none', changes: bool = False, reveals: bool = False,
        **overrides: int) -> Row:
    """A row where every persona in demo's project gets ``ok``, the
    other project ``other``, a mismatched signature 404; ``overrides``
    by persona."""
    expected = {persona: ok for persona in IN_PROJECT}
    expected.update(other_project=other,
                    signed_other_method=REFUSED_SIGNATURE,
                    signed_other_path=REFUSED_SIGNATURE, **overrides)
    return Row(action, rule, setup, request, probe, changes, reveals,
               expected)


def _rows(kind: str) -> list[Row]:
    """The rows of the queue routes (``queues``) or of their topic twins
    (``topics``): the same behaviour under another path and action name,
    but queue_share, which has no topic twin."""
    def name(action: str) -> str:
        return action if kind == 'queues' else 'topic_' + \
            action.removeprefix('queue_')

    rule = 'queues' if kind == 'queues' else 'topics'
    patch = {'Content-Type': JSON_PATCH}
    meta = [{'op': 'replace', 'path': '/metadata/marker', 'value': 'new'}]
    rows = [
        row(name('queue_list'), f'{rule}:get_all', 'queue',
            lambda c: Call('GET', f'/v2/{c.kind}', params={
                'name': c.name, 'detailed': 'true'}),
            200, other=200, reveals=True),
        row(name('queue_create'), f'{rule}:create', 'none',
            lambda c: Call('PUT', c.base, json={'marker': 'made'}),
            201, other=201, probe='exists', changes=True),
        row(name('queue_get'), f'{rule}:get', 'queue',
            lambda c: Call('GET', c.base), 200, other=200, reveals=True),
        row(name('queue_update'), f'{rule}:update', 'queue',
            lambda c: Call('PATCH', c.base, json=meta, headers=patch),
            200, other=404, probe='metadata', changes=True),
        row(name('queue_delete'), f'{rule}:delete', 'queue',
            lambda c: Call('DELETE', c.base), 204, other=204,
            probe='exists', changes=True),
        row(name('queue_get_stats'), f'{rule}:stats', 'messages',
            lambda c: Call('GET', f'{c.base}/stats'), 200, other=200),
        row(name('queue_purge'), f'{rule}:purge', 'messages',
            lambda c: Call('POST', f'{c.base}/purge', json={
                'resource_types': ['messages']}),
            204, other=204, probe='stats', changes=True),
        # Messages.
        row(name('message_post'), 'messages:create', 'queue',
            lambda c: Call('POST', f'{c.base}/messages', json={
                'messages': [{'body': 'posted', 'ttl': 60}]}),
            201, other=201, probe='stats', changes=True),
        row(name('message_list'), 'messages:get_all', 'messages',
            lambda c: Call('GET', f'{c.base}/messages'),
            200, other=200, reveals=True),
        row(name('message_get_many'), 'messages:get_all', 'messages',
            lambda c: Call('GET', f'{c.base}/messages',
                           params={'ids': c.message_id}),
            200, other=404, reveals=True),
        row(name('message_delete_many'), 'messages:delete_all', 'messages',
            lambda c: Call('DELETE', f'{c.base}/messages',
                           params={'ids': c.message_id}),
            204, other=204, probe='stats', changes=True),
        row(name('message_get'), 'messages:get', 'messages',
            lambda c: Call('GET', f'{c.base}/messages/{c.message_id}'),
            200, other=404, reveals=True),
        row(name('message_delete'), 'messages:delete', 'messages',
            lambda c: Call('DELETE', f'{c.base}/messages/{c.message_id}'),
            204, other=204, probe='stats', changes=True),
        # Subscriptions.
        row(name('subscription_list'), 'subscription:get_all',
            'subscription',
            lambda c: Call('GET', f'{c.base}/subscriptions'),
            200, other=200, reveals=True),
        row(name('subscription_create'), 'subscription:create', 'queue',
            lambda c: Call('POST', f'{c.base}/subscriptions', json={
                'subscriber': 'http://127.0.0.1:9/made', 'ttl': 600}),
            201, other=201, probe='subscriptions', changes=True),
        row(name('subscription_get'), 'subscription:get', 'subscription',
            lambda c: Call('GET', f'{c.base}/subscriptions/'
                                  f'{c.subscription_id}'),
            200, other=404, reveals=True),
        row(name('subscription_update'), 'subscription:update',
            'subscription',
            lambda c: Call('PATCH', f'{c.base}/subscriptions/'
                                    f'{c.subscription_id}',
                           json={'ttl': 700}),
            204, other=404, probe='subscriptions', changes=True),
        row(name('subscription_delete'), 'subscription:delete',
            'subscription',
            lambda c: Call('DELETE', f'{c.base}/subscriptions/'
                                     f'{c.subscription_id}'),
            204, other=204, probe='subscriptions', changes=True),
        row(name('subscription_confirm'), 'subscription:confirm',
            'subscription',
            lambda c: Call('PUT', f'{c.base}/subscriptions/'
                                  f'{c.subscription_id}/confirm',
                           json={'confirmed': True}),
            204, other=404, probe='subscriptions', changes=True),
    ]
    if kind == 'queues':
        rows += [
            row('queue_share', 'queues:share', 'queue',
                lambda c: Call('POST', f'{c.base}/share', json={
                    'paths': ['messages'], 'methods': ['GET']}),
                200, other=200),
            # Claims have no topic routes.
            row('claim_create', 'claims:create', 'messages',
                lambda c: Call('POST', f'{c.base}/claims', json={
                    'ttl': 60, 'grace': 60}),
                201, other=204, probe='stats', changes=True,
                reveals=True),
            row('claim_get', 'claims:get', 'claim',
                lambda c: Call('GET', f'{c.base}/claims/{c.claim_id}'),
                200, other=404, reveals=True),
            row('claim_update', 'claims:update', 'claim',
                lambda c: Call('PATCH', f'{c.base}/claims/{c.claim_id}',
                               json={'ttl': 120}),
                204, other=404, probe='claim', changes=True),
            row('claim_delete', 'claims:delete', 'claim',
                lambda c: Call('DELETE', f'{c.base}/claims/{c.claim_id}'),
                204, other=204, probe='stats', changes=True),
        ]
    return rows


def _admin_row(action: str, rule: str, setup: str,
               request: Callable[[Cell], Call], ok: int, **kw: Any) -> Row:
    """A row only the project's admin passes (``role:admin``): pools,
    and changes to flavors."""
    return row(action, rule, setup, request, ok, other=FORBIDDEN,
               member=FORBIDDEN, reader=FORBIDDEN, signed=FORBIDDEN, **kw)


def _pooling_rows() -> list[Row]:
    """Pools are global (admin only); flavors are per project: anyone of
    the project reads them, its admin changes them."""
    def pool(c: Cell) -> str:
        return f'/v2/pools/{c.name}'

    def flavor(c: Cell) -> str:
        return f'/v2/flavors/{c.name}'

    return [
        _admin_row('pool_list', 'pools:get_all', 'pool',
                   lambda c: Call('GET', '/v2/pools'), 200),
        _admin_row('pool_create', 'pools:create', 'none',
                   lambda c: Call('PUT', pool(c), json={
                       'uri': c.pool_uri, 'weight': 10, 'flavor': c.name}),
                   201, probe='pool', changes=True),
        _admin_row('pool_get', 'pools:get', 'pool',
                   lambda c: Call('GET', pool(c)), 200),
        _admin_row('pool_update', 'pools:update', 'pool',
                   lambda c: Call('PATCH', pool(c), json={'weight': 20}),
                   200, probe='pool', changes=True),
        _admin_row('pool_delete', 'pools:delete', 'pool',
                   lambda c: Call('DELETE', pool(c)), 204, probe='pool',
                   changes=True),
        # alt lists its own project's flavors: none of demo's.
        row('flavor_list', 'flavors:get_all', 'flavor',
            lambda c: Call('GET', '/v2/flavors'), 200, other=200),
        row('flavor_get', 'flavors:get', 'flavor',
            lambda c: Call('GET', flavor(c)), 200, other=404),
        _admin_row('flavor_create', 'flavors:create', 'pool',
                   lambda c: Call('PUT', flavor(c),
                                  json={'pool_list': [c.name]}),
                   201, probe='flavor', changes=True),
        _admin_row('flavor_update', 'flavors:update', 'flavor',
                   lambda c: Call('PATCH', flavor(c),
                                  json={'pool_list': [c.name]}),
                   200, probe='flavor'),
        _admin_row('flavor_delete', 'flavors:delete', 'flavor',
                   lambda c: Call('DELETE', flavor(c)), 204,
                   probe='flavor', changes=True),
    ]


ROWS: list[Row] = [
    *_rows('queues'),
    *_rows('topics'),
    row('ping_node', 'ping:get', 'none', lambda c: Call('GET', '/v2/ping'),
        204, other=204),
    row('ping_node_head', 'ping:get', 'none',
        lambda c: Call('HEAD', '/v2/ping'), 204, other=204),
    # role:admin: only the project's admin; a signed URL carries no role.
    row('check_node_health', 'health:get', 'none',
        lambda c: Call('GET', '/v2/health'), 200, other=FORBIDDEN,
        member=FORBIDDEN, reader=FORBIDDEN, signed=FORBIDDEN),
    *_pooling_rows(),
]


def _row_id(entry: Row) -> str:
    return entry.action or entry.rule


# -- the table is complete --------------------------------------------------

def test_every_action_with_a_rule_has_a_row() -> None:
    covered = {entry.action for entry in ROWS}
    missing = sorted(name for name, action in registry.ACTIONS.items()
                     if action.rule and name not in covered)
    assert not missing, f'actions without a row in ROWS: {missing}'


def test_every_rule_has_a_row() -> None:
    rules = {action.rule for action in registry.ACTIONS.values()
             if action.rule}
    rules |= {rule.name for rule in policies.list_rules()} - BASE_RULES
    covered = {entry.rule for entry in ROWS}
    assert not rules - covered, \
        f'policy rules without a row in ROWS: {sorted(rules - covered)}'
    # ... and each row names the rule its action enforces.
    for entry in ROWS:
        if entry.action is not None:
            assert registry.ACTIONS[entry.action].rule == entry.rule, entry
    assert BASE_RULES <= {rule.name for rule in policies.list_rules()}


def test_every_row_says_what_every_persona_gets() -> None:
    for entry in ROWS:
        assert set(entry.expected) == set(PERSONAS), _row_id(entry)
        assert len({_row_id(e) for e in ROWS}) == len(ROWS)


def test_rows_send_what_the_registry_routes() -> None:
    # A row's request goes to its action's route (method and path).
    cell = Cell(None, 'queues', 'q', 'm', '1', 'c', 's')  # type: ignore[arg-type]
    for entry in ROWS:
        if entry.action is None:
            continue
        action = registry.ACTIONS[entry.action]
        cell.kind = action.kind
        call = entry.request(cell)
        assert call.method == action.method, entry.action
        pattern = re.sub(r'\\\{\w+\\\}', '[^/]+', re.escape(action.path))
        assert re.fullmatch(pattern, call.path), (entry.action, call.path)


# -- signing ----------------------------------------------------------------

#: What /share can grant, below /v2/queues/<name>/.
SHAREABLE = re.compile(r'^(/v2/queues/[^/]+)/(messages|subscriptions|'
                       r'claims)(/|$)')


def sign(key: str, paths: list[str], methods: list[str], project: str,
         expires: str) -> str:
    """Upstream's signature, written from the contract: HMAC-SHA256 of
    the sorted paths, methods, the project and the expiry, joined by a
    backslash and an ``n``."""
    text = '\\n'.join([','.join(sorted(paths)), ','.join(sorted(methods)),
                       project, expires])
    return hmac.new(key.encode(), text.encode(), hashlib.sha256).hexdigest()


def signed_headers(stack: Stack, path: str, method: str) -> dict[str, str]:
    """The headers of a pre-signed URL of demo's project for ``path``
    and ``method``: from /share when it can grant them, else signed
    with the stack's key."""
    shared = SHAREABLE.match(path)
    if shared:
        resp = stack.api('demo').post(f'{shared.group(1)}/share', json={
            'paths': [shared.group(2)], 'methods': [method]})
        assert resp.status_code == 200, resp.text
        share = resp.json()
    else:
        expires = (datetime.now(UTC) + timedelta(hours=1)).strftime(
            '%Y-%m-%dT%H:%M:%S')
        project = stack.users['demo'].project_id
        share = {'paths': [path], 'methods': [method], 'expires': expires,
                 'project': project,
                 'signature': sign(stack.state['signed_url_key'], [path],
                                   [method], project, expires)}
    return {'URL-Signature': share['signature'],
            'URL-Expires': share['expires'],
            'URL-Methods': ','.join(share['methods']),
            'URL-Paths': ','.join(share['paths']),
            'X-Project-ID': share['project']}


def _other_path(path: str, name: str) -> str:
    """Another path, of which ``path`` is not below."""
    if f'/{name}' in path:
        return path.replace(f'/{name}', f'/{name}-other', 1)
    return {'/v2/queues': '/v2/topics', '/v2/topics': '/v2/queues',
            '/v2/ping': '/v2/health', '/v2/health': '/v2/ping'}.get(
        path, '/v2/ping')


def test_the_signature_here_is_the_servers(stack: Stack) -> None:
    # What signed_headers signs itself, the server signs alike.
    demo = stack.api('demo')
    name = unique('rbac-sign')
    resp = demo.post(f'/v2/queues/{name}/share', json={
        'paths': ['claims'], 'methods': ['PATCH', 'GET']})
    assert resp.status_code == 200, resp.text
    share = resp.json()
    assert share['signature'] == sign(
        stack.state['signed_url_key'], share['paths'], share['methods'],
        share['project'], share['expires'])


# -- the cells --------------------------------------------------------------

@pytest.fixture(scope='module')
def personas(stack: Stack, project_users: dict[str, User]) -> Stack:
    # Tokens once, before any cell.
    for persona in USER_OF.values():
        assert stack.users[persona].token
    return stack


def send(stack: Stack, persona: str, call: Call, cell: Cell
         ) -> requests.Response:
    headers = {'Client-ID': str(uuid.uuid4()), **(call.headers or {})}
    demo_project = stack.users['demo'].project_id
    if persona in USER_OF:
        user = stack.users[USER_OF[persona]]
        headers.update({'X-Auth-Token': user.token,
                        'X-Project-Id': demo_project})
    elif persona == 'signed':
        headers.update(signed_headers(stack, call.path, call.method))
    elif persona == 'signed_other_method':
        other = 'POST' if call.method in ('GET', 'HEAD') else 'GET'
        headers.update(signed_headers(stack, call.path, other))
    else:
        headers.update(signed_headers(
            stack, _other_path(call.path, cell.name), call.method))
    return requests.request(call.method, stack.url + call.path,
                            params=call.params, headers=headers,
                            json=call.json, timeout=30)


@pytest.fixture
def cleanup(stack: Stack) -> Iterator[list[Cell]]:
    cells: list[Cell] = []
    yield cells
    for cell in cells:
        for user in ('demo', 'alt'):
            api = stack.api(user)
            # Subscriptions outlive their queue.
            resp = api.get(f'{cell.base}/subscriptions')
            for sub in resp.json().get('subscriptions', []):
                api.delete(f'{cell.base}/subscriptions/{sub["id"]}')
            api.delete(cell.base)
        admin = stack.api('project_admin')
        admin.delete(f'/v2/flavors/{cell.name}')
        admin.delete(f'/v2/pools/{cell.name}')


CASES = [pytest.param(entry, persona, id=f'{_row_id(entry)}-{persona}')
         for entry in ROWS for persona in PERSONAS]


@pytest.mark.parametrize('entry,persona', CASES)
def test_rbac(personas: Stack, cleanup: list[Cell], entry: Row,
              persona: str) -> None:
    stack = personas
    kind = 'topics' if entry.action and \
        registry.ACTIONS[entry.action].kind == 'topics' else 'queues'
    cell = Cell(stack, kind, unique('rbac'), f'marker-{uuid.uuid4().hex}')
    cleanup.append(cell)
    SETUP[entry.setup](cell)
    probe = PROBES[entry.probe]
    before = probe(cell)
    call = entry.request(cell)

    resp = send(stack, persona, call, cell)

    expected = entry.expected[persona]
    assert resp.status_code == expected, (
        f'{call.method} {call.path} as {persona}: {resp.status_code} '
        f'{resp.text[:300]}, expected {expected}')
    after = probe(cell)
    in_project = persona in IN_PROJECT and 200 <= expected < 300
    if in_project and entry.changes:
        assert after != before, f'{persona}: nothing changed ({after})'
    else:
        assert after == before, f'{persona} changed demo\'s data'
    if in_project and entry.reveals:
        assert cell.marker in resp.text, resp.text[:300]
    else:
        assert cell.marker not in resp.text, resp.text[:300]
    if expected == FORBIDDEN:
        assert resp.json()['title'] == 'Not authorized', resp.text
