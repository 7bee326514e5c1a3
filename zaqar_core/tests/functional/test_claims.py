"""Claims: create, get, renew, release, and the dead letter queue."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

import pytest

from .helpers import ApiClient
from .helpers import assert_error
from .helpers import assert_message_shape
from .helpers import ids_of
from .helpers import last_segment
from .helpers import query_of

CLAIM_KEYS = {'age', 'ttl', 'messages', 'href'}


def get_claim(client: ApiClient, queue: str, claim_id: str) -> dict:
    resp = client.get(f'/v2/queues/{queue}/claims/{claim_id}')
    assert resp.status_code == 200, resp.text
    return resp.json()


def release(client: ApiClient, queue: str, claim_id: str) -> None:
    resp = client.delete(f'/v2/queues/{queue}/claims/{claim_id}')
    assert resp.status_code == 204, resp.text


def message_ttl(client: ApiClient, queue: str, msg_id: str) -> int:
    resp = client.get(f'/v2/queues/{queue}/messages/{msg_id}')
    assert resp.status_code == 200, resp.text
    return resp.json()['ttl']


# -- create -------------------------------------------------------------------

def test_claim_is_201_with_location_and_messages(client: ApiClient) -> None:
    ids = client.post_messages('c', 'a', 'b')
    resp = client.post('/v2/queues/c/claims', json={'ttl': 120,
                                                    'grace': 60})
    assert resp.status_code == 201
    location = resp.headers['Location']
    assert location.startswith('/v2/queues/c/claims/')
    assert last_segment(location)
    body = resp.json()
    assert set(body) == {'messages'}
    assert ids_of(body['messages']) == ids
    for msg in body['messages']:
        assert_message_shape(msg, 'c')


def test_claimed_hrefs_end_with_claim_id(client: ApiClient) -> None:
    # python-zaqarclient reads the claim id as href.split('=')[-1].
    client.post_messages('c', 'a')
    resp = client.post('/v2/queues/c/claims', json={})
    claim_id = last_segment(resp.headers['Location'])
    [msg] = resp.json()['messages']
    assert msg['href'].endswith(f'?claim_id={claim_id}')
    assert msg['href'].split('=')[-1] == claim_id
    assert query_of(msg['href']) == {'claim_id': [claim_id]}


def test_claim_takes_oldest_first_up_to_limit(client: ApiClient) -> None:
    ids = client.post_messages('fifo', *range(6))
    _, first = client.claim('fifo', limit=2)
    _, second = client.claim('fifo', limit=3)
    _, third = client.claim('fifo', limit=5)
    assert ids_of(first) == ids[0:2]
    assert ids_of(second) == ids[2:5]
    assert ids_of(third) == ids[5:6]


def test_claim_default_limit_is_10(client: ApiClient) -> None:
    client.post_messages('ten', *range(12))
    _, claimed = client.claim('ten')
    assert len(claimed) == 10


def test_claim_limit_20_is_the_max(client: ApiClient) -> None:
    client.post_messages('twenty', *range(21))
    _, claimed = client.claim('twenty', limit=20)
    assert len(claimed) == 20


def test_claimed_messages_are_not_claimed_again(client: ApiClient) -> None:
    client.post_messages('once', 1, 2)
    client.claim('once')
    resp = client.post('/v2/queues/once/claims', json={})
    assert resp.status_code == 204
    assert resp.content == b''


def test_claim_on_empty_queue_is_204(client: ApiClient) -> None:
    client.create_queue('void')
    resp = client.post('/v2/queues/void/claims', json={'ttl': 60})
    assert resp.status_code == 204
    assert resp.content == b''


def test_claim_on_missing_queue_is_204_and_creates_nothing(
        client: ApiClient) -> None:
    assert client.post('/v2/queues/absent/claims', json={}
                       ).status_code == 204
    assert client.get('/v2/queues').json()['queues'] == []


def test_claims_ignore_echo(client: ApiClient) -> None:
    # The poster can claim its own messages although lists hide them.
    ids = client.post_messages('mine', 'x')
    _, claimed = client.claim('mine')
    assert ids_of(claimed) == ids


@pytest.mark.parametrize('body', [None, {}])
def test_claim_without_ttl_uses_defaults(client: ApiClient, body) -> None:
    client.post_messages('defaults', 1)
    kwargs: dict[str, Any] = {} if body is None else {'json': body}
    resp = client.post('/v2/queues/defaults/claims', **kwargs)
    assert resp.status_code == 201
    claim = get_claim(client, 'defaults', last_segment(
        resp.headers['Location']))
    assert claim['ttl'] == 300


def test_claim_ignores_unknown_query_params(client: ApiClient) -> None:
    client.post_messages('extra', 1)
    resp = client.post('/v2/queues/extra/claims',
                       params={'color': 'red'}, json={})
    assert resp.status_code == 201


# Out of range is a bad request; a document of the wrong shape is a bad
# body (upstream's titles).
BAD_TTL = ('Invalid API request', 'The TTL for a claim may not exceed')
BAD_GRACE = ('Invalid API request', 'The grace for a claim may not exceed')
TTL_NOT_INT = ('Invalid request body', '"ttl" field must be a int')
NOT_AN_OBJECT = ('Invalid request body', 'Document type not supported')


@pytest.mark.parametrize(('body', 'refusal'), [
    pytest.param({'ttl': 59}, BAD_TTL, id='ttl-too-small'),
    pytest.param({'ttl': 43201}, BAD_TTL, id='ttl-too-large'),
    pytest.param({'ttl': -1}, BAD_TTL, id='ttl-negative'),
    pytest.param({'ttl': 'x'}, TTL_NOT_INT, id='ttl-string'),
    pytest.param({'ttl': 300, 'grace': 59}, BAD_GRACE,
                 id='grace-too-small'),
    pytest.param({'ttl': 300, 'grace': 43201}, BAD_GRACE,
                 id='grace-too-large'),
    pytest.param({'ttl': 300, 'grace': 'x'},
                 ('Invalid request body', '"grace" field must be a int'),
                 id='grace-string'),
    pytest.param([], NOT_AN_OBJECT, id='array'),
    pytest.param('ttl', ('Invalid request body', 'could not be parsed'),
                 id='string'),
])
def test_invalid_claim_body_is_400_and_claims_nothing(
        client: ApiClient, body: Any, refusal: tuple[str, str]) -> None:
    client.post_messages('bad', 1)
    assert_error(client.post('/v2/queues/bad/claims', json=body), 400,
                 *refusal)
    assert client.stats('bad')['claimed'] == 0


@pytest.mark.parametrize('ttl', [60, 43200])
def test_claim_ttl_boundaries_are_accepted(client: ApiClient, ttl: int
                                           ) -> None:
    client.post_messages('bounds', 1)
    claim_id, _ = client.claim('bounds', ttl=ttl, grace=43200)
    assert get_claim(client, 'bounds', claim_id)['ttl'] == ttl


# -- get ----------------------------------------------------------------------

def test_get_claim_has_exact_keys(client: ApiClient) -> None:
    ids = client.post_messages('g', 'a', 'b')
    started = time.monotonic()
    claim_id, _ = client.claim('g', ttl=120)
    claim = get_claim(client, 'g', claim_id)
    assert set(claim) == CLAIM_KEYS
    assert claim['href'] == f'/v2/queues/g/claims/{claim_id}'
    assert claim['ttl'] == 120
    # Whole seconds: no more than have passed since it was made.
    assert 0 <= claim['age'] <= time.monotonic() - started + 1
    assert ids_of(claim['messages']) == ids
    for msg in claim['messages']:
        assert_message_shape(msg, 'g')
        assert query_of(msg['href']) == {'claim_id': [claim_id]}


@pytest.mark.parametrize('claim_id', ['unknown', '0' * 24,
                                      'b8194e69-5c0f-447b-9075-22bd56fbf56d'])
def test_get_unknown_claim_is_404(client: ApiClient, claim_id: str) -> None:
    client.post_messages('g404', 1)
    assert_error(client.get(f'/v2/queues/g404/claims/{claim_id}'), 404,
                 'Not found', 'does not exist')


def test_get_claim_of_other_queue_is_404(client: ApiClient) -> None:
    client.post_messages('mine', 1)
    claim_id, _ = client.claim('mine')
    client.create_queue('theirs')
    assert client.get(f'/v2/queues/theirs/claims/{claim_id}'
                      ).status_code == 404


def test_get_claim_of_other_project_is_404(client: ApiClient) -> None:
    client.post_messages('mine', 1)
    claim_id, _ = client.claim('mine')
    stranger = client.other_project()
    assert stranger.get(f'/v2/queues/mine/claims/{claim_id}'
                        ).status_code == 404


def test_released_claim_is_404(client: ApiClient) -> None:
    client.post_messages('rel', 1)
    claim_id, _ = client.claim('rel')
    release(client, 'rel', claim_id)
    assert client.get(f'/v2/queues/rel/claims/{claim_id}').status_code == 404


# -- message TTL raised by claims ---------------------------------------------

def test_claim_raises_short_message_ttl(client: ApiClient) -> None:
    # A message must outlive its claim plus grace.
    [msg_id] = client.post_messages('raise', 1, ttl=60)
    client.claim('raise', ttl=300, grace=60)
    assert message_ttl(client, 'raise', msg_id) == 360


def test_claim_keeps_long_message_ttl(client: ApiClient) -> None:
    [msg_id] = client.post_messages('keep', 1, ttl=3600)
    _, claimed = client.claim('keep', ttl=300, grace=60)
    assert message_ttl(client, 'keep', msg_id) == 3600
    assert claimed[0]['ttl'] == 3600


def test_claim_raises_ttl_from_queue_default(client: ApiClient) -> None:
    client.create_queue('qdefault', {'_default_message_ttl': 300})
    [msg_id] = client.post_messages('qdefault', 1)
    client.claim('qdefault', ttl=400, grace=60)
    assert message_ttl(client, 'qdefault', msg_id) == 460


# -- update -------------------------------------------------------------------

def test_patch_claim_sets_new_ttl(client: ApiClient) -> None:
    client.post_messages('upd', 1)
    claim_id, _ = client.claim('upd', ttl=100)
    started = time.monotonic()
    resp = client.patch(f'/v2/queues/upd/claims/{claim_id}',
                        json={'ttl': 500, 'grace': 60})
    assert resp.status_code == 204
    assert resp.content == b''
    claim = get_claim(client, 'upd', claim_id)
    assert claim['ttl'] == 500
    assert claim['age'] <= time.monotonic() - started + 1


def test_patch_claim_extends_message_ttl(client: ApiClient) -> None:
    [msg_id] = client.post_messages('ext', 1, ttl=60)
    claim_id, _ = client.claim('ext', ttl=60, grace=60)
    client.patch(f'/v2/queues/ext/claims/{claim_id}',
                 json={'ttl': 600, 'grace': 60})
    assert message_ttl(client, 'ext', msg_id) >= 660


def test_patch_claim_with_ttl_only(client: ApiClient) -> None:
    client.post_messages('ttlonly', 1)
    claim_id, _ = client.claim('ttlonly', ttl=100)
    assert client.patch(f'/v2/queues/ttlonly/claims/{claim_id}',
                        json={'ttl': 200}).status_code == 204
    assert get_claim(client, 'ttlonly', claim_id)['ttl'] == 200


def test_patch_claim_without_body_is_400(client: ApiClient) -> None:
    client.post_messages('nobody', 1)
    claim_id, _ = client.claim('nobody', ttl=100)
    resp = client.patch(f'/v2/queues/nobody/claims/{claim_id}')
    # Upstream says "can not be empty" without a Content-Length and
    # "could not be parsed" with a zero one.
    body = assert_error(resp, 400, 'Invalid request body')
    assert 'empty' in body['description'] or \
        'could not be parsed' in body['description'], body
    assert get_claim(client, 'nobody', claim_id)['ttl'] == 100


@pytest.mark.parametrize(('body', 'refusal'), [
    ({'ttl': 59}, BAD_TTL), ({'ttl': 43201}, BAD_TTL),
    ({'ttl': 'x'}, TTL_NOT_INT), ([{'ttl': 100}], NOT_AN_OBJECT)])
def test_patch_claim_invalid_body_is_400(client: ApiClient, body: Any,
                                         refusal: tuple[str, str]) -> None:
    client.post_messages('badupd', 1)
    claim_id, _ = client.claim('badupd', ttl=100)
    resp = client.patch(f'/v2/queues/badupd/claims/{claim_id}', json=body)
    assert_error(resp, 400, *refusal)
    assert get_claim(client, 'badupd', claim_id)['ttl'] == 100


def test_patch_unknown_claim_is_404(client: ApiClient) -> None:
    client.post_messages('unk', 1)
    resp = client.patch('/v2/queues/unk/claims/'
                        'b8194e69-5c0f-447b-9075-22bd56fbf56d',
                        json={'ttl': 100})
    assert_error(resp, 404, 'Not found', 'does not exist')


def test_patch_claim_of_deleted_queue_is_404(client: ApiClient) -> None:
    client.post_messages('gone', 1)
    claim_id, _ = client.claim('gone')
    client.delete('/v2/queues/gone')
    resp = client.patch(f'/v2/queues/gone/claims/{claim_id}',
                        json={'ttl': 100})
    assert resp.status_code == 404


# -- release ------------------------------------------------------------------

def test_release_claim_frees_messages(client: ApiClient) -> None:
    ids = client.post_messages('free', 1, 2)
    claim_id, _ = client.claim('free')
    resp = client.delete(f'/v2/queues/free/claims/{claim_id}')
    assert resp.status_code == 204
    assert resp.content == b''
    assert client.stats('free')['claimed'] == 0
    _, again = client.claim('free')
    assert ids_of(again) == ids


def test_released_message_href_has_no_claim_id(client: ApiClient) -> None:
    [msg_id] = client.post_messages('plain', 1)
    claim_id, _ = client.claim('plain')
    release(client, 'plain', claim_id)
    resp = client.get(f'/v2/queues/plain/messages/{msg_id}')
    assert urlsplit(resp.json()['href']).query == ''


def test_release_is_idempotent(client: ApiClient) -> None:
    ids = client.post_messages('idem', 1, 2)
    claim_id, _ = client.claim('idem')
    release(client, 'idem', claim_id)
    assert_error(client.get(f'/v2/queues/idem/claims/{claim_id}'), 404,
                 'Not found')
    stats = client.stats('idem')
    assert (stats['claimed'], stats['free'], stats['total']) == (0, 2, 2)
    # A new claim takes the freed messages; releasing the old claim again
    # (or one that never was) must leave the new one alone.
    new_id, claimed = client.claim('idem')
    assert ids_of(claimed) == ids
    release(client, 'idem', claim_id)
    release(client, 'idem', 'unknown-claim')
    release(client, 'no-such-queue', claim_id)
    assert ids_of(get_claim(client, 'idem', new_id)['messages']) == ids
    assert client.stats('idem')['claimed'] == 2
    assert client.claim('idem') == (None, [])
    # Releasing in a queue that does not exist did not create it.
    assert [q['name'] for q in client.get('/v2/queues').json()['queues']
            ] == ['idem']


@pytest.mark.known_upstream_bug(
    'redis only, not in facts 10.1: the claim script treats every message '
    'after the first free one as free, so releasing an older claim lets a '
    'newer claimed message be claimed twice')
def test_release_only_frees_its_own_messages(client: ApiClient) -> None:
    first, second = client.post_messages('two', 1, 2)
    claim_a, _ = client.claim('two', limit=1)
    claim_b, _ = client.claim('two', limit=1)
    release(client, 'two', claim_a)
    _, again = client.claim('two')
    assert ids_of(again) == [first]
    assert ids_of(get_claim(client, 'two', claim_b)['messages']) == [second]


def test_deleted_claimed_message_leaves_claim(client: ApiClient) -> None:
    first, second = client.post_messages('partial', 1, 2)
    claim_id, _ = client.claim('partial')
    client.delete(f'/v2/queues/partial/messages/{first}',
                  params={'claim_id': claim_id})
    assert ids_of(get_claim(client, 'partial', claim_id)['messages']) == [
        second]


# -- dead letter queue --------------------------------------------------------

def make_dlq_pair(client: ApiClient, work: str, dlq: str, max_claims: int,
                  **extra: Any) -> None:
    client.create_queue(dlq)
    client.create_queue(work, {'_max_claim_count': max_claims,
                               '_dead_letter_queue': dlq, **extra})


def claim_and_release(client: ApiClient, queue: str) -> list[str]:
    claim_id, claimed = client.claim(queue)
    if claim_id is not None:
        release(client, queue, claim_id)
    return ids_of(claimed)


def test_message_leaves_queue_after_max_claims(client: ApiClient) -> None:
    make_dlq_pair(client, 'work', 'dlq', max_claims=2)
    [msg_id] = client.post_messages('work', {'job': 1})
    assert claim_and_release(client, 'work') == [msg_id]
    assert claim_and_release(client, 'work') == [msg_id]
    # The third claim moves the message instead of returning it.
    assert client.claim('work') == (None, [])
    assert client.stats('work')['total'] == 0


@pytest.mark.known_upstream_bug(
    'facts 10.1 #13: redis moves the message with its stale claim, so the '
    'dead letter queue shows it as claimed')
def test_dead_lettered_message_is_listed_in_dlq(client: ApiClient) -> None:
    make_dlq_pair(client, 'work', 'dlq', max_claims=1)
    client.post_messages('work', {'job': 1})
    claim_and_release(client, 'work')
    client.claim('work')
    assert [m['body'] for m in client.list_messages('dlq')] == [{'job': 1}]
    assert client.stats('dlq')['free'] == 1


@pytest.mark.known_upstream_bug(
    'facts 10.1 #13: redis keeps the stale claim on dead-lettered messages')
def test_dead_letter_queue_messages_ttl_applies(client: ApiClient) -> None:
    make_dlq_pair(client, 'work', 'dlq', max_claims=1,
                  _dead_letter_queue_messages_ttl=120)
    client.post_messages('work', 'poison', ttl=3600)
    claim_and_release(client, 'work')
    assert client.claim('work') == (None, [])
    [moved] = client.list_messages('dlq')
    assert moved['ttl'] == 120
    assert moved['body'] == 'poison'


@pytest.mark.known_upstream_bug(
    'facts 10.1 #13: redis keeps the stale claim on dead-lettered messages')
def test_dead_lettered_message_is_claimable_there(client: ApiClient) -> None:
    make_dlq_pair(client, 'work', 'dlq', max_claims=1)
    client.post_messages('work', 'again')
    claim_and_release(client, 'work')
    client.claim('work')
    _, claimed = client.claim('dlq')
    assert [m['body'] for m in claimed] == ['again']


def test_max_claim_count_alone_does_not_move(client: ApiClient) -> None:
    # Without _dead_letter_queue the count is not enforced.
    client.create_queue('nodlq', {'_max_claim_count': 1})
    [msg_id] = client.post_messages('nodlq', 1)
    for _ in range(3):
        assert claim_and_release(client, 'nodlq') == [msg_id]


def test_dead_letter_counts_claims_per_message(client: ApiClient) -> None:
    make_dlq_pair(client, 'work', 'dlq', max_claims=1)
    [old] = client.post_messages('work', 'old')
    claim_and_release(client, 'work')
    [new] = client.post_messages('work', 'new')
    # The old message moves; the new one is returned on its first claim.
    _, claimed = client.claim('work')
    assert ids_of(claimed) == [new]
    assert client.stats('work')['total'] == 1
    assert old != new
