"""Keystone authentication and multi-tenancy with real tokens."""

from __future__ import annotations

import uuid

import pytest
import requests

from zaqar_core.tests.functional.helpers import assert_error

from .conftest import Stack
from .conftest import unique


def anonymous(**headers: str) -> dict[str, str]:
    return {'Client-ID': str(uuid.uuid4()), **headers}


def queue_names(stack: Stack, user: str, **kwargs: str) -> set[str]:
    """Every queue ``user`` sees (all pages: the stack's store outlives
    test runs)."""
    api = stack.api(user, **kwargs)
    names: set[str] = set()
    params: dict[str, str] = {}
    while True:
        resp = api.get('/v2/queues', params=params)
        assert resp.status_code == 200, resp.text
        queues = resp.json()['queues']
        if not queues:
            return names
        names.update(q['name'] for q in queues)
        params = {'marker': queues[-1]['name']}


def test_version_document_needs_no_token(stack: Stack) -> None:
    resp = requests.get(stack.url + '/', timeout=10)
    assert resp.status_code in (200, 300), resp.text
    assert [v['id'] for v in resp.json()['versions']] == ['2']


@pytest.mark.parametrize('method,path', [
    ('GET', '/v2/queues'),
    ('PUT', '/v2/queues/anonymous'),
    ('GET', '/v2/ping'),
])
def test_no_token_is_401_with_a_json_body(stack: Stack, method: str,
                                          path: str) -> None:
    resp = requests.request(method, stack.url + path, timeout=10,
                            headers=anonymous(**{'X-Project-Id': 'demo'}))
    assert_error(resp, 401, 'Unauthorized')
    # Where to get a token: the real Keystone.
    assert 'WWW-Authenticate' in resp.headers
    assert stack.auth_url.removesuffix('/v3') in \
        resp.headers['WWW-Authenticate']


@pytest.mark.parametrize('token', ['bogus', 'gAAAAAB' + 'x' * 180])
def test_bad_token_is_401_with_a_json_body(stack: Stack, token: str) -> None:
    resp = requests.get(stack.url + '/v2/queues', timeout=10,
                        headers=anonymous(**{'X-Auth-Token': token}))
    assert_error(resp, 401, 'Unauthorized')


def test_identity_headers_without_a_token_are_401(stack: Stack) -> None:
    # What auth_token would set from a token cannot be sent instead of one.
    demo = stack.users['demo']
    resp = requests.get(stack.url + '/v2/queues', timeout=10,
                        headers=anonymous(**{
                            'X-Project-Id': demo.project_id,
                            'X-Identity-Status': 'Confirmed',
                            'X-Roles': 'admin', 'X-User-Id': demo.user_id}))
    assert_error(resp, 401, 'Unauthorized')


def test_a_real_token_is_accepted(stack: Stack) -> None:
    api = stack.api('demo')
    assert api.get('/v2/ping').status_code == 204
    assert api.get('/v2/queues').status_code == 200


def test_the_project_comes_from_the_token(stack: Stack) -> None:
    demo, alt = stack.users['demo'], stack.users['alt']
    name = unique('demo-owned')
    # demo names alt's project in X-Project-Id: the token's project wins.
    as_alt = stack.api('demo', project_id=alt.project_id)
    resp = as_alt.put(f'/v2/queues/{name}')
    assert resp.status_code == 201, resp.text
    try:
        assert as_alt.post(f'/v2/queues/{name}/messages', json={
            'messages': [{'body': 'from demo', 'ttl': 300}]}
        ).status_code == 201
        assert name in queue_names(stack, 'demo')
        assert name not in queue_names(stack, 'alt')
        alt_api = stack.api('alt')
        assert alt_api.get(f'/v2/queues/{name}/stats').json()[
            'messages']['total'] == 0
        assert stack.api('demo').stats(name)['total'] == 1
        # ... and alt cannot get at it by naming demo's project either.
        assert name not in queue_names(stack, 'alt',
                                       project_id=demo.project_id)
    finally:
        stack.api('demo').delete(f'/v2/queues/{name}')


def test_another_projects_queue_is_out_of_reach(stack: Stack) -> None:
    alt = stack.users['alt']
    name = unique('alt-owned')
    alt_api = stack.api('alt')
    alt_api.create_queue(name, {'owner': 'alt'})
    try:
        alt_api.post_messages(name, {'secret': 1}, ttl=300)
        # demo sends alt's project id with demo's token.
        intruder = stack.api('demo', project_id=alt.project_id)
        assert name not in queue_names(stack, 'demo',
                                       project_id=alt.project_id)
        resp = intruder.get(f'/v2/queues/{name}/messages',
                            params={'echo': 'true'})
        assert resp.status_code == 200, resp.text
        assert resp.json()['messages'] == []
        assert 'owner' not in intruder.get(f'/v2/queues/{name}').json()
        assert intruder.delete(f'/v2/queues/{name}').status_code == 204
        # Deleting "it" in demo's project left alt's queue alone.
        assert alt_api.stats(name)['total'] == 1
        assert alt_api.get(f'/v2/queues/{name}').json()['owner'] == 'alt'
    finally:
        alt_api.delete(f'/v2/queues/{name}')


def test_health_is_for_admins(stack: Stack) -> None:
    # admin_mode is on in the stack; "health:get" is "role:admin".
    resp = stack.api('admin').get('/v2/health')
    assert resp.status_code == 200, resp.text
    assert resp.json()['storage_reachable'] is True
    assert_error(stack.api('demo').get('/v2/health'), 403, 'Not authorized')
    assert_error(stack.api('alt').get('/v2/health'), 403, 'Not authorized')

