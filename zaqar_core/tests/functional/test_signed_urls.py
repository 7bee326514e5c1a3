"""Pre-signed URLs: ``POST /v2/queues/{q}/share`` signs as upstream does,
and a request carrying the URL-* headers is admitted only within what was
signed; anything wrong with it is a 404."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import uuid

import pytest
from zaqarclient.queues import client as zaqar_client

from .helpers import UNREACHABLE_KEYSTONE
from .helpers import ApiClient
from .helpers import Server
from .helpers import assert_error

KEY = 'test-signing-key'


@pytest.fixture
def signing(make_server) -> Server:
    return make_server(signed_url={'secret_key': KEY})


def upstream_signature(paths: list[str], methods: list[str], project: str,
                       expires: str) -> str:
    """Upstream's scheme, written out independently of the server's code:
    fields joined by a literal backslash-n."""
    text = (','.join(sorted(paths)) + '\\n' + ','.join(sorted(methods)) +
            '\\n' + project + '\\n' + expires)
    return hmac.new(KEY.encode(), text.encode(), hashlib.sha256).hexdigest()


def share(client: ApiClient, queue: str = 'shared', **body) -> dict:
    resp = client.post(f'/v2/queues/{queue}/share', json=body)
    assert resp.status_code == 200, resp.text
    return resp.json()


def signed_headers(data: dict, **changes: str) -> dict[str, str]:
    headers = {'URL-Signature': data['signature'],
               'URL-Expires': data['expires'],
               'URL-Methods': ','.join(data['methods']),
               'URL-Paths': ','.join(data['paths'])}
    headers.update(changes)
    return headers


def later(**delta: float) -> str:
    at = datetime.datetime.now(datetime.UTC) + datetime.timedelta(**delta)
    return at.strftime('%Y-%m-%dT%H:%M:%S')


def test_share_defaults_and_signature(signing: Server) -> None:
    client = signing.client()
    data = share(client)
    assert data['paths'] == ['/v2/queues/shared/messages']
    assert data['methods'] == ['GET']
    assert data['project'] == client.project_id
    expires = datetime.datetime.strptime(data['expires'],
                                         '%Y-%m-%dT%H:%M:%S')
    ahead = expires - datetime.datetime.now(datetime.UTC).replace(
        tzinfo=None)
    assert datetime.timedelta(hours=23) < ahead <= datetime.timedelta(
        hours=24)
    assert data['signature'] == upstream_signature(
        data['paths'], data['methods'], data['project'], data['expires'])


def test_share_with_paths_methods_and_expiry(signing: Server) -> None:
    data = share(signing.client(), paths=['messages', 'claims'],
                 methods=['POST', 'GET'], expires='2099-01-02T03:04:05Z')
    assert data['paths'] == ['/v2/queues/shared/claims',
                             '/v2/queues/shared/messages']
    # Sorted, as upstream answers them.
    assert data['methods'] == ['GET', 'POST']
    assert data['expires'] == '2099-01-02T03:04:05'
    assert data['signature'] == upstream_signature(
        data['paths'], data['methods'], data['project'], data['expires'])


NOT_A_DATE = ('Invalid API request', '`expires` should be date format')


@pytest.mark.parametrize(('body', 'refusal'), [
    (None, ('Invalid request body', 'Request body can not be empty')),
    ({'color': 'red'}, ('Invalid API request', 'Unknown keys')),
    ({'paths': ['queues']}, ('Invalid API request', 'Invalid paths')),
    # Upstream: "Invalid paths" (of the string's letters).
    ({'paths': 'messages'}, ('Invalid API request', 'paths')),
    ({'methods': 'GET'}, ('Invalid API request', '`methods` should be')),
    ({'expires': '1700000000'}, NOT_A_DATE),
    ({'expires': 1700000000}, NOT_A_DATE),
    ({'expires': '2001-01-01T00:00:00'},
     ('Invalid API request', '`expires` is lower than the current time')),
    # Upstream: "Unable to parse date string 'tomorrow'".
    ({'expires': 'tomorrow'}, ('Invalid API request', 'tomorrow')),
])
def test_bad_share_requests_are_400(signing: Server, body,
                                    refusal: tuple[str, str]) -> None:
    client = signing.client()
    resp = client.post('/v2/queues/shared/share',
                       **({} if body is None else {'json': body}))
    assert_error(resp, 400, *refusal)


def test_share_without_a_secret_key_is_400(client: ApiClient) -> None:
    assert_error(client.post('/v2/queues/shared/share', json={}), 400,
                 'Invalid API request', 'secret_key')


def test_a_signed_request_reads_the_queue(signing: Server) -> None:
    owner = signing.client()
    [message_id] = owner.post_messages('shared', 'hello')
    data = share(owner)
    guest = signing.client(project_id=owner.project_id)
    resp = guest.get('/v2/queues/shared/messages',
                     params={'echo': 'true'}, headers=signed_headers(data))
    assert resp.status_code == 200
    assert [m['body'] for m in resp.json()['messages']] == ['hello']
    # Below a signed path: one message by id.
    assert guest.get(f'/v2/queues/shared/messages/{message_id}',
                     headers=signed_headers(data)).status_code == 200


# Any refused signature: upstream raises falcon's bare 404 (its title
# only; we add a description).
REFUSED = ('404 Not Found', None)


@pytest.mark.parametrize('change', [
    {'URL-Signature': 'f' * 64},
    {'URL-Expires': later(days=2)},                 # not what was signed
    {'URL-Methods': 'GET,DELETE'},
    {'URL-Paths': '/v2/queues/other/messages'},
])
def test_tampered_signed_requests_are_404(signing: Server, change) -> None:
    owner = signing.client()
    data = share(owner)
    resp = owner.get('/v2/queues/shared/messages',
                     headers=signed_headers(data, **change))
    assert_error(resp, 404, *REFUSED)


def test_signed_requests_stay_within_what_was_signed(
        signing: Server) -> None:
    owner = signing.client()
    data = share(owner)
    headers = signed_headers(data)
    # Another method, another queue, another project: all 404.
    assert_error(owner.post('/v2/queues/shared/messages',
                            json={'messages': [{'body': 1}]},
                            headers=headers), 404, *REFUSED)
    assert_error(owner.get('/v2/queues/other/messages', headers=headers),
                 404, *REFUSED)
    stranger = signing.client(project_id=uuid.uuid4().hex)
    assert_error(stranger.get('/v2/queues/shared/messages',
                              headers=headers), 404, *REFUSED)


def test_an_expired_signature_is_404(signing: Server) -> None:
    owner = signing.client()
    paths, methods = ['/v2/queues/shared/messages'], ['GET']
    past = (datetime.datetime.now(datetime.UTC) -
            datetime.timedelta(minutes=1)).strftime('%Y-%m-%dT%H:%M:%S')
    data = {'paths': paths, 'methods': methods, 'expires': past,
            'signature': upstream_signature(paths, methods,
                                            owner.project_id, past)}
    assert_error(owner.get('/v2/queues/shared/messages',
                           headers=signed_headers(data)), 404, *REFUSED)


def test_the_official_clients_signed_url_flow(signing: Server) -> None:
    project = uuid.uuid4().hex
    owner = zaqar_client.Client(signing.url, version=2, conf={
        'auth_opts': {'backend': 'noauth',
                      'options': {'os_project_id': project}},
        'client_uuid': str(uuid.uuid4())})
    queue = owner.queue('shared', force_create=True)
    queue.post([{'body': {'n': 1}, 'ttl': 300}])
    data = queue.signed_url(paths=['messages'], ttl_seconds=600,
                            methods=['GET'])
    guest = zaqar_client.Client(signing.url, version=2, conf={
        'auth_opts': {'backend': 'signed-url',
                      'options': dict(data, os_project_id=project)},
        'client_uuid': str(uuid.uuid4())})
    shared = guest.queue('shared', auto_create=False)
    assert [m.body for m in shared.messages()] == [{'n': 1}]


def test_signed_requests_skip_keystone_without_gaining_roles(
        make_server, tmp_path_factory: pytest.TempPathFactory) -> None:
    policy = tmp_path_factory.getbasetemp() / 'signed-policy.yaml'
    policy.write_text('"messages:get_all": "role:admin"\n')
    # Keystone is unreachable: only a request that never asks it can pass.
    server = make_server(
        DEFAULT={'auth_strategy': 'keystone'},
        signed_url={'secret_key': KEY},
        keystone_authtoken=UNREACHABLE_KEYSTONE,
        **{'oslo_policy': {'policy_file': str(policy)}})
    project = uuid.uuid4().hex
    paths = ['/v2/queues/shared/claims', '/v2/queues/shared/messages']
    methods, expires = ['GET', 'POST'], later(hours=1)
    data = {'paths': paths, 'methods': methods, 'expires': expires,
            'signature': upstream_signature(paths, methods, project,
                                            expires)}
    guest = server.client(project_id=project)
    # Claiming from an empty queue: admitted without a token.
    resp = guest.post('/v2/queues/shared/claims', json={},
                      headers=signed_headers(data))
    assert resp.status_code == 204, resp.text
    # Unsigned, the same request still needs a token (refused without
    # asking Keystone: there is none to check).
    assert_error(guest.post('/v2/queues/shared/claims', json={}), 401,
                 'Unauthorized')
    # A forged role header is dropped, not trusted: listing needs admin.
    forged = signed_headers(data, **{'X-Roles': 'admin'})
    assert_error(guest.get('/v2/queues/shared/messages', headers=forged),
                 403, 'Not authorized', 'not authorized')
