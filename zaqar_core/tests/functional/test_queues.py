"""Queues: create, get, list, delete, stats, purge and JSON-patch updates."""

from __future__ import annotations

import re
from typing import Any

import pytest

from .helpers import JSON_PATCH
from .helpers import RESERVED_DEFAULTS
from .helpers import ApiClient
from .helpers import assert_error
from .helpers import query_of

CREATED_RE = re.compile(r'^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$')


def patch(client: ApiClient, queue: str, ops: Any, **kwargs: Any):
    return client.patch(f'/v2/queues/{queue}', json=ops,
                        headers={'Content-Type': JSON_PATCH}, **kwargs)


def metadata(client: ApiClient, queue: str) -> dict:
    resp = client.get(f'/v2/queues/{queue}')
    assert resp.status_code == 200, resp.text
    return resp.json()


def list_names(client: ApiClient, **params: Any) -> list[str]:
    resp = client.get('/v2/queues', params=params)
    assert resp.status_code == 200, resp.text
    return [q['name'] for q in resp.json()['queues']]


def walk_queue_pages(client: ApiClient, max_pages: int = 20, **params: Any
                     ) -> list[list[str]]:
    """Follow ``next`` links until an empty page; return each page's names.

    Bounded, so a server whose marker never advances fails the test
    instead of hanging it.
    """
    pages: list[list[str]] = []
    resp = client.get('/v2/queues', params=params)
    for _ in range(max_pages):
        assert resp.status_code == 200, resp.text
        body = resp.json()
        names = [q['name'] for q in body['queues']]
        pages.append(names)
        if not names:
            assert body['links'] == []
            return pages
        [link] = [ln for ln in body['links'] if ln['rel'] == 'next']
        resp = client.get(link['href'])
    raise AssertionError(f'paging did not end after {max_pages} pages: '
                         f'{pages}')


# -- create -------------------------------------------------------------------

def test_create_queue_is_201_with_location_and_no_body(
        client: ApiClient) -> None:
    resp = client.put('/v2/queues/fresh')
    assert resp.status_code == 201
    assert resp.headers['Location'] == '/v2/queues/fresh'
    assert resp.content == b''


def test_create_existing_queue_is_204(client: ApiClient) -> None:
    assert client.put('/v2/queues/twice').status_code == 201
    resp = client.put('/v2/queues/twice')
    assert resp.status_code == 204
    assert resp.content == b''


def test_create_with_metadata_stores_it(client: ApiClient) -> None:
    meta = {'color': 'blue', 'nested': {'a': [1, 2]}, 'n': 5}
    resp = client.put('/v2/queues/withmeta', json=meta)
    assert resp.status_code == 201
    assert metadata(client, 'withmeta') == {**RESERVED_DEFAULTS, **meta}


def test_create_with_empty_object_body(client: ApiClient) -> None:
    assert client.put('/v2/queues/emptymeta', json={}).status_code == 201
    assert metadata(client, 'emptymeta') == RESERVED_DEFAULTS


def test_create_with_reserved_metadata_keeps_values(client: ApiClient
                                                    ) -> None:
    reserved = {'_default_message_ttl': 120, '_max_messages_post_size': 1024,
                '_default_message_delay': 5, '_max_claim_count': 3,
                '_dead_letter_queue': 'dead',
                '_dead_letter_queue_messages_ttl': 600}
    client.create_queue('reserved', reserved)
    assert metadata(client, 'reserved') == {**RESERVED_DEFAULTS, **reserved}


# -- reserved metadata validation (facts 2.1) ---------------------------------

INVALID_RESERVED = [
    ('_max_messages_post_size', 0),
    ('_max_messages_post_size', -1),
    ('_max_messages_post_size', 262145),
    ('_max_messages_post_size', 'big'),
    ('_max_messages_post_size', 1.5),
    ('_default_message_ttl', 59),
    ('_default_message_ttl', 1209601),
    ('_default_message_ttl', -1),
    ('_default_message_ttl', 'long'),
    ('_default_message_delay', -1),
    ('_default_message_delay', 901),
    ('_default_message_delay', 'soon'),
    ('_dead_letter_queue_messages_ttl', 59),
    ('_dead_letter_queue_messages_ttl', 1209601),
    ('_dead_letter_queue_messages_ttl', 'x'),
    ('_max_claim_count', 'many'),
    ('_enable_encrypt_messages', 'yes'),
    ('_enable_encrypt_messages', 1),
]

VALID_RESERVED = [
    ('_max_messages_post_size', 1),
    ('_max_messages_post_size', 262144),
    ('_default_message_ttl', 60),
    ('_default_message_ttl', 1209600),
    ('_default_message_delay', 0),
    ('_default_message_delay', 900),
    ('_dead_letter_queue_messages_ttl', 60),
    ('_dead_letter_queue_messages_ttl', 1209600),
    ('_max_claim_count', 2),
    ('_enable_encrypt_messages', False),
]


@pytest.mark.parametrize(('key', 'value'), INVALID_RESERVED)
def test_invalid_reserved_metadata_on_create_is_400(
        client: ApiClient, key: str, value: Any) -> None:
    resp = client.put('/v2/queues/resv', json={key: value})
    # Upstream names the key only when its type is wrong.
    assert_error(resp, 400, 'Invalid API request',
                 key if isinstance(value, str) else None)
    assert list_names(client) == []
    assert metadata(client, 'resv')[key] == RESERVED_DEFAULTS[key]


@pytest.mark.parametrize(('key', 'value'), VALID_RESERVED)
def test_valid_reserved_metadata_boundaries_are_accepted(
        client: ApiClient, key: str, value: Any) -> None:
    assert client.put('/v2/queues/resok', json={key: value}
                      ).status_code == 201
    expected = value if value else RESERVED_DEFAULTS[key]
    assert metadata(client, 'resok')[key] == expected


def test_unknown_underscore_keys_are_plain_metadata(client: ApiClient
                                                    ) -> None:
    client.create_queue('underscore', {'_custom': 'x'})
    assert metadata(client, 'underscore')['_custom'] == 'x'


# -- get ----------------------------------------------------------------------

def test_get_missing_queue_is_200_with_defaults(client: ApiClient) -> None:
    # Queues are lazy: tempest expects 200 and the defaults.
    assert metadata(client, 'ghost') == RESERVED_DEFAULTS
    assert list_names(client) == []


def test_get_queue_fills_falsy_reserved_values(client: ApiClient) -> None:
    client.create_queue('falsy', {'_dead_letter_queue': '',
                                  '_default_message_delay': 0})
    meta = metadata(client, 'falsy')
    assert meta['_dead_letter_queue'] is None
    assert meta['_default_message_delay'] == 0


# -- delete -------------------------------------------------------------------

def test_delete_queue_is_204_and_idempotent(client: ApiClient) -> None:
    client.create_queue('doomed', {'k': 1})
    for _ in range(2):
        resp = client.delete('/v2/queues/doomed')
        assert resp.status_code == 204
        assert resp.content == b''
    assert list_names(client) == []
    assert metadata(client, 'doomed') == RESERVED_DEFAULTS


def test_delete_missing_queue_is_204(client: ApiClient) -> None:
    assert client.delete('/v2/queues/never').status_code == 204


def test_delete_queue_removes_its_messages_and_claims(client: ApiClient
                                                      ) -> None:
    client.post_messages('gone', 'a', 'b')
    claim_id, _ = client.claim('gone', limit=1)
    assert client.delete('/v2/queues/gone').status_code == 204
    assert client.get(f'/v2/queues/gone/claims/{claim_id}'
                      ).status_code == 404
    client.create_queue('gone')
    assert client.list_messages('gone') == []
    assert client.stats('gone') == {'claimed': 0, 'free': 0, 'total': 0}


# -- list ---------------------------------------------------------------------

def test_list_empty_project(client: ApiClient) -> None:
    resp = client.get('/v2/queues')
    assert resp.status_code == 200
    assert resp.json() == {'queues': [], 'links': []}


def test_list_items_have_exact_keys_and_are_sorted(client: ApiClient
                                                   ) -> None:
    for name in ('pear', 'apple', 'fig'):
        client.create_queue(name, {'secret': name})
    queues = client.get('/v2/queues').json()['queues']
    assert [q['name'] for q in queues] == ['apple', 'fig', 'pear']
    for queue in queues:
        assert set(queue) == {'name', 'href'}
        assert queue['href'] == f'/v2/queues/{queue["name"]}'


def test_list_detailed_adds_metadata_with_defaults(client: ApiClient
                                                   ) -> None:
    client.create_queue('detail', {'k': 'v', '_default_message_ttl': 90})
    [queue] = client.get('/v2/queues',
                         params={'detailed': 'true'}).json()['queues']
    assert set(queue) == {'name', 'href', 'metadata'}
    assert queue['metadata'] == {**RESERVED_DEFAULTS, 'k': 'v',
                                 '_default_message_ttl': 90}


def test_list_detailed_false_has_no_metadata(client: ApiClient) -> None:
    client.create_queue('plain', {'k': 'v'})
    [queue] = client.get('/v2/queues',
                         params={'detailed': 'false'}).json()['queues']
    assert set(queue) == {'name', 'href'}


@pytest.mark.known_upstream_bug(
    'not in facts 10.1: the sqlalchemy management store answers '
    '"count": true instead of the number of queues')
def test_list_with_count(client: ApiClient) -> None:
    for name in ('c1', 'c2', 'c3'):
        client.create_queue(name)
    body = client.get('/v2/queues',
                      params={'with_count': 'true', 'limit': 2}).json()
    assert body['count'] == 3
    assert len(body['queues']) == 2
    assert 'count' not in client.get('/v2/queues').json()


def test_list_default_page_is_10_and_max_is_20(client: ApiClient) -> None:
    names = [f'q{i:02d}' for i in range(21)]
    for name in names:
        client.create_queue(name)
    assert list_names(client) == names[:10]
    assert list_names(client, limit=20) == names[:20]
    assert_error(client.get('/v2/queues', params={'limit': 21}), 400,
                 'Invalid API request', 'Limit')


def test_list_paging_follows_next_links(client: ApiClient) -> None:
    names = ['a1', 'a2', 'a3', 'a4', 'a5']
    for name in names:
        client.create_queue(name)
    pages = walk_queue_pages(client, limit=2)
    assert pages == [['a1', 'a2'], ['a3', 'a4'], ['a5'], []]


def test_list_next_link_echoes_params_and_marker(client: ApiClient) -> None:
    for name in ('m1', 'm2', 'm3'):
        client.create_queue(name)
    body = client.get('/v2/queues',
                      params={'limit': 2, 'detailed': 'true'}).json()
    [link] = body['links']
    assert link['rel'] == 'next'
    assert link['href'].startswith('/v2/queues?')
    query = query_of(link['href'])
    assert query['marker'] == ['m2']
    assert query['limit'] == ['2']
    assert query['detailed'] == ['true']


def test_list_marker_skips_up_to_and_including_it(client: ApiClient) -> None:
    for name in ('k1', 'k2', 'k3'):
        client.create_queue(name)
    assert list_names(client, marker='k2') == ['k3']
    assert list_names(client, marker='k0') == ['k1', 'k2', 'k3']
    assert list_names(client, marker='k3') == []


@pytest.mark.known_upstream_bug(
    'facts 10.1 #2: a marker equal to the first queue returns the first '
    'page again (redis management store only)')
def test_list_paging_one_per_page(client: ApiClient) -> None:
    for name in ('s1', 's2', 's3'):
        client.create_queue(name)
    assert walk_queue_pages(client, limit=1) == [['s1'], ['s2'], ['s3'], []]


@pytest.mark.known_upstream_bug(
    'facts 10.1 #4: queue names with dots are listed truncated (redis '
    'management store only)')
def test_list_queue_names_with_dots(client: ApiClient) -> None:
    for name in ('a.b', 'c.d.e', 'plain'):
        client.create_queue(name)
    assert list_names(client) == ['a.b', 'c.d.e', 'plain']
    assert walk_queue_pages(client, limit=1) == [
        ['a.b'], ['c.d.e'], ['plain'], []]


def test_dotted_queue_holds_messages(client: ApiClient) -> None:
    [msg_id] = client.post_messages('dot.ted', {'x': 1})
    resp = client.get(f'/v2/queues/dot.ted/messages/{msg_id}')
    assert resp.status_code == 200
    assert resp.json()['body'] == {'x': 1}


def test_lazily_created_queue_is_listed(client: ApiClient) -> None:
    client.post_messages('lazy', 'x')
    assert list_names(client) == ['lazy']


# -- stats --------------------------------------------------------------------

def test_stats_of_missing_queue_are_zero(client: ApiClient) -> None:
    resp = client.get('/v2/queues/nothing/stats')
    assert resp.status_code == 200
    assert resp.json() == {'messages': {'claimed': 0, 'free': 0, 'total': 0}}
    assert list_names(client) == []


def test_stats_of_empty_queue_are_zero(client: ApiClient) -> None:
    client.create_queue('empty')
    assert client.get('/v2/queues/empty/stats').json() == {
        'messages': {'claimed': 0, 'free': 0, 'total': 0}}


def test_stats_count_free_and_claimed(client: ApiClient) -> None:
    client.post_messages('counted', 1, 2, 3)
    client.claim('counted', limit=2)
    stats = client.stats('counted')
    assert (stats['claimed'], stats['free'], stats['total']) == (2, 1, 3)


def test_stats_oldest_and_newest(client: ApiClient) -> None:
    first, _, last = client.post_messages('ages', 'a', 'b', 'c')
    stats = client.stats('ages')
    for key, msg_id in (('oldest', first), ('newest', last)):
        entry = stats[key]
        assert {'href', 'age', 'created'} <= set(entry), entry
        assert entry['href'] == f'/v2/queues/ages/messages/{msg_id}'
        assert CREATED_RE.match(entry['created']), entry
        assert isinstance(entry['age'], int) and entry['age'] >= 0


# -- purge --------------------------------------------------------------------

def test_purge_messages_keeps_metadata(client: ApiClient) -> None:
    client.create_queue('purged', {'keep': 'me'})
    client.post_messages('purged', 1, 2)
    resp = client.post('/v2/queues/purged/purge',
                       json={'resource_types': ['messages']})
    assert resp.status_code == 204
    assert client.stats('purged')['total'] == 0
    assert metadata(client, 'purged')['keep'] == 'me'
    assert list_names(client) == ['purged']


def test_purge_without_body_purges_messages(client: ApiClient) -> None:
    client.post_messages('purgeall', 1, 2)
    assert client.post('/v2/queues/purgeall/purge').status_code == 204
    assert client.stats('purgeall')['total'] == 0


BAD_TYPES = 'Resource types must be a sub set'


@pytest.mark.parametrize(('body', 'description'), [
    pytest.param({}, 'resource_types', id='no-resource-types'),
    pytest.param({'resource_types': ['bogus']}, BAD_TYPES,
                 id='unknown-type'),
    pytest.param({'resource_types': ['messages', 'queues']}, BAD_TYPES,
                 id='mixed'),
    pytest.param({'resource_types': 'messages'}, BAD_TYPES,
                 id='not-a-list'),
])
def test_purge_with_bad_body_is_400(client: ApiClient, body: dict,
                                    description: str) -> None:
    client.post_messages('badpurge', 1)
    assert_error(client.post('/v2/queues/badpurge/purge', json=body), 400,
                 'Invalid API request', description)
    assert client.stats('badpurge')['total'] == 1


# -- PATCH (facts 1.4) --------------------------------------------------------

def test_patch_add_returns_full_metadata(client: ApiClient) -> None:
    client.create_queue('p', {'old': 1})
    resp = patch(client, 'p', [{'op': 'add', 'path': '/metadata/new',
                                'value': {'x': [1]}}])
    assert resp.status_code == 200
    expected = {**RESERVED_DEFAULTS, 'old': 1, 'new': {'x': [1]}}
    assert resp.json() == expected
    assert metadata(client, 'p') == expected


def test_patch_add_overwrites(client: ApiClient) -> None:
    client.create_queue('p', {'k': 1})
    patch(client, 'p', [{'op': 'add', 'path': '/metadata/k', 'value': 2}])
    assert metadata(client, 'p')['k'] == 2


def test_patch_replace_existing_key(client: ApiClient) -> None:
    client.create_queue('p', {'k': 1})
    resp = patch(client, 'p', [{'op': 'replace', 'path': '/metadata/k',
                                'value': 'two'}])
    assert resp.status_code == 200
    assert resp.json()['k'] == 'two'


def test_patch_replace_missing_key_is_409(client: ApiClient) -> None:
    client.create_queue('p', {'k': 1})
    resp = patch(client, 'p', [{'op': 'replace', 'path': '/metadata/nokey',
                                'value': 1}])
    assert_error(resp, 409, 'Resource conflict')
    assert metadata(client, 'p') == {**RESERVED_DEFAULTS, 'k': 1}


def test_patch_replace_unset_reserved_key_is_allowed(client: ApiClient
                                                     ) -> None:
    client.create_queue('p')
    resp = patch(client, 'p', [{'op': 'replace',
                                'path': '/metadata/_max_claim_count',
                                'value': 3}])
    assert resp.status_code == 200
    assert resp.json()['_max_claim_count'] == 3


def test_patch_remove_existing_key(client: ApiClient) -> None:
    client.create_queue('p', {'k': 1, 'j': 2})
    resp = patch(client, 'p', [{'op': 'remove', 'path': '/metadata/k'}])
    assert resp.status_code == 200
    assert resp.json() == {**RESERVED_DEFAULTS, 'j': 2}


def test_patch_remove_missing_reserved_key_is_noop(client: ApiClient
                                                   ) -> None:
    client.create_queue('p', {'k': 1})
    resp = patch(client, 'p', [{'op': 'remove',
                                'path': '/metadata/_default_message_delay'}])
    assert resp.status_code == 200
    assert resp.json() == {**RESERVED_DEFAULTS, 'k': 1}


def test_patch_remove_missing_key_is_409(client: ApiClient) -> None:
    client.create_queue('p', {'k': 1})
    resp = patch(client, 'p', [{'op': 'remove', 'path': '/metadata/zzz'}])
    assert_error(resp, 409, 'Resource conflict')


def test_patch_python_zaqarclient_style_reset(client: ApiClient) -> None:
    # The client removes every key it saw in GET, reserved ones included,
    # then adds the new ones: all of it must go through in one request.
    client.create_queue('p', {'old': 1})
    ops = [{'op': 'remove', 'path': f'/metadata/{key}'}
           for key in metadata(client, 'p')]
    ops.append({'op': 'add', 'path': '/metadata/fresh', 'value': True})
    resp = patch(client, 'p', ops)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {**RESERVED_DEFAULTS, 'fresh': True}


def test_patch_ops_apply_in_order(client: ApiClient) -> None:
    client.create_queue('p')
    resp = patch(client, 'p', [
        {'op': 'add', 'path': '/metadata/k', 'value': 1},
        {'op': 'replace', 'path': '/metadata/k', 'value': 2},
        {'op': 'remove', 'path': '/metadata/k'},
        {'op': 'add', 'path': '/metadata/k', 'value': 3},
    ])
    assert resp.json()['k'] == 3


def test_patch_root_is_case_insensitive(client: ApiClient) -> None:
    client.create_queue('p')
    resp = patch(client, 'p', [{'op': 'add', 'path': '/METADATA/Up',
                                'value': 1}])
    assert resp.status_code == 200
    assert resp.json()['Up'] == 1


@pytest.mark.parametrize(('path', 'key'), [('/metadata/a~1b', 'a/b'),
                                           ('/metadata/a~0b', 'a~b'),
                                           ('/metadata/~01', '~1')])
def test_patch_pointer_escapes(client: ApiClient, path: str, key: str
                               ) -> None:
    client.create_queue('p')
    resp = patch(client, 'p', [{'op': 'add', 'path': path, 'value': 1}])
    assert resp.status_code == 200
    assert resp.json()[key] == 1


def test_patch_validates_resulting_reserved_values(client: ApiClient) -> None:
    client.create_queue('p', {'k': 1})
    resp = patch(client, 'p', [
        {'op': 'add', 'path': '/metadata/x', 'value': 1},
        {'op': 'add', 'path': '/metadata/_default_message_ttl', 'value': 10},
    ])
    # Upstream titles whatever is wrong with a patch as a bad body.
    assert_error(resp, 400, 'Invalid request body', '_default_message_ttl')
    # All or nothing: the valid op before it is not applied either.
    assert metadata(client, 'p') == {**RESERVED_DEFAULTS, 'k': 1}


def test_patch_missing_queue_is_404(client: ApiClient) -> None:
    resp = patch(client, 'nosuch', [{'op': 'add', 'path': '/metadata/k',
                                     'value': 1}])
    assert_error(resp, 404, 'Not found', 'does not exist')
    assert list_names(client) == []


@pytest.mark.parametrize('content_type', [
    'application/json', 'application/json-patch+json', 'text/plain'])
def test_patch_wrong_media_type_is_415(client: ApiClient, content_type: str
                                       ) -> None:
    client.create_queue('p')
    resp = client.patch('/v2/queues/p',
                        json=[{'op': 'add', 'path': '/metadata/k',
                               'value': 1}],
                        headers={'Content-Type': content_type})
    # falcon's own title, as upstream answers.
    assert_error(resp, 415, '415 Unsupported Media Type', 'Accept-Patch')
    assert 'k' not in metadata(client, 'p')


def test_patch_empty_body_is_400(client: ApiClient) -> None:
    client.create_queue('p')
    resp = client.patch('/v2/queues/p', data=b'',
                        headers={'Content-Type': JSON_PATCH})
    assert_error(resp, 400, 'Invalid request body',
                 'PATCH body could not be empty')


@pytest.mark.known_upstream_bug(
    'facts 10.1 #7: PATCH queue with an object body gives 503')
@pytest.mark.parametrize('body', [{}, {'op': 'add', 'path': '/metadata/k',
                                       'value': 1}])
def test_patch_object_body_is_400(client: ApiClient, body: dict) -> None:
    client.create_queue('p')
    assert_error(patch(client, 'p', body), 400, 'Invalid request body')
    assert metadata(client, 'p') == RESERVED_DEFAULTS


BAD_OPS = [
    pytest.param({'op': 'move', 'path': '/metadata/k', 'from': '/x'},
                 id='move'),
    pytest.param({'op': 'copy', 'path': '/metadata/k', 'from': '/x'},
                 id='copy'),
    pytest.param({'op': 'test', 'path': '/metadata/k', 'value': 1},
                 id='test'),
    pytest.param({'path': '/metadata/k', 'value': 1}, id='no-op'),
    pytest.param({'op': 'add', 'path': '/metadata/k'}, id='add-no-value'),
    pytest.param({'op': 'replace', 'path': '/metadata/k'},
                 id='replace-no-value'),
    pytest.param({'op': 'add', 'value': 1}, id='no-path'),
    pytest.param({'op': 'add', 'path': 'metadata/k', 'value': 1},
                 id='relative-path'),
    pytest.param({'op': 'add', 'path': '/metadata', 'value': 1},
                 id='one-token'),
    pytest.param({'op': 'add', 'path': '/metadata/a/b', 'value': 1},
                 id='three-tokens'),
    pytest.param({'op': 'add', 'path': '/metadata/', 'value': 1},
                 id='trailing-slash'),
    pytest.param({'op': 'add', 'path': '/metadata//k', 'value': 1},
                 id='double-slash'),
    pytest.param({'op': 'add', 'path': '/other/k', 'value': 1},
                 id='wrong-root'),
    pytest.param({'op': 'add', 'path': '/metadata/a~2b', 'value': 1},
                 id='bad-escape'),
    pytest.param(1, id='op-not-object'),
    pytest.param('add', id='op-string'),
]


@pytest.mark.parametrize('op', BAD_OPS)
def test_patch_bad_operation_is_400(client: ApiClient, op: Any) -> None:
    client.create_queue('p', {'k': 1})
    # Upstream's descriptions differ in wording; its title is this.
    assert_error(patch(client, 'p', [op]), 400, 'Invalid request body')
    assert metadata(client, 'p') == {**RESERVED_DEFAULTS, 'k': 1}


@pytest.mark.known_upstream_bug(
    'not in facts 10.1: a non-string op path gives 503 upstream')
@pytest.mark.parametrize('path', [5, None, ['metadata', 'k']])
def test_patch_non_string_path_is_400(client: ApiClient, path: Any) -> None:
    client.create_queue('p', {'k': 1})
    resp = patch(client, 'p', [{'op': 'add', 'path': path, 'value': 1}])
    assert_error(resp, 400, 'Invalid request body', 'path')
    assert metadata(client, 'p') == {**RESERVED_DEFAULTS, 'k': 1}


def test_patch_metadata_over_64k_is_400(client: ApiClient) -> None:
    client.create_queue('p')
    resp = patch(client, 'p', [{'op': 'add', 'path': '/metadata/big',
                                'value': 'x' * 70000}])
    # Not the title: upstream's is "Invalid request body" (as for every
    # refused PATCH), ours "Invalid API request" (as for a PUT).
    assert_error(resp, 400, description='too large')
    assert 'big' not in metadata(client, 'p')


# -- lazy resources (facts 1.6) -------------------------------------------

# (method, path under /v2/queues/absent, expected status). None of these
# may create the queue.
LAZY_MATRIX = [
    ('GET', '', 200),
    ('GET', '/stats', 200),
    ('DELETE', '', 204),
    ('GET', '/messages', 200),
    ('GET', '/messages?ids=0123456789abcdef01234567', 404),
    ('GET', '/messages/0123456789abcdef01234567', 404),
    ('DELETE', '/messages?ids=0123456789abcdef01234567', 204),
    ('DELETE', '/messages/0123456789abcdef01234567', 204),
    ('DELETE', '/messages?pop=1', 200),
    ('POST', '/claims', 204),
    ('GET', '/claims/0123456789abcdef01234567', 404),
    ('PATCH', '/claims/0123456789abcdef01234567', 404),
    ('DELETE', '/claims/0123456789abcdef01234567', 204),
]


@pytest.mark.parametrize(('method', 'suffix', 'status'), LAZY_MATRIX)
def test_operations_on_missing_queue(client: ApiClient, method: str,
                                     suffix: str, status: int) -> None:
    body = {'ttl': 100} if method in ('POST', 'PATCH') else None
    resp = client.request(method, f'/v2/queues/absent{suffix}', json=body)
    assert resp.status_code == status, resp.text
    assert list_names(client) == []
