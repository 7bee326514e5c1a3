"""The WebSocket transport against the real Keystone.

Authentication, tenancy, policy, pre-signed requests and trust
subscriptions work over WebSocket as over REST, with real tokens; and
the WebSocket clients of other projects work unchanged, end to end:
python-zaqarclient's ``ws://`` transport, os-collect-config's zaqar
collector and the TripleO CLI's ``WebsocketClient`` (those two as
subprocesses from ``.stack/clients-venv``, each found through the
catalog's ``messaging-websocket`` entry).

Requests go to the stack's WebSocket server; what they did is checked
through its REST server, another process on the same store, and messages
that get pushed are posted there, as Heat and Mistral post them.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import queue as queues
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import websocket
from keystoneauth1 import session as ka_session
from keystoneauth1.identity import v3
from zaqarclient import transport
from zaqarclient.transport import errors as zaqar_errors
from zaqarclient.transport import request as zaqar_request

from zaqar_core.tests.functional import test_websocket_clients as flows
from zaqar_core.tests.functional.wsclient import Reply
from zaqar_core.tests.functional.wsclient import WsClient
from zaqar_testing.processes import Process
from zaqar_testing.waiting import eventually

from .conftest import KeystoneServer
from .conftest import Stack
from .conftest import unique

#: Seconds any one reply, push or step of a client subprocess may take.
TIMEOUT = 30.0
#: Seconds the short-lived token of the expiry test lives.
SHORT_LIFE = 10
#: Seconds a subprocess of the clients venv may run in all.
CLIENT_TIMEOUT = 90
TRIPLEO_CLI = Path(__file__).with_name('tripleo_cli.py')
AUTH_EXPIRED = 4003

#: websocket-client's default timeout bounded (python-zaqarclient's
#: transport sets none).
bounded_websockets = flows.bounded_websockets


def connect(stack: Stack, user: str = 'demo', **kwargs: Any) -> WsClient:
    """A connection to the stack's WebSocket server whose requests name
    ``user``'s project; not authenticated yet."""
    return WsClient(stack.ws_url, project_id=stack.users[user].project_id,
                    **kwargs)


def authenticate(ws: WsClient, token: str) -> Reply:
    return ws.request('authenticate',
                      headers={**ws.headers, 'X-Auth-Token': token})


@contextlib.contextmanager
def authenticated(stack: Stack, user: str = 'demo',
                  url: str | None = None) -> Iterator[WsClient]:
    with WsClient(url or stack.ws_url,
                  project_id=stack.users[user].project_id) as ws:
        reply = authenticate(ws, stack.users[user].token)
        assert reply.status == 200, reply.body
        yield ws


def queue_names(stack: Stack, user: str, near: str) -> list[str]:
    """The names ``user`` sees over REST from just before ``near`` (the
    stack's store outlives test runs: a whole listing is long)."""
    resp = stack.api(user).get('/v2/queues', params={'marker': near[:-1],
                                                     'limit': 20})
    assert resp.status_code == 200, resp.text
    return [q['name'] for q in resp.json()['queues']]


def subscribers(stack: Stack, queue: str, user: str = 'demo') -> list[str]:
    resp = stack.api(user).get(f'/v2/queues/{queue}/subscriptions')
    assert resp.status_code == 200, resp.text
    return [s['subscriber'] for s in resp.json()['subscriptions']]


@pytest.fixture
def queue(stack: Stack) -> Iterator[str]:
    """A queue name of demo's, deleted (in both projects) afterwards."""
    name = unique('ws')
    yield name
    for user in ('demo', 'alt'):
        stack.api(user).delete(f'/v2/queues/{name}')


# -- authentication ----------------------------------------------------------

def test_a_real_token_authenticates(stack: Stack, queue: str) -> None:
    demo = stack.users['demo']
    with connect(stack) as ws:
        reply = authenticate(ws, demo.token)
        assert reply.status == 200, reply.body
        # The token is not echoed back.
        assert {k.lower() for k in reply.request['headers']} == \
            {'client-id', 'x-project-id'}
        assert ws.call('queue_create', queue_name=queue).status == 201
        assert ws.call('message_post', queue_name=queue, messages=[
            {'body': 'over ws', 'ttl': 300}]).status == 201
    assert queue in queue_names(stack, 'demo', queue)
    assert stack.api('demo').stats(queue)['total'] == 1
    assert queue not in queue_names(stack, 'alt', queue)


def test_the_project_comes_from_the_token(stack: Stack, queue: str) -> None:
    # demo's token, authenticated naming alt's project: the token wins.
    with connect(stack, 'alt') as ws:
        reply = authenticate(ws, stack.users['demo'].token)
        assert reply.status == 200, reply.body
        # Requests that name no project run in the token's.
        reply = ws.request('queue_create', {'queue_name': queue},
                           headers={'Client-ID': ws.client_id})
        assert reply.status == 201, reply.body
    assert queue in queue_names(stack, 'demo', queue)
    assert queue not in queue_names(stack, 'alt', queue)


@pytest.mark.parametrize('token', ['bogus', 'gAAAAAB' + 'x' * 180])
def test_a_bad_token_is_401_and_the_socket_stays_usable(stack: Stack,
                                                        token: str) -> None:
    with connect(stack) as ws:
        reply = authenticate(ws, token)
        assert reply.status == 401, reply.body
        assert reply.body['error']
        assert ws.call('queue_list').status == 403
        # Another try on the same connection.
        assert authenticate(ws, stack.users['demo'].token).status == 200
        assert ws.call('queue_list').status == 200


@pytest.mark.parametrize('action,body', [
    ('queue_list', {}),
    ('queue_create', {'queue_name': '{queue}'}),
    ('message_post', {'queue_name': '{queue}',
                      'messages': [{'body': 1, 'ttl': 60}]}),
    ('subscription_create', {'queue_name': '{queue}', 'ttl': 600}),
    ('ping_node', {}),
])
def test_requests_before_authenticate_are_403(stack: Stack, queue: str,
                                              action: str,
                                              body: dict) -> None:
    body = {k: queue if v == '{queue}' else v for k, v in body.items()}
    with connect(stack) as ws:
        reply = ws.request(action, body)
        assert reply.status == 403, reply.body
        assert reply.body['error']
        # Still open: the refusal is a reply.
        assert authenticate(ws, stack.users['demo'].token).status == 200
    assert queue not in queue_names(stack, 'demo', queue)


def test_a_request_naming_another_project_is_403(stack: Stack,
                                                 queue: str) -> None:
    alt_project = stack.users['alt'].project_id
    with authenticated(stack) as ws:
        for action, body in (('queue_create', {'queue_name': queue}),
                             ('queue_list', {})):
            reply = ws.request(action, body, headers={
                **ws.headers, 'X-Project-ID': alt_project})
            assert reply.status == 403, reply.body
        # Its own project still works.
        assert ws.call('queue_list').status == 200
    for user in ('demo', 'alt'):
        assert queue not in queue_names(stack, user, queue)


def test_an_unscoped_token_is_401(stack: Stack) -> None:
    # The trustee has no project: its password token is unscoped.
    trustee = stack.state['credentials']['trustee']
    resp = requests.post(f'{stack.auth_url}/auth/tokens', timeout=10, json={
        'auth': {'identity': {'methods': ['password'], 'password': {
            'user': {'id': trustee['user_id'],
                     'password': trustee['password']}}}}})
    assert resp.status_code == 201, resp.text
    assert 'project' not in resp.json()['token']
    with connect(stack) as ws:
        reply = authenticate(ws, resp.headers['X-Subject-Token'])
        assert reply.status == 401, reply.body
        assert ws.call('queue_list').status == 403


def test_a_failed_reauthentication_drops_the_identity(stack: Stack) -> None:
    demo = stack.users['demo']
    with authenticated(stack) as ws:
        assert ws.call('queue_list').status == 200
        assert authenticate(ws, 'bogus').status == 401
        assert ws.call('queue_list').status == 403
        assert authenticate(ws, demo.token).status == 200
        assert ws.call('queue_list').status == 200
        # No token at all is a failed attempt too.
        reply = ws.request('authenticate', headers=ws.headers)
        assert reply.status == 400, reply.body
        assert ws.call('queue_list').status == 403


@pytest.fixture
def short_lived_token(stack: Stack) -> Iterator[str]:
    """A token of demo's that expires in :data:`SHORT_LIFE` seconds.

    Keystone caps the expiry of a token issued for an application
    credential at the credential's own ``expires_at``, so a credential
    that expires that soon gives such a token, with the stack's Keystone
    as it is.
    """
    demo = stack.users['demo']
    expires = datetime.datetime.now(datetime.UTC) + \
        datetime.timedelta(seconds=SHORT_LIFE)
    credentials = f'{stack.auth_url}/users/{demo.user_id}/' \
                  f'application_credentials'
    made = demo.session.post(credentials, json={'application_credential': {
        'name': unique('ws-expiry'),
        'expires_at': expires.strftime('%Y-%m-%dT%H:%M:%S.%f')}}
    ).json()['application_credential']
    try:
        resp = requests.post(f'{stack.auth_url}/auth/tokens', timeout=10,
                             json={'auth': {'identity': {
                                 'methods': ['application_credential'],
                                 'application_credential': {
                                     'id': made['id'],
                                     'secret': made['secret']}}}})
        assert resp.status_code == 201, resp.text
        issued = resp.json()['token']
        assert issued['project']['id'] == demo.project_id
        token_expires = datetime.datetime.fromisoformat(
            issued['expires_at'].replace('Z', '+00:00'))
        assert token_expires <= expires, 'Keystone did not cap the expiry'
        yield resp.headers['X-Subject-Token']
    finally:
        demo.session.delete(f'{credentials}/{made["id"]}')


def test_token_expiry_closes_the_connection_with_4003(
        stack: Stack, short_lived_token: str, queue: str) -> None:
    with connect(stack) as expiring, connect(stack) as renewed:
        for ws in (expiring, renewed):
            assert authenticate(ws, short_lived_token).status == 200
            assert ws.call('queue_list').status == 200
        assert expiring.call('subscription_create', queue_name=queue,
                             ttl=600).status == 201
        # Authenticating again with a token that lives longer replaces
        # the expiry.
        assert authenticate(renewed, stack.users['demo'].token).status == \
            200

        expiring.ws.settimeout(SHORT_LIFE + TIMEOUT)
        opcode, frame = expiring.ws.recv_data()
        assert opcode == websocket.ABNF.OPCODE_CLOSE, (opcode, frame)
        code = int.from_bytes(frame[:2], 'big')
        assert (code, frame[2:].decode()) == \
            (AUTH_EXPIRED, 'Authentication expired.')
        with pytest.raises(websocket.WebSocketException):
            expiring.call('queue_list')

        # Past the first token's expiry (whichever server process holds
        # the other connection), the renewed one is still open and
        # authenticated.
        time.sleep(1.0)
        assert renewed.call('queue_list').status == 200
    # The subscription of the closed connection went with it.
    eventually(lambda: not subscribers(stack, queue), TIMEOUT,
               'the subscription of the expired connection to go')


# -- policy -----------------------------------------------------------------

def test_admin_only_rules_refuse_a_member(stack: Stack) -> None:
    # health:get is role:admin by default, as over REST.
    with authenticated(stack, 'demo') as ws:
        reply = ws.call('check_node_health')
        assert reply.status == 403, reply.body
    with authenticated(stack, 'admin') as ws:
        reply = ws.call('check_node_health')
        assert reply.status == 200, reply.body
    assert stack.api('demo').get('/v2/health').status_code == 403


POLICY = '''\
"queues:delete": "role:admin"
'''


def test_a_revoked_token_stops_working_on_an_open_connection(
        stack: Stack, make_keystone_server, queue: str) -> None:
    # Checks of a token are trusted for token_cache_time, over REST as
    # over a connection: 2 s here.
    servers = make_keystone_server('', websocket=True,
                                   keystone_authtoken={
                                       'token_cache_time': 2})
    demo = stack.users['demo']
    token = ka_session.Session(auth=v3.Password(
        auth_url=demo.auth_url, username=demo.username,
        password=demo.password, project_name=demo.project_name,
        user_domain_name='Default',
        project_domain_name='Default')).get_token()
    with WsClient(servers.ws_url, project_id=demo.project_id) as ws:
        assert authenticate(ws, token).status == 200
        assert ws.call('queue_create', queue_name=queue).status == 201
        revoked = demo.session.delete(
            f'{demo.auth_url}/auth/tokens', headers={
                'X-Subject-Token': token}, raise_exc=False)
        assert revoked.status_code == 204, revoked.text

        def refused() -> bool:
            return ws.call('queue_get', queue_name=queue).status == 401

        eventually(refused, 15, 'the revoked token to be refused')
        # And it stays refused: the identity is gone.
        assert ws.call('queue_get', queue_name=queue).status == 403


@pytest.fixture(scope='session')
def policy_servers(make_keystone_server) -> KeystoneServer:
    """A REST and a WebSocket server on one store, under :data:`POLICY`."""
    return make_keystone_server(POLICY, websocket=True)


def test_policy_yaml_applies_over_websocket(
        stack: Stack, policy_servers: KeystoneServer) -> None:
    name = unique('ws-policy')
    with authenticated(stack, 'demo', policy_servers.ws_url) as ws:
        assert ws.call('queue_create', queue_name=name).status == 201
        reply = ws.call('queue_delete', queue_name=name)
        assert reply.status == 403, reply.body
        # Rules not overridden keep their defaults.
        assert ws.call('queue_get_stats', queue_name=name).status == 200
    # As over REST.
    demo_rest = stack.api('demo', url=policy_servers.url)
    assert demo_rest.delete(f'/v2/queues/{name}').status_code == 403
    assert demo_rest.stats(name)['total'] == 0
    with authenticated(stack, 'admin', policy_servers.ws_url) as ws:
        # The admin's own queue of that name: the rule, not the tenancy.
        assert ws.call('queue_create', queue_name=name).status == 201
        assert ws.call('queue_delete', queue_name=name).status == 204
    admin_rest = stack.api('admin', url=policy_servers.url)
    assert name not in [q['name'] for q in
                        admin_rest.get('/v2/queues').json()['queues']]


# -- pre-signed requests ----------------------------------------------------


def signed_headers(share: dict[str, Any], as_lists: bool = True,
                   **changes: Any) -> dict[str, Any]:
    """The URL-* headers of ``share``: lists (upstream's form) or
    comma-separated strings (REST's)."""
    share = {**share, **changes}
    join = (lambda v: v) if as_lists else ','.join  # noqa: E731
    return {'URL-Signature': share['signature'],
            'URL-Expires': share['expires'],
            'URL-Methods': join(share['methods']),
            'URL-Paths': join(share['paths']),
            'X-Project-ID': share['project'],
            'Client-ID': str(uuid.uuid4())}


@pytest.mark.parametrize('as_lists', [True, False],
                         ids=['lists', 'comma-strings'])
def test_signed_requests_without_authenticate(stack: Stack, shared_queue,
                                              as_lists: bool) -> None:
    name, share = shared_queue
    with WsClient(stack.ws_url) as ws:
        headers = signed_headers(share, as_lists)
        reply = ws.request('message_list', {'queue_name': name},
                           headers=headers)
        assert reply.status == 200, reply.body
        assert [m['body'] for m in reply.body['messages']] == \
            [{'shared': True}]
        reply = ws.request('message_post', {
            'queue_name': name, 'messages': [{'body': 'signed', 'ttl': 60}]},
            headers=headers)
        assert reply.status == 201, reply.body
        # A signed request does not authenticate the connection.
        assert ws.request('message_list', {'queue_name': name}, headers={
            'Client-ID': ws.client_id,
            'X-Project-ID': share['project']}).status == 403
    assert stack.api('demo').stats(name)['total'] == 2


def test_signed_requests_are_held_to_the_signature(stack: Stack,
                                                   shared_queue,
                                                   queue: str) -> None:
    name, share = shared_queue
    stack.api('demo').post_messages(queue, {'not': 'shared'}, ttl=300)
    refused = [
        # Another queue of the same project.
        ('message_list', {'queue_name': queue}, {}),
        ('message_post', {'queue_name': queue,
                          'messages': [{'body': 'x', 'ttl': 60}]}, {}),
        # A method not signed for.
        ('message_delete_many', {'queue_name': name, 'pop': 1}, {}),
        # Not a path signed for.
        ('queue_get_stats', {'queue_name': name}, {}),
        ('queue_create', {'queue_name': name}, {}),
        ('queue_list', {}, {}),
        # A forged signature, another project.
        ('message_list', {'queue_name': name}, {'signature': '0' * 64}),
        ('message_list', {'queue_name': name},
         {'project': stack.users['alt'].project_id}),
    ]
    with WsClient(stack.ws_url) as ws:
        for action, body, changes in refused:
            reply = ws.request(action, body,
                               headers=signed_headers(share, **changes))
            assert reply.status == 404, (action, changes, reply.body)
        # The connection is fine: a good one still works.
        assert ws.request('message_list', {'queue_name': name},
                          headers=signed_headers(share)).status == 200
    demo = stack.api('demo')
    assert demo.stats(name)['total'] == 1
    assert demo.stats(queue)['total'] == 1


# -- trust subscriptions ----------------------------------------------------

POST_DATA = '{"messages":[{"body":"$zaqar_message$","ttl":60}]}'


def test_trust_subscription_over_websocket(stack: Stack) -> None:
    source, target = unique('ws-trust-src'), unique('ws-trust-dst')
    demo_user = stack.users['demo']
    demo = stack.api('demo')
    subscriber = f'trust+{stack.url}/v2/queues/{target}/messages'
    try:
        with authenticated(stack) as ws:
            assert ws.call('queue_create', queue_name=target).status == 201
            reply = ws.call('subscription_create', queue_name=source,
                            subscriber=subscriber, ttl=600, options={
                                'post_data': POST_DATA, 'post_headers': {
                                    'Client-ID': str(uuid.uuid4()),
                                    'X-Project-ID': demo_user.project_id}})
            assert reply.status == 201, reply.body
            reply = ws.call('subscription_get', queue_name=source,
                            subscription_id=reply.body['subscription_id'])
            assert reply.status == 200, reply.body
            assert reply.body['subscriber'] == subscriber
            trust_id = reply.body['options']['trust_id']
            # A real trust from demo (the connection's token) to the
            # trustee.
            trust = demo_user.session.get(
                f'{stack.auth_url}/OS-TRUST/trusts/{trust_id}'
            ).json()['trust']
            assert trust['trustor_user_id'] == demo_user.user_id
            assert trust['project_id'] == demo_user.project_id

            bodies = [{'event': 'one'}, {'event': 'two'}]
            assert ws.call('message_post', queue_name=source, messages=[
                {'body': body, 'ttl': 300} for body in bodies]).status == 201
        delivered: list[dict] = []

        def arrived() -> bool:
            delivered[:] = demo.list_messages(target)
            return len(delivered) >= len(bodies)

        eventually(arrived, TIMEOUT, 'the trust deliveries into the target')
        assert sorted(m['body']['body']['event'] for m in delivered) == \
            ['one', 'two']
        assert {m['body']['queue_name'] for m in delivered} == {source}
    finally:
        for name in (source, target):
            demo.delete(f'/v2/queues/{name}')


# -- push --------------------------------------------------------------------

def test_pushes_stay_in_their_project(stack: Stack, queue: str) -> None:
    with authenticated(stack) as ws:
        assert ws.call('subscription_create', queue_name=queue,
                       ttl=600).status == 201
        # alt's queue of the same name first, then demo's: only demo's
        # message reaches demo's connection.
        stack.api('alt').post_messages(queue, {'from': 'alt'}, ttl=300)
        stack.api('demo').post_messages(queue, {'from': 'demo'}, ttl=300)
        pushed = ws.push(TIMEOUT)
        assert (pushed['body'], pushed['queue_name']) == \
            ({'from': 'demo'}, queue)
        with pytest.raises(websocket.WebSocketTimeoutException):
            ws.push(2.0)


def test_no_client_can_subscribe_a_connection(stack: Stack,
                                              queue: str) -> None:
    # A connection's subscriber URI is listed with its subscription; it is
    # not a subscriber anyone may name, over either transport: alt cannot
    # send its messages into demo's socket.
    alt = stack.api('alt')
    with authenticated(stack) as victim:
        assert victim.call('subscription_create', queue_name=queue,
                           ttl=600).status == 201
        [uri] = subscribers(stack, queue)
        resp = alt.post(f'/v2/queues/{queue}/subscriptions',
                        json={'subscriber': uri, 'ttl': 600})
        assert resp.status_code == 400, resp.text
        resp = alt.post(f'/v2/queues/{queue}/subscriptions',
                        json={'subscriber': 'http://127.0.0.1:9/x',
                              'ttl': 600})
        assert resp.status_code == 201, resp.text
        webhook = resp.json()['subscription_id']
        resp = alt.patch(f'/v2/queues/{queue}/subscriptions/{webhook}',
                         json={'subscriber': uri})
        assert resp.status_code == 400, resp.text
        with authenticated(stack, 'alt') as attacker:
            reply = attacker.call('subscription_create', queue_name=queue,
                                  subscriber=uri, ttl=600)
            assert reply.status == 400, reply.body
        alt.post_messages(queue, {'from': 'alt'}, ttl=60)
        with pytest.raises(websocket.WebSocketTimeoutException):
            victim.push(2.0)


# -- python-zaqarclient ------------------------------------------------------

@pytest.mark.usefixtures('bounded_websockets')
def test_zaqarclient_ws_transport(stack: Stack, queue: str) -> None:
    demo = stack.users['demo']
    flows.zaqarclient_flow(stack.ws_url, demo.project_id, demo.token, queue)
    assert stack.api('demo').stats(queue)['total'] == 0
    eventually(lambda: not subscribers(stack, queue), TIMEOUT,
               'the subscription of the closed connection to go')


@pytest.mark.usefixtures('bounded_websockets')
def test_zaqarclient_ws_transport_with_a_bad_token(stack: Stack) -> None:
    conf = {'auth_opts': {'backend': 'keystone', 'options': {
        'os_auth_token': 'bogus',
        'os_project_id': stack.users['demo'].project_id}}}
    with transport.get_transport_for(stack.ws_url, options=conf) as ws:
        with pytest.raises(zaqar_errors.UnauthorizedError):
            ws.send(zaqar_request.Request(stack.ws_url, 'queue_list'))


# -- pipelining -------------------------------------------------------------

def test_pipelined_requests(stack: Stack, queue: str) -> None:
    with authenticated(stack) as ws:
        flows.pipelined_flow(ws, queue)
    assert stack.api('demo').stats(queue)['total'] == 1


def test_pipelined_authenticate(stack: Stack, queue: str) -> None:
    # authenticate and what needs it, sent at once: each request runs
    # after the reply of the one before.
    with connect(stack) as ws:
        ws.send('authenticate', headers={
            **ws.headers, 'X-Auth-Token': stack.users['demo'].token})
        ws.send('queue_create', {'queue_name': queue})
        ws.send('queue_get_stats', {'queue_name': queue})
        replies = [ws.reply() for _ in range(3)]
    assert [(r.request['action'], r.status) for r in replies] == [
        ('authenticate', 200), ('queue_create', 201),
        ('queue_get_stats', 200)], [r.body for r in replies]


# -- clients of other projects, as subprocesses ------------------------------

def client_env() -> dict[str, str]:
    """The environment of a client subprocess: none of the caller's
    OpenStack settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith('OS_')}


class ClientProcess:
    """A subprocess of the clients venv, its output read line by line by a
    thread; killed (with its group) on ``close`` if still running."""

    def __init__(self, argv: list[str], cwd: Path) -> None:
        self.argv = argv
        self.process = Process(argv, None, cwd=cwd, env=client_env())
        self.proc = self.process.proc
        self.lines: queues.Queue[str | None] = queues.Queue()
        self.stderr: list[str] = []
        self.deadline = time.monotonic() + CLIENT_TIMEOUT
        self._threads = [
            threading.Thread(target=self._read_stdout, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True)]
        for thread in self._threads:
            thread.start()

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        self.stderr.extend(self.proc.stderr)

    def line(self) -> str | None:
        """The next line of output; None at its end."""
        left = max(0.1, self.deadline - time.monotonic())
        try:
            return self.lines.get(timeout=left)
        except queues.Empty:
            self.close()
            pytest.fail(f'{self.argv[0]} gave no output in '
                        f'{CLIENT_TIMEOUT} s:\n{self.errors()}',
                        pytrace=False)

    def output(self) -> str:
        """All the output, once the process exited (0)."""
        chunks = []
        while (line := self.line()) is not None:
            chunks.append(line)
        returncode = self.wait()
        assert returncode == 0, \
            f'{self.argv[0]} exited {returncode}:\n{self.errors()}'
        return ''.join(chunks)

    def wait(self) -> int:
        try:
            return self.proc.wait(max(0.1, self.deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.close()
            pytest.fail(f'{self.argv[0]} still running after '
                        f'{CLIENT_TIMEOUT} s:\n{self.errors()}',
                        pytrace=False)

    def errors(self) -> str:
        for thread in self._threads:
            thread.join(1)
        return ''.join(self.stderr)[-5000:]

    def running(self) -> bool:
        return self.process.alive()

    def close(self) -> None:
        self.process.kill()
        for thread in self._threads:
            thread.join(5)


@contextlib.contextmanager
def client_process(argv: list[str], cwd: Path) -> Iterator[ClientProcess]:
    process = ClientProcess(argv, cwd)
    try:
        yield process
    finally:
        process.close()


# -- os-collect-config -------------------------------------------------------

def heat_metadata() -> dict[str, Any]:
    """What Heat posts for a server's software deployments (its
    metadata): one deployment the collector splits out, one of another
    group it leaves in the metadata only."""
    return {
        'deployments': [
            {'name': 'ws-deployment', 'group': 'Heat::Ungrouped',
             'id': str(uuid.uuid4()), 'inputs': [],
             'config': {'hosts': '127.0.0.1 localhost',
                        'marker': uuid.uuid4().hex}},
            {'name': 'a-script', 'group': 'script', 'id': str(uuid.uuid4()),
             'inputs': [], 'config': '#!/bin/sh\necho hi\n'},
        ],
        'os-collect-config': {'zaqar': {'use_websockets': True}},
    }


def collector(clients_python: Path, stack: Stack, queue: str,
              workdir: Path) -> list[str]:
    """os-collect-config's command line for its zaqar collector over
    WebSocket as demo, with a configuration file of its own (the ids and
    the password, as Heat writes them for a server)."""
    demo = stack.users['demo']
    conf = workdir / 'os-collect-config.conf'
    conf.write_text(f'''\
[DEFAULT]
cachedir = {workdir / 'cache'}
backup_cachedir = {workdir / 'backup-cache'}

[zaqar]
auth_url = {stack.auth_url}
user_id = {demo.user_id}
password = {demo.password}
project_id = {demo.project_id}
queue_id = {queue}
use_websockets = True
region_name = RegionOne
''')
    return [str(clients_python.parent / 'os-collect-config'),
            '--config-file', str(conf), '--print', 'zaqar']


def assert_collected(output: str, metadata: dict[str, Any]) -> None:
    """os-collect-config exits 0 even when it failed (printing ``{}``):
    what it printed is what says."""
    collected = json.loads(output)
    assert collected == {
        'zaqar': metadata,
        'ws-deployment': metadata['deployments'][0]['config']}, output


def test_os_collect_config_pops_a_waiting_message(
        stack: Stack, queue: str, clients_python: Path,
        tmp_path: Path) -> None:
    metadata = heat_metadata()
    stack.api('demo').post_messages(queue, metadata, ttl=3600)
    with client_process(collector(clients_python, stack, queue, tmp_path),
                        tmp_path) as occ:
        output = occ.output()
    assert_collected(output, metadata)
    # Popped: nothing left for the next run.
    assert stack.api('demo').stats(queue)['total'] == 0


def test_os_collect_config_waits_for_a_push(stack: Stack, queue: str,
                                            clients_python: Path,
                                            tmp_path: Path) -> None:
    metadata = heat_metadata()
    with client_process(collector(clients_python, stack, queue, tmp_path),
                        tmp_path) as occ:
        # Subscribed (seen over REST), then its pop found nothing (its
        # reply is out within a moment): it waits in recv().
        eventually(lambda: subscribers(stack, queue) or not occ.running(),
                   TIMEOUT, 'the collector to subscribe')
        assert occ.running(), occ.errors()
        time.sleep(1.0)
        stack.api('demo').post_messages(queue, metadata, ttl=3600)
        output = occ.output()
    assert_collected(output, metadata)
    # Pushed, not popped: the message is still in the queue.
    assert stack.api('demo').stats(queue)['total'] == 1, \
        'popped, not pushed: the collector popped after the post'
    # Its subscription went with its connection.
    eventually(lambda: not subscribers(stack, queue), TIMEOUT,
               'the subscription of the closed connection to go')


# -- the TripleO CLI ---------------------------------------------------------

def test_tripleo_websocket_client(stack: Stack, queue: str,
                                  clients_python: Path,
                                  tmp_path: Path) -> None:
    demo = stack.users['demo']
    execution_id = str(uuid.uuid4())
    args = {'auth_url': stack.auth_url, 'username': demo.username,
            'password': demo.password, 'project_id': demo.project_id,
            'queue': queue, 'execution_id': execution_id,
            'timeout': TIMEOUT}
    payloads = flows.tripleo_payloads(execution_id)
    with client_process([str(clients_python), str(TRIPLEO_CLI),
                         json.dumps(args)], tmp_path) as cli:
        first = cli.line()
        assert first is not None, cli.errors()
        subscribed = json.loads(first)
        # The endpoint came from the catalog's messaging-websocket entry.
        assert subscribed == {'subscribed': stack.ws_url,
                              'project_id': demo.project_id}
        assert len(subscribers(stack, queue)) == 1

        def post(name: str, bodies: list[Any]) -> None:
            stack.api('demo').post_messages(name, *bodies, ttl=300)

        flows.post_tripleo_payloads(post, queue, payloads)
        lines = [json.loads(line) for line in cli.output().splitlines()]
    # What the CLI shows: ours, not the other execution's.
    assert lines == [{'payload': payloads[1]}, {'payload': payloads[2]},
                     {'done': True}]
    eventually(lambda: not subscribers(stack, queue), TIMEOUT,
               'the subscription of the closed connection to go')
