"""The subscriptions API over HTTP: create (lazy queue, duplicates),
list with paging, show, update, delete, confirm, purge; """

from __future__ import annotations

import time

import pytest

from .helpers import ApiClient
from .helpers import assert_error

HOOK = 'http://127.0.0.1:9/hook'
MAIL = 'mailto:ops@example.com'


def subs(queue: str = 'q1') -> str:
    return f'/v2/queues/{queue}/subscriptions'


def subscribe(client: ApiClient, subscriber: str = HOOK,
              queue: str = 'q1', **fields) -> str:
    resp = client.post(subs(queue), json={'subscriber': subscriber,
                                          **fields})
    assert resp.status_code == 201, resp.text
    assert resp.headers['Location'] == subs(queue)
    return resp.json()['subscription_id']


def show(client: ApiClient, sid: str, queue: str = 'q1') -> dict:
    resp = client.get(f'{subs(queue)}/{sid}')
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_create_makes_the_queue_and_shows_defaults(client: ApiClient
                                                   ) -> None:
    started = time.monotonic()
    sid = subscribe(client, options={'post_headers': {'X-A': 'b'}})
    queues = client.get('/v2/queues').json()['queues']
    assert [q['name'] for q in queues] == ['q1']
    found = show(client, sid)
    assert found == {'id': sid, 'source': 'q1', 'subscriber': HOOK,
                     'ttl': 3600, 'age': found['age'],
                     'options': {'post_headers': {'X-A': 'b'}},
                     'confirmed': False}
    # Whole seconds: no more than have passed since it was made.
    assert 0 <= found['age'] <= time.monotonic() - started + 1


def test_an_unconfirmed_duplicate_answers_its_id_a_confirmed_one_409(
        client: ApiClient) -> None:
    sid = subscribe(client, ttl=600)
    assert subscribe(client, ttl=900) == sid
    assert show(client, sid)['ttl'] == 600  # the repeat changed nothing
    resp = client.put(f'{subs()}/{sid}/confirm', json={'confirmed': True})
    assert resp.status_code == 204, resp.text
    assert resp.headers['Location'] == f'{subs()}/{sid}/confirm'
    resp = client.post(subs(), json={'subscriber': HOOK})
    assert_error(resp, 409, 'Resource conflict')
    assert resp.headers['Location'] == subs()
    assert show(client, sid)['confirmed'] is True


@pytest.mark.parametrize('body, description', [
    (None, 'No subscription to create'),
    ({}, 'No subscription to create'),
    ([{'subscriber': HOOK}], 'must be a dict'),
    ({'ttl': 100}, 'Missing parameter subscriber'),
    ({'subscriber': 'ftp://127.0.0.1/x'}, 'subscriber type'),
    ({'subscriber': 'no scheme'}, 'subscriber type'),
    ({'subscriber': 42}, 'subscriber type'),
    ({'subscriber': HOOK, 'ttl': 59}, 'at least 60'),
    ({'subscriber': HOOK, 'ttl': '600'}, 'TTL must be an integer'),
    ({'subscriber': HOOK, 'ttl': 2 ** 40}, 'may not exceed'),
    ({'subscriber': HOOK, 'options': [1]}, 'Options must be a dict'),
    ({'subscriber': HOOK, 'options': {'_retry_policy': {
        'retry_backoff_function': 'cubic'}}}, 'backoff'),
    ({'subscriber': HOOK, 'colour': 'red'}, 'Unknown keys'),
])
def test_bad_creates_are_400_and_change_nothing(
        client: ApiClient, body, description: str) -> None:
    resp = client.post(subs(), json=body)
    assert_error(resp, 400, 'Invalid API request', description)
    assert client.get(subs()).json()['subscriptions'] == []
    assert client.get('/v2/queues').json()['queues'] == []


def test_list_pages_with_next_links(client: ApiClient) -> None:
    made = sorted(subscribe(client, f'{HOOK}/{n}') for n in range(5))
    seen, path, params = [], subs(), {'limit': 2}
    for _ in range(10):
        resp = client.get(path, params=params)
        assert resp.status_code == 200, resp.text
        page = resp.json()
        if not page['subscriptions']:
            assert page['links'] == []
            break
        assert len(page['subscriptions']) <= 2
        seen += [s['id'] for s in page['subscriptions']]
        path, params = page['links'][0]['href'], None
        assert 'limit=2' in path
    assert seen == made


def test_list_limits_and_empty_queues(client: ApiClient) -> None:
    assert client.get(subs('nothing-here')).json() == {
        'subscriptions': [], 'links': []}
    for limit in (0, 21):
        assert_error(client.get(subs(), params={'limit': limit}), 400,
                     'Invalid API request', 'Limit must be at least 1')
    assert_error(client.get(subs(), params={'limit': 'x'}), 400,
                 'Invalid parameter', '"limit" parameter')


GONE = ('Not found', 'does not exist')


def test_show_update_and_delete_are_scoped_to_the_queue(
        client: ApiClient) -> None:
    sid = subscribe(client)
    assert_error(client.get(f'{subs("q2")}/{sid}'), 404, *GONE)
    assert_error(client.patch(f'{subs("q2")}/{sid}', json={'ttl': 600}),
                 404, *GONE)
    assert_error(client.other_project().get(f'{subs()}/{sid}'), 404, *GONE)
    assert client.delete(f'{subs("q2")}/{sid}').status_code == 204
    assert show(client, sid)['id'] == sid
    assert client.delete(f'{subs()}/{sid}').status_code == 204
    assert client.delete(f'{subs()}/{sid}').status_code == 204
    assert_error(client.get(f'{subs()}/{sid}'), 404, *GONE)


def test_update(client: ApiClient) -> None:
    sid = subscribe(client, options={'a': 1})
    other = subscribe(client, MAIL)
    resp = client.patch(f'{subs()}/{sid}',
                        json={'ttl': 7200, 'options': {'b': 2}})
    assert resp.status_code == 204, resp.text
    assert resp.headers['Location'] == f'{subs()}/{sid}'
    found = show(client, sid)
    assert (found['ttl'], found['options'], found['subscriber']) == \
        (7200, {'b': 2}, HOOK)
    resp = client.patch(f'{subs()}/{sid}', json={'subscriber': MAIL})
    assert_error(resp, 409, 'Resource conflict', 'already exists')
    assert show(client, other)['subscriber'] == MAIL
    for body, description in (
            (None, 'No subscription to create'),
            ({}, 'No subscription to create'),
            ([1], 'must be a dict'), ({'ttl': 1}, 'at least 60'),
            ({'subscriber': 'gopher://x'}, 'subscriber type')):
        assert_error(client.patch(f'{subs()}/{sid}', json=body), 400,
                     'Invalid API request', description)
    assert_error(client.patch(f'{subs()}/nope', json={'ttl': 600}), 404,
                 *GONE)


def test_confirm(client: ApiClient) -> None:
    sid = subscribe(client)
    for body in (None, {}, {'confirmed': 'yes'}, {'confirmed': 1}):
        assert_error(client.put(f'{subs()}/{sid}/confirm', json=body), 400,
                     'Invalid API request', "'confirmed' should be boolean")
    assert_error(client.put(f'{subs()}/nope/confirm',
                            json={'confirmed': True}), 404, *GONE)
    assert client.put(f'{subs()}/{sid}/confirm',
                      json={'confirmed': False}).status_code == 204
    assert show(client, sid)['confirmed'] is False


def test_subscriptions_outlive_their_queue_and_purge_removes_them(
        client: ApiClient) -> None:
    sid = subscribe(client)
    client.post_messages('q1', 'kept')
    assert client.delete('/v2/queues/q1').status_code == 204
    assert show(client, sid)['id'] == sid
    client.post_messages('q1', 'a')
    resp = client.post('/v2/queues/q1/purge',
                       json={'resource_types': ['messages']})
    assert resp.status_code == 204
    assert show(client, sid)['id'] == sid
    resp = client.post('/v2/queues/q1/purge',
                       json={'resource_types': ['subscriptions']})
    assert resp.status_code == 204
    assert client.get(subs()).json()['subscriptions'] == []


def test_purge_without_a_body_removes_both(client: ApiClient) -> None:
    subscribe(client)
    client.post_messages('q1', 'a')
    assert client.post('/v2/queues/q1/purge').status_code == 204
    assert client.get(subs()).json()['subscriptions'] == []
    assert client.stats('q1')['total'] == 0


def test_home_document_lists_the_subscription_resources(
        client: ApiClient) -> None:
    resources = client.get('/v2/').json()['resources']
    assert resources['rel/subscriptions_post']['hints']['allow'] == ['POST']
    assert resources['rel/subscription']['href-template'] == \
        '/v2/queues/{queue_name}/subscriptions/{subscription_id}'



def test_an_id_in_upstreams_dashed_form_names_the_same_subscription(
        client: ApiClient) -> None:
    # Imported subscriptions keep upstream's UUIDs (written without
    # dashes here); clients may hold them as upstream showed them.
    import uuid

    sid = subscribe(client)
    dashed = str(uuid.UUID(sid))
    assert dashed != sid
    assert show(client, dashed)['id'] == sid
    resp = client.patch(f'{subs()}/{dashed}', json={'ttl': 900})
    assert resp.status_code == 204, resp.text
    assert show(client, sid)['ttl'] == 900
    resp = client.put(f'{subs()}/{dashed}/confirm', json={'confirmed': True})
    assert resp.status_code == 204, resp.text
    assert show(client, sid)['confirmed'] is True
    assert client.delete(f'{subs()}/{dashed}').status_code == 204
    assert client.get(f'{subs()}/{sid}').status_code == 404
