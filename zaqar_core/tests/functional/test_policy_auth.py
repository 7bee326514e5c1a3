"""oslo.policy enforcement and keystone authentication.

Both need a server configured for them, so the tests are skipped when
ZAQAR_TEST_URL points at a fixed server.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from .helpers import UNREACHABLE_KEYSTONE
from .helpers import ApiClient
from .helpers import Server
from .helpers import assert_error

POLICY = '''\
"queues:delete": "!"
"messages:create": "role:admin"
'''


@pytest.fixture
def policy_server(make_server, tmp_path_factory: pytest.TempPathFactory
                  ) -> Server:
    # One file for the session's lifetime: the server is cached by its
    # configuration, so the path must not change between tests.
    path = Path(tmp_path_factory.getbasetemp()) / 'policy.yaml'
    if not path.exists():
        path.write_text(POLICY)
    return make_server(oslo_policy={'policy_file': str(path)})


@pytest.fixture
def keystone_server(make_server) -> Server:
    return make_server(DEFAULT={'auth_strategy': 'keystone'},
                       keystone_authtoken=UNREACHABLE_KEYSTONE)


def queue_names(api: ApiClient) -> list[str]:
    return [q['name'] for q in api.get('/v2/queues').json()['queues']]


# -- policy ---------------------------------------------------------------

def test_denied_rule_is_403_and_changes_nothing(policy_server: Server
                                                ) -> None:
    api = policy_server.client()
    api.create_queue('kept')
    resp = api.delete('/v2/queues/kept')
    assert_error(resp, 403, 'Not authorized', 'not authorized')
    assert queue_names(api) == ['kept']


def test_denied_rule_holds_for_admins_too(policy_server: Server) -> None:
    api = policy_server.client(extra_headers={'X-Roles': 'admin'})
    api.create_queue('kept')
    assert api.delete('/v2/queues/kept').status_code == 403
    assert queue_names(api) == ['kept']


def test_role_rule_denies_other_roles(policy_server: Server) -> None:
    api = policy_server.client(extra_headers={'X-Roles': 'member,reader'})
    resp = api.post('/v2/queues/posts/messages',
                    json={'messages': [{'body': 1}]})
    assert_error(resp, 403, 'Not authorized')
    # Refused before anything happens: not even the lazy queue exists.
    assert queue_names(api) == []
    assert api.stats('posts')['total'] == 0


def test_role_rule_allows_the_role(policy_server: Server) -> None:
    api = policy_server.client(extra_headers={'X-Roles': 'member,admin'})
    assert api.post('/v2/queues/posts/messages',
                    json={'messages': [{'body': 1}]}).status_code == 201
    assert api.stats('posts')['total'] == 1


def test_rules_not_in_the_file_keep_defaults(policy_server: Server) -> None:
    api = policy_server.client()
    assert api.put('/v2/queues/open').status_code == 201
    assert api.get('/v2/queues/open').status_code == 200
    assert api.get('/v2/queues/open/stats').status_code == 200
    assert api.post('/v2/queues/open/claims', json={}).status_code == 204


# -- keystone -------------------------------------------------------------

def test_version_list_needs_no_token(keystone_server: Server) -> None:
    resp = requests.get(keystone_server.url + '/', timeout=30)
    assert resp.status_code == 300


@pytest.mark.parametrize(('method', 'path'), [
    ('GET', '/v2/queues'),
    ('PUT', '/v2/queues/q'),
    ('POST', '/v2/queues/q/messages'),
    ('GET', '/v2/'),
    ('GET', '/v2/ping'),
])
def test_request_without_token_is_401(keystone_server: Server, method: str,
                                      path: str) -> None:
    api = keystone_server.client()
    resp = api.request(method, path, json={'messages': [{'body': 1}]}
                       if path.endswith('messages') else None)
    # No token: refused without asking Keystone.
    assert_error(resp, 401, 'Unauthorized')
    assert 'WWW-Authenticate' in resp.headers


@pytest.mark.parametrize('token', ['bogus', 'gAAAAABfake-token-' + 'x' * 100])
def test_unverifiable_token_is_503(keystone_server: Server, token: str
                                   ) -> None:
    api = keystone_server.client(extra_headers={'X-Auth-Token': token})
    for method, path in (('GET', '/v2/queues'), ('PUT', '/v2/queues/q')):
        resp = api.request(method, path)
        # Keystone is unreachable, so the token can be neither accepted
        # nor refused: auth_token says the service is unavailable.
        assert_error(resp, 503, 'Service Unavailable')
    assert keystone_server.client().get('/v2/queues').status_code == 401


def test_headers_do_not_replace_a_token(keystone_server: Server) -> None:
    # Without keystone the project comes from X-Project-Id; with it, such
    # headers alone must not authenticate anyone.
    api = keystone_server.client(extra_headers={
        'X-Roles': 'admin', 'X-Identity-Status': 'Confirmed',
        'X-User-Id': 'someone'})
    assert_error(api.get('/v2/queues'), 401, 'Unauthorized')
