"""Messages: post, list, get, delete, pop, echo and delayed delivery."""

from __future__ import annotations

import time
from typing import Any

import pytest

from zaqar_testing.waiting import eventually

from .helpers import MESSAGE_KEYS
from .helpers import OPTIONAL_MESSAGE_KEYS
from .helpers import POP_KEYS
from .helpers import ApiClient
from .helpers import assert_error
from .helpers import assert_message_shape
from .helpers import ids_of
from .helpers import last_segment
from .helpers import query_of


def get_message(client: ApiClient, queue: str, msg_id: str) -> dict:
    resp = client.get(f'/v2/queues/{queue}/messages/{msg_id}')
    assert resp.status_code == 200, resp.text
    return resp.json()


def message_exists(client: ApiClient, queue: str, msg_id: str) -> bool:
    status = client.get(f'/v2/queues/{queue}/messages/{msg_id}').status_code
    assert status in (200, 404), status
    return status == 200


def walk_message_pages(client: ApiClient, queue: str, max_pages: int = 30,
                       **params: Any) -> list[list[str]]:
    """Follow ``next`` links until an empty page (bounded)."""
    params.setdefault('echo', 'true')
    pages: list[list[str]] = []
    resp = client.get(f'/v2/queues/{queue}/messages', params=params)
    for _ in range(max_pages):
        assert resp.status_code == 200, resp.text
        body = resp.json()
        pages.append(ids_of(body['messages']))
        if not body['messages']:
            return pages
        [link] = [ln for ln in body['links'] if ln['rel'] == 'next']
        resp = client.get(link['href'])
    raise AssertionError(f'paging did not end after {max_pages} pages')


# -- post ---------------------------------------------------------------------

def test_post_is_201_with_location_and_resources(client: ApiClient) -> None:
    resp = client.post('/v2/queues/posted/messages',
                       json={'messages': [{'body': 'a'}, {'body': 'b'}]})
    assert resp.status_code == 201
    body = resp.json()
    assert set(body) == {'resources'}
    ids = [last_segment(href) for href in body['resources']]
    assert body['resources'] == [f'/v2/queues/posted/messages/{i}'
                                 for i in ids]
    assert resp.headers['Location'] == \
        f'/v2/queues/posted/messages?ids={",".join(ids)}'
    assert len(set(ids)) == 2


def test_post_resources_follow_submission_order(client: ApiClient) -> None:
    bodies = [f'body-{i}' for i in range(10)]
    ids = client.post_messages('ordered', *bodies)
    got = [get_message(client, 'ordered', i)['body'] for i in ids]
    assert got == bodies


def test_post_creates_queue_lazily(client: ApiClient) -> None:
    client.post_messages('lazyq', 1)
    names = [q['name'] for q in client.get('/v2/queues').json()['queues']]
    assert names == ['lazyq']


@pytest.mark.parametrize('body', [
    'text', '', 0, -7, 3.25, True, False, None, [], [1, 'two', None],
    {}, {'nested': {'deep': [1, {'x': 'y'}]}}, 'üñí©ødé ✓', '\x00\n\t',
])
def test_body_round_trips_any_json(client: ApiClient, body: Any) -> None:
    [msg_id] = client.post_messages('bodies', body)
    assert get_message(client, 'bodies', msg_id)['body'] == body


def test_get_message_has_exact_keys(client: ApiClient) -> None:
    started = time.monotonic()
    [msg_id] = client.post_messages('shape', {'k': 'v'}, ttl=120)
    msg = get_message(client, 'shape', msg_id)
    assert_message_shape(msg, 'shape')
    assert msg['id'] == msg_id
    assert msg['href'] == f'/v2/queues/shape/messages/{msg_id}'
    assert msg['ttl'] == 120
    # Whole seconds: no more than have passed since it was posted.
    assert 0 <= msg['age'] <= time.monotonic() - started + 1
    assert msg['body'] == {'k': 'v'}


def test_default_ttl_is_3600(client: ApiClient) -> None:
    [msg_id] = client.post_messages('ttldefault', 1)
    assert get_message(client, 'ttldefault', msg_id)['ttl'] == 3600


def test_queue_default_message_ttl_applies(client: ApiClient) -> None:
    client.create_queue('qttl', {'_default_message_ttl': 120})
    [msg_id] = client.post_messages('qttl', 1)
    assert get_message(client, 'qttl', msg_id)['ttl'] == 120


def test_explicit_ttl_beats_queue_default(client: ApiClient) -> None:
    client.create_queue('qttl2', {'_default_message_ttl': 120})
    [msg_id] = client.post_messages('qttl2', 1, ttl=600)
    assert get_message(client, 'qttl2', msg_id)['ttl'] == 600


@pytest.mark.parametrize('ttl', [60, 1209600])
def test_ttl_boundaries_are_accepted(client: ApiClient, ttl: int) -> None:
    [msg_id] = client.post_messages('ttlok', 1, ttl=ttl)
    assert get_message(client, 'ttlok', msg_id)['ttl'] == ttl


def test_unknown_message_fields_are_ignored(client: ApiClient) -> None:
    resp = client.post('/v2/queues/extra/messages',
                       json={'messages': [{'body': 1, 'color': 'red'}]})
    assert resp.status_code == 201
    msg = get_message(client, 'extra', last_segment(
        resp.json()['resources'][0]))
    assert MESSAGE_KEYS <= set(msg) <= MESSAGE_KEYS | OPTIONAL_MESSAGE_KEYS


NO_MESSAGES = ('Invalid API request', 'No messages were found')
BAD_TTL = ('Invalid API request', 'The TTL for a message may not exceed')
# Upstream titles a document of the wrong shape as a bad body.
INVALID_POSTS = [
    pytest.param({}, NO_MESSAGES, id='no-messages-key'),
    pytest.param([{'body': 1}], NO_MESSAGES, id='top-level-array'),
    pytest.param({'messages': []},
                 ('Invalid API request', 'No messages to enqueu'),
                 id='empty-list'),
    pytest.param({'messages': [{'ttl': 60}]},
                 ('Invalid request body', 'Missing "body" field'),
                 id='missing-body'),
    pytest.param({'messages': [{'body': 1, 'ttl': 'x'}]},
                 ('Invalid request body', '"ttl" field must be a int'),
                 id='ttl-not-int'),
    pytest.param({'messages': [{'body': 1, 'ttl': 59}]}, BAD_TTL,
                 id='ttl-too-small'),
    pytest.param({'messages': [{'body': 1, 'ttl': 1209601}]}, BAD_TTL,
                 id='ttl-too-large'),
    pytest.param({'messages': [{'body': 1, 'ttl': 0}]}, BAD_TTL,
                 id='ttl-zero'),
    pytest.param({'messages': [{'body': 1, 'ttl': -60}]}, BAD_TTL,
                 id='ttl-negative'),
    pytest.param({'messages': {'body': 1}},
                 ('Invalid request body', 'Document type not supported'),
                 id='messages-not-list'),
    pytest.param({'messages': [{'body': 1}, {'body': 2, 'ttl': 1}]},
                 BAD_TTL, id='one-bad-in-batch'),
]


@pytest.mark.parametrize(('payload', 'refusal'), INVALID_POSTS)
def test_invalid_post_is_400_and_stores_nothing(
        client: ApiClient, payload: Any, refusal: tuple[str, str]) -> None:
    client.create_queue('invalid')
    resp = client.post('/v2/queues/invalid/messages', json=payload)
    assert_error(resp, 400, *refusal)
    assert client.stats('invalid')['total'] == 0


def test_post_size_limit_of_queue_applies(client: ApiClient) -> None:
    client.create_queue('small', {'_max_messages_post_size': 256})
    resp = client.post('/v2/queues/small/messages',
                       json={'messages': [{'body': 'x' * 300}]})
    assert_error(resp, 400, 'Invalid API request', 'too large')
    assert client.stats('small')['total'] == 0
    client.post_messages('small', 'tiny')


# -- list ---------------------------------------------------------------------

def test_list_missing_queue_is_empty_200(client: ApiClient) -> None:
    resp = client.get('/v2/queues/nope/messages')
    assert resp.status_code == 200
    assert resp.json() == {'messages': [], 'links': []}


def test_list_empty_queue_is_empty_200(client: ApiClient) -> None:
    client.create_queue('blank')
    resp = client.get('/v2/queues/blank/messages', params={'echo': 'true'})
    assert resp.status_code == 200
    assert resp.json() == {'messages': [], 'links': []}


def test_list_items_have_exact_keys(client: ApiClient) -> None:
    ids = client.post_messages('listed', 'a', 'b')
    body = client.get('/v2/queues/listed/messages',
                      params={'echo': 'true'}).json()
    assert set(body) == {'messages', 'links'}
    assert ids_of(body['messages']) == ids
    for msg in body['messages']:
        assert_message_shape(msg, 'listed')


def test_list_hides_own_messages_by_default(client: ApiClient) -> None:
    client.post_messages('echo', *range(5))
    assert client.list_messages('echo', echo='false') == []
    assert client.get('/v2/queues/echo/messages').json()['messages'] == []
    assert len(client.list_messages('echo', echo='true')) == 5


def test_list_shows_other_clients_messages(client: ApiClient) -> None:
    ids = client.post_messages('echo2', *range(5))
    other = client.other_client()
    assert ids_of(other.get('/v2/queues/echo2/messages').json()['messages']
                  ) == ids


def test_list_is_fifo(client: ApiClient) -> None:
    ids = []
    for batch in range(4):
        ids += client.post_messages('fifo', *[f'{batch}-{i}'
                                              for i in range(3)])
    assert ids_of(client.list_messages('fifo', limit=20)) == ids


def test_list_default_page_is_10_and_max_is_20(client: ApiClient) -> None:
    ids = client.post_messages('paged', *range(25))
    assert ids_of(client.list_messages('paged')) == ids[:10]
    assert ids_of(client.list_messages('paged', limit=20)) == ids[:20]
    resp = client.get('/v2/queues/paged/messages', params={'limit': 21})
    assert_error(resp, 400, description='Limit')


def test_list_paging_follows_next_links(client: ApiClient) -> None:
    ids = client.post_messages('walk', *range(7))
    pages = walk_message_pages(client, 'walk', limit=3)
    assert pages == [ids[0:3], ids[3:6], ids[6:7], []]


@pytest.mark.known_upstream_bug(
    'facts 10.1 #2: a marker equal to the first message returns the first '
    'page again (redis)')
def test_list_paging_one_per_page(client: ApiClient) -> None:
    ids = client.post_messages('walk1', 'a', 'b', 'c')
    pages = walk_message_pages(client, 'walk1', limit=1)
    assert pages == [[ids[0]], [ids[1]], [ids[2]], []]


def test_list_next_link_keeps_params(client: ApiClient) -> None:
    client.post_messages('links', *range(3))
    body = client.get('/v2/queues/links/messages',
                      params={'echo': 'true', 'limit': 2}).json()
    [link] = body['links']
    assert link['rel'] == 'next'
    assert link['href'].startswith('/v2/queues/links/messages?')
    query = query_of(link['href'])
    assert query['limit'] == ['2']
    assert query['echo'] == ['true']
    assert 'marker' in query


def test_list_excludes_claimed_by_default(client: ApiClient) -> None:
    ids = client.post_messages('claimedlist', 'a', 'b', 'c')
    client.claim('claimedlist', limit=1)
    assert ids_of(client.list_messages('claimedlist')) == ids[1:]


@pytest.mark.known_upstream_bug(
    'facts 10.1 #3: include_claimed=true without a marker gives 503 (redis)')
def test_list_include_claimed_shows_claim_ids(client: ApiClient) -> None:
    ids = client.post_messages('inclaimed', 'a', 'b', 'c')
    claim_id, _ = client.claim('inclaimed', limit=2)
    msgs = client.list_messages('inclaimed', include_claimed='true')
    assert ids_of(msgs) == ids
    for msg in msgs[:2]:
        assert msg['href'] == (f'/v2/queues/inclaimed/messages/{msg["id"]}'
                               f'?claim_id={claim_id}')
    assert msgs[2]['href'] == f'/v2/queues/inclaimed/messages/{ids[2]}'


# -- get by id and by ids -----------------------------------------------------

def test_get_claimed_message_href_carries_claim_id(client: ApiClient
                                                   ) -> None:
    [msg_id] = client.post_messages('gclaimed', 1)
    claim_id, _ = client.claim('gclaimed')
    msg = get_message(client, 'gclaimed', msg_id)
    assert msg['href'] == \
        f'/v2/queues/gclaimed/messages/{msg_id}?claim_id={claim_id}'


def test_get_missing_message_is_404(client: ApiClient) -> None:
    client.post_messages('gm', 1)
    resp = client.get('/v2/queues/gm/messages/0123456789abcdef01234567')
    assert_error(resp, 404, 'Not found', 'does not exist')


def test_get_message_of_missing_queue_is_404(client: ApiClient) -> None:
    [msg_id] = client.post_messages('real', 1)
    assert_error(client.get(f'/v2/queues/other/messages/{msg_id}'), 404,
                 'Not found', 'does not exist')


def test_get_message_of_other_project_is_404(client: ApiClient) -> None:
    [msg_id] = client.post_messages('private', 1)
    stranger = client.other_project()
    assert stranger.get(f'/v2/queues/private/messages/{msg_id}'
                        ).status_code == 404


def test_get_by_ids(client: ApiClient) -> None:
    ids = client.post_messages('byids', 'a', 'b', 'c')
    resp = client.get(f'/v2/queues/byids/messages?ids={ids[2]},{ids[0]}')
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) == {'messages'}
    assert sorted(ids_of(body['messages'])) == sorted([ids[0], ids[2]])
    for msg in body['messages']:
        assert_message_shape(msg, 'byids')


def test_get_by_ids_skips_missing(client: ApiClient) -> None:
    [msg_id] = client.post_messages('skips', 'a')
    resp = client.get('/v2/queues/skips/messages'
                      f'?ids={msg_id},0123456789abcdef01234567')
    assert ids_of(resp.json()['messages']) == [msg_id]


def test_get_by_ids_none_found_is_404(client: ApiClient) -> None:
    client.post_messages('nonefound', 'a')
    resp = client.get('/v2/queues/nonefound/messages',
                      params={'ids': '0123456789abcdef01234567'})
    assert_error(resp, 404, 'Not found')


def test_get_by_ids_of_missing_queue_is_404(client: ApiClient) -> None:
    resp = client.get('/v2/queues/absent/messages', params={'ids': 'abc'})
    assert resp.status_code == 404


def test_get_by_ids_more_than_20_is_400(client: ApiClient) -> None:
    ids = client.post_messages('many', *range(21))
    resp = client.get(f'/v2/queues/many/messages?ids={",".join(ids)}')
    assert_error(resp, 400, 'Invalid API request',
                 'Limit must be at least 1')


# -- delete one ---------------------------------------------------------------

def test_delete_message(client: ApiClient) -> None:
    keep, doomed = client.post_messages('del', 'keep', 'doomed')
    resp = client.delete(f'/v2/queues/del/messages/{doomed}')
    assert resp.status_code == 204
    assert resp.content == b''
    assert not message_exists(client, 'del', doomed)
    assert message_exists(client, 'del', keep)


def test_delete_missing_message_is_204(client: ApiClient) -> None:
    [msg_id] = client.post_messages('delmiss', 1)
    client.delete(f'/v2/queues/delmiss/messages/{msg_id}')
    assert client.delete(f'/v2/queues/delmiss/messages/{msg_id}'
                         ).status_code == 204
    assert client.delete('/v2/queues/nowhere/messages/abc'
                         ).status_code == 204


def test_delete_claimed_message_without_claim_id_is_403(client: ApiClient
                                                        ) -> None:
    [msg_id] = client.post_messages('guarded', 1)
    client.claim('guarded')
    resp = client.delete(f'/v2/queues/guarded/messages/{msg_id}')
    assert_error(resp, 403, 'Unable to delete', 'This message is claimed')
    assert message_exists(client, 'guarded', msg_id)


def test_delete_claimed_message_with_its_claim_id(client: ApiClient) -> None:
    [msg_id] = client.post_messages('withclaim', 1)
    claim_id, _ = client.claim('withclaim')
    resp = client.delete(f'/v2/queues/withclaim/messages/{msg_id}',
                         params={'claim_id': claim_id})
    assert resp.status_code == 204
    assert not message_exists(client, 'withclaim', msg_id)


def test_delete_unclaimed_message_with_claim_id_is_400(client: ApiClient
                                                       ) -> None:
    claimed, free = client.post_messages('unclaimed', 1, 2)
    claim_id, _ = client.claim('unclaimed', limit=1)
    resp = client.delete(f'/v2/queues/unclaimed/messages/{free}',
                         params={'claim_id': claim_id})
    assert_error(resp, 400, 'Unable to delete', 'not currently claimed')
    assert message_exists(client, 'unclaimed', free)


@pytest.mark.parametrize('bogus', ['not-a-claim', '0' * 24,
                                   'b8194e69-5c0f-447b-9075-22bd56fbf56d'])
def test_delete_with_unknown_claim_id_is_400(client: ApiClient, bogus: str
                                             ) -> None:
    [msg_id] = client.post_messages('wrongclaim', 1)
    client.claim('wrongclaim')
    resp = client.delete(f'/v2/queues/wrongclaim/messages/{msg_id}',
                         params={'claim_id': bogus})
    assert_error(resp, 400, 'Unable to delete',
                 'The specified claim does not exist')
    assert message_exists(client, 'wrongclaim', msg_id)


def test_delete_with_another_messages_claim_id_is_403(client: ApiClient
                                                      ) -> None:
    first, second = client.post_messages('twoclaims', 1, 2)
    claim_a, _ = client.claim('twoclaims', limit=1)
    claim_b, _ = client.claim('twoclaims', limit=1)
    resp = client.delete(f'/v2/queues/twoclaims/messages/{first}',
                         params={'claim_id': claim_b})
    # As upstream: claimed, and not by that (live) claim. An unknown claim
    # id is a 400 (test_delete_with_unknown_claim_id_is_400).
    assert_error(resp, 403, 'Unable to delete', 'This message is claimed')
    assert message_exists(client, 'twoclaims', first)
    assert claim_a != claim_b


# -- bulk delete --------------------------------------------------------------

def test_bulk_delete_by_ids(client: ApiClient) -> None:
    ids = client.post_messages('bulk', *range(5))
    resp = client.delete(
        f'/v2/queues/bulk/messages?ids={",".join(ids[:3])}')
    assert resp.status_code == 204
    assert ids_of(client.list_messages('bulk')) == ids[3:]


def test_bulk_delete_ignores_claims_by_default(client: ApiClient) -> None:
    ids = client.post_messages('bulkclaimed', 1, 2)
    client.claim('bulkclaimed')
    resp = client.delete(
        f'/v2/queues/bulkclaimed/messages?ids={",".join(ids)}')
    assert resp.status_code == 204
    assert client.stats('bulkclaimed')['total'] == 0


def test_bulk_delete_missing_ids_and_queue_is_204(client: ApiClient) -> None:
    client.create_queue('bulkmiss')
    assert client.delete('/v2/queues/bulkmiss/messages',
                         params={'ids': '0123456789abcdef01234567'}
                         ).status_code == 204
    assert client.delete('/v2/queues/nobulk/messages',
                         params={'ids': 'abc'}).status_code == 204


@pytest.mark.parametrize('params', [
    pytest.param({}, id='neither'),
    pytest.param({'ids': 'a', 'pop': 1}, id='both'),
])
def test_bulk_delete_needs_exactly_one_of_ids_or_pop(
        client: ApiClient, params: dict) -> None:
    client.post_messages('bulkbad', 1)
    # Both wordings (ours, upstream's) name the two parameters.
    body = assert_error(client.delete('/v2/queues/bulkbad/messages',
                                      params=params),
                        400, 'Invalid API request', 'pop')
    assert 'id' in body['description'], body
    assert client.stats('bulkbad')['total'] == 1


def test_bulk_delete_more_than_20_ids_is_400(client: ApiClient) -> None:
    ids = client.post_messages('bulk21', *range(21))
    resp = client.delete(f'/v2/queues/bulk21/messages?ids={",".join(ids)}')
    assert_error(resp, 400, 'Invalid API request', 'greater than 20')
    assert client.stats('bulk21')['total'] == 21


def test_bulk_delete_needs_claim_ids_when_configured(make_server) -> None:
    api = make_server(
        transport={'message_delete_with_claim_id': True}).client()
    ids = api.post_messages('strict', 1, 2)
    claim_id, _ = api.claim('strict')
    resp = api.delete(f'/v2/queues/strict/messages?ids={",".join(ids)}')
    assert_error(resp, 400, 'Invalid API request',
                 'claim_ids must be specified')
    assert api.stats('strict')['total'] == 2
    resp = api.delete(f'/v2/queues/strict/messages?ids={",".join(ids)}'
                      f'&claim_ids={claim_id}')
    assert resp.status_code == 204
    assert api.stats('strict')['total'] == 0


# -- pop ----------------------------------------------------------------------

def test_pop_returns_and_removes_oldest(client: ApiClient) -> None:
    ids = client.post_messages('pop', 'a', 'b', 'c')
    resp = client.delete('/v2/queues/pop/messages', params={'pop': 2})
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) == {'messages'}
    assert ids_of(body['messages']) == ids[:2]
    assert [m['body'] for m in body['messages']] == ['a', 'b']
    for msg in body['messages']:
        assert POP_KEYS <= set(msg) <= POP_KEYS | OPTIONAL_MESSAGE_KEYS, msg
    assert ids_of(client.list_messages('pop')) == ids[2:]


def test_pop_empty_queue_is_empty_list(client: ApiClient) -> None:
    client.create_queue('popempty')
    resp = client.delete('/v2/queues/popempty/messages', params={'pop': 5})
    assert resp.status_code == 200
    assert resp.json() == {'messages': []}


def test_pop_skips_claimed_messages(client: ApiClient) -> None:
    claimed, free = client.post_messages('popclaimed', 1, 2)
    client.claim('popclaimed', limit=1)
    popped = client.delete('/v2/queues/popclaimed/messages',
                           params={'pop': 5}).json()['messages']
    assert ids_of(popped) == [free]
    assert message_exists(client, 'popclaimed', claimed)


def test_pop_20_is_the_max(client: ApiClient) -> None:
    client.post_messages('pop20', *range(21))
    popped = client.delete('/v2/queues/pop20/messages',
                           params={'pop': 20}).json()['messages']
    assert len(popped) == 20
    assert client.stats('pop20')['total'] == 1


# -- delayed messages ---------------------------------------------------------

def test_delay_is_ignored_without_queue_delay(client: ApiClient) -> None:
    [msg_id] = client.post_messages('nodelay', 1, delay=300)
    assert ids_of(client.list_messages('nodelay')) == [msg_id]
    _, claimed = client.claim('nodelay')
    assert ids_of(claimed) == [msg_id]


def test_delayed_queue_hides_messages_until_due(client: ApiClient) -> None:
    client.create_queue('delayed', {'_default_message_delay': 300})
    [msg_id] = client.post_messages('delayed', 1)
    assert client.list_messages('delayed') == []
    assert ids_of(client.list_messages('delayed', include_delayed='true')
                  ) == [msg_id]
    assert client.claim('delayed') == (None, [])
    # Delayed messages count as free in the stats.
    stats = client.stats('delayed')
    assert (stats['free'], stats['total']) == (1, 1)


def test_message_delay_zero_overrides_queue_delay(client: ApiClient) -> None:
    client.create_queue('delay0', {'_default_message_delay': 300})
    [late] = client.post_messages('delay0', 'late')
    [now] = client.post_messages('delay0', 'now', delay=0)
    assert ids_of(client.list_messages('delay0')) == [now]
    _, claimed = client.claim('delay0')
    assert ids_of(claimed) == [now]
    assert late != now


def test_delayed_message_becomes_visible(client: ApiClient) -> None:
    client.create_queue('soon', {'_default_message_delay': 900})
    for delay in (1, 2, 4, 8, 16):
        [msg_id] = client.post_messages('soon', 'x', delay=delay)
        if client.list_messages('soon') == []:
            break
        # Visible before it could be seen hidden: try a longer delay.
        client.delete(f'/v2/queues/soon/messages/{msg_id}')
    else:
        pytest.fail('every delay ran out before the first list')
    # Due within seconds; only a stalled machine takes anywhere near 60.
    assert eventually(lambda: ids_of(client.list_messages('soon')) ==
                      [msg_id], timeout=60)
    _, claimed = client.claim('soon')
    assert ids_of(claimed) == [msg_id]


BAD_DELAY = ('Invalid API request', 'for a message may not exceed 900')


@pytest.mark.parametrize(('delay', 'refusal'), [
    (-1, BAD_DELAY), (901, BAD_DELAY),
    ('x', ('Invalid request body', '"delay" field must be a int'))])
def test_invalid_delay_in_delayed_queue_is_400(
        client: ApiClient, delay: Any, refusal: tuple[str, str]) -> None:
    client.create_queue('baddelay', {'_default_message_delay': 10})
    resp = client.post('/v2/queues/baddelay/messages',
                       json={'messages': [{'body': 1, 'delay': delay}]})
    assert_error(resp, 400, *refusal)
    assert client.stats('baddelay')['total'] == 0


# -- page-size option ---------------------------------------------------------

def test_max_messages_per_page_option(make_server) -> None:
    api = make_server(transport={'max_messages_per_page': 5}).client()
    ids = api.post_messages('small', *range(8))
    assert ids_of(api.list_messages('small', limit=5)) == ids[:5]
    assert_error(api.get('/v2/queues/small/messages',
                         params={'limit': 6, 'echo': 'true'}), 400,
                 'Invalid API request', 'no greater than 5')
    assert_error(api.get(
        f'/v2/queues/small/messages?ids={",".join(ids[:6])}'), 400,
        'Invalid API request', 'may not be greater than 5')
