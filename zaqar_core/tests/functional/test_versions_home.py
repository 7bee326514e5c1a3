"""Version discovery (``GET /``), the JSON-Home document, ping and health."""

from __future__ import annotations

import pytest
import requests

from .helpers import ApiClient
from .helpers import Server
from .helpers import assert_error
from .helpers import media_type

EXPECTED_VERSIONS = {
    'versions': [{
        'id': '2',
        'status': 'CURRENT',
        'updated': '2014-9-24T04:06:47Z',
        'media-types': [{
            'base': 'application/json',
            'type': 'application/vnd.openstack.messaging-v2+json',
        }],
        'links': [{'href': '/v2/', 'rel': 'self'}],
    }],
}

# Resources python-zaqarclient and tempest rely on (facts 1.5), with the
# methods each must allow.
HOME_RESOURCES = {
    'rel/queues': {'GET'},
    'rel/queue': {'GET', 'PUT', 'DELETE', 'PATCH'},
    'rel/queue_stats': {'GET'},
    'rel/queue_purge': {'POST'},
    'rel/messages': {'GET'},
    'rel/post_messages': {'POST'},
    'rel/messages_delete': {'DELETE'},
    'rel/message_get': {'GET'},
    'rel/message_delete': {'DELETE'},
    'rel/claim': {'GET'},
    'rel/post_claim': {'POST'},
    'rel/patch_claim': {'PATCH'},
    'rel/delete_claim': {'DELETE'},
    'rel/ping': {'GET'},
}
ADMIN_RESOURCES = {'rel/health'}


# -- GET / --------------------------------------------------------------------

def test_version_list_is_300_with_exact_document(server: Server) -> None:
    # No Client-ID and no project: discovery must work for anyone.
    resp = requests.get(server.url + '/', timeout=10)
    assert resp.status_code == 300
    assert media_type(resp) == 'application/json'
    assert resp.json() == EXPECTED_VERSIONS


@pytest.mark.parametrize('accept', ['*/*', 'application/json',
                                    'application/*', 'text/html, */*;q=0.1'])
def test_version_list_accepts_json_compatible_accept(
        server: Server, accept: str) -> None:
    resp = requests.get(server.url + '/', headers={'Accept': accept},
                        timeout=10)
    assert resp.status_code == 300


def test_version_list_rejects_unacceptable_accept(server: Server) -> None:
    resp = requests.get(server.url + '/', headers={'Accept': 'text/html'},
                        timeout=10)
    assert resp.status_code == 406


# -- GET /v2/ (JSON-Home) -----------------------------------------------------

def test_home_document_headers(client: ApiClient) -> None:
    resp = client.get('/v2/')
    assert resp.status_code == 200
    assert media_type(resp) == 'application/json-home'
    assert resp.headers.get('Cache-Control') == 'max-age=86400'


def test_home_document_without_the_trailing_slash(client: ApiClient) -> None:
    # A base URL of http://host:8888/v2 is a common client setting.
    resp = client.get('/v2')
    assert resp.status_code == 200, resp.text
    assert media_type(resp) == 'application/json-home'
    assert resp.json() == client.get('/v2/').json()


def test_home_document_lists_queue_message_claim_resources(
        client: ApiClient) -> None:
    resources = client.get('/v2/').json()['resources']
    for rel, methods in HOME_RESOURCES.items():
        assert rel in resources, rel
        entry = resources[rel]
        assert 'href-template' in entry or 'href' in entry, entry
        assert methods <= set(entry['hints']['allow']), (rel, entry)
        assert 'application/json' in entry['hints']['formats'], entry


def test_home_document_templates_point_under_v2(client: ApiClient) -> None:
    resources = client.get('/v2/').json()['resources']
    assert resources['rel/queues']['href-template'].startswith('/v2/queues')
    assert resources['rel/queue']['href-template'].startswith(
        '/v2/queues/{queue_name}')
    assert resources['rel/post_claim']['href-template'].startswith(
        '/v2/queues/{queue_name}/claims')
    post = resources['rel/post_messages']['hints']
    assert 'application/json' in post['accept-post']


def test_home_document_hides_admin_and_topic_resources(
        client: ApiClient) -> None:
    resources = client.get('/v2/').json()['resources']
    assert not ADMIN_RESOURCES & set(resources)
    assert not [rel for rel in resources if 'topic' in rel]


def test_home_document_needs_client_id(server: Server) -> None:
    resp = requests.get(server.url + '/v2/',
                        headers={'X-Project-Id': 'p'}, timeout=10)
    assert_error(resp, 400, 'Missing header value')


def test_home_document_rejects_unacceptable_accept(client: ApiClient) -> None:
    assert client.get('/v2/', headers={'Accept': 'text/html'}
                      ).status_code == 406


@pytest.mark.parametrize('path', ['/v1/queues', '/v1.1/queues', '/v1/',
                                  '/v3/queues'])
def test_removed_api_versions_are_404(client: ApiClient, path: str) -> None:
    resp = client.get(path)
    assert resp.status_code == 404
    assert media_type(resp) == 'application/json'
    assert resp.json().get('title')


# -- ping ---------------------------------------------------------------------

def test_ping_get_is_204_without_body(client: ApiClient) -> None:
    resp = client.get('/v2/ping')
    assert resp.status_code == 204
    assert resp.content == b''


def test_ping_head_is_204(client: ApiClient) -> None:
    assert client.head('/v2/ping').status_code == 204


def test_ping_needs_client_id(server: Server) -> None:
    resp = requests.get(server.url + '/v2/ping',
                        headers={'X-Project-Id': 'p'}, timeout=10)
    assert_error(resp, 400, 'Missing header value')


# -- health -------------------------------------------------------------------

def test_health_is_not_routed_without_admin_mode(client: ApiClient) -> None:
    assert client.get('/v2/health').status_code == 404


def test_health_with_admin_mode_needs_admin_role(make_server) -> None:
    api = make_server(DEFAULT={'admin_mode': True}).client()
    assert_error(api.get('/v2/health'), 403, 'Not authorized')


def test_health_with_admin_mode_reports_storage(make_server) -> None:
    api = make_server(DEFAULT={'admin_mode': True}).client(
        extra_headers={'X-Roles': 'admin'})
    resp = api.get('/v2/health')
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body['storage_reachable'] is True
    operations = body['operation_status']
    for name in ('create_queue', 'post_messages', 'claim_messages',
                 'list_messages', 'delete_messages', 'delete_claim',
                 'bulk_delete_messages', 'delete_queue'):
        assert operations[name]['succeeded'] is True, (name, operations)
        assert set(operations[name]) >= {'succeeded', 'seconds', 'ref'}


def test_home_document_lists_health_in_admin_mode(make_server) -> None:
    api = make_server(DEFAULT={'admin_mode': True}).client()
    resources = api.get('/v2/').json()['resources']
    assert 'rel/health' in resources
