"""Topics over HTTP, on every backend: the whole resource (CRUD, stats,
purge, messages, subscriptions), kept apart from queues of the same
name."""

from __future__ import annotations

from .helpers import ApiClient
from .helpers import assert_error
from .helpers import last_segment

T = '/v2/topics/news'


def post(client: ApiClient, *bodies, path: str = T) -> list[str]:
    resp = client.post(f'{path}/messages', json={
        'messages': [{'body': b} for b in bodies]})
    assert resp.status_code == 201, resp.text
    return [last_segment(h) for h in resp.json()['resources']]


def test_create_get_list_update_delete(client: ApiClient) -> None:
    resp = client.put(T, json={'_default_message_ttl': 120, 'team': 'a'})
    assert resp.status_code == 201, resp.text
    assert resp.headers['Location'] == T
    assert client.put(T, json={}).status_code == 204
    shown = client.get(T).json()
    assert shown == {'_default_message_ttl': 120, 'team': 'a',
                     '_max_messages_post_size': 262144,
                     '_default_message_delay': 0}
    resp = client.patch(T, json=[
        {'op': 'replace', 'path': '/metadata/team', 'value': 'b'}],
        headers={'Content-Type':
                 'application/openstack-messaging-v2.0-json-patch'})
    assert resp.status_code == 200, resp.text
    assert resp.json()['team'] == 'b'
    client.put('/v2/topics/alerts')
    listed = client.get('/v2/topics', params={'limit': 1}).json()
    assert listed['topics'] == [{'name': 'alerts',
                                 'href': '/v2/topics/alerts'}]
    assert listed['links'][0]['href'].startswith('/v2/topics?')
    detailed = client.get('/v2/topics', params={'detailed': 'true'}).json()
    assert [t['name'] for t in detailed['topics']] == ['alerts', 'news']
    assert detailed['topics'][1]['metadata']['team'] == 'b'
    assert client.delete(T).status_code == 204
    assert [t['name'] for t in client.get('/v2/topics').json()['topics']] \
        == ['alerts']


def test_topics_and_queues_of_one_name_are_apart(client: ApiClient) -> None:
    client.put(T)
    post(client, 'to-topic')
    assert client.get('/v2/queues').json()['queues'] == []
    assert client.stats('news')['total'] == 0
    client.post_messages('news', 'to-queue')
    listed = client.get(f'{T}/messages', params={'echo': 'true'}).json()
    assert [m['body'] for m in listed['messages']] == ['to-topic']
    assert client.list_messages('news')[0]['body'] == 'to-queue'
    assert client.other_project().get('/v2/topics').json()['topics'] == []


def test_messages(client: ApiClient) -> None:
    ids = post(client, 'a', {'b': 1}, 'c')
    assert client.get('/v2/topics').json()['topics'][0]['name'] == 'news'
    page = client.get(f'{T}/messages',
                      params={'echo': 'true', 'limit': 2}).json()
    assert [m['href'] for m in page['messages']] == \
        [f'{T}/messages/{i}' for i in ids[:2]]
    assert page['links'][0]['href'].startswith(f'{T}/messages?')
    one = client.get(f'{T}/messages/{ids[1]}').json()
    assert (one['body'], one['href']) == ({'b': 1},
                                          f'{T}/messages/{ids[1]}')
    got = client.get(f'{T}/messages', params={'ids': ','.join(ids)}).json()
    assert [m['id'] for m in got['messages']] == ids
    stats = client.get(f'{T}/stats').json()['messages']
    assert (stats['total'], stats['free']) == (3, 3)
    assert stats['oldest']['href'] == f'{T}/messages/{ids[0]}'
    assert client.delete(f'{T}/messages/{ids[0]}').status_code == 204
    assert client.delete(f'{T}/messages',
                         params={'ids': ids[1]}).status_code == 204
    popped = client.delete(f'{T}/messages', params={'pop': 5}).json()
    assert [m['body'] for m in popped['messages']] == ['c']
    assert_error(client.get(f'{T}/messages/{ids[0]}'), 404, 'Not found',
                 'does not exist')


def test_purge(client: ApiClient) -> None:
    post(client, 'a')
    resp = client.post(f'{T}/subscriptions',
                       json={'subscriber': 'http://127.0.0.1:9/x'})
    assert resp.status_code == 201
    assert client.post(f'{T}/purge', json={
        'resource_types': ['messages']}).status_code == 204
    assert client.get(f'{T}/stats').json()['messages']['total'] == 0
    assert len(client.get(f'{T}/subscriptions').json()[
        'subscriptions']) == 1
    assert client.post(f'{T}/purge').status_code == 204
    assert client.get(f'{T}/subscriptions').json()['subscriptions'] == []


def test_subscriptions(client: ApiClient) -> None:
    resp = client.post(f'{T}/subscriptions',
                       json={'subscriber': 'http://127.0.0.1:9/x'})
    assert resp.status_code == 201, resp.text
    assert resp.headers['Location'] == f'{T}/subscriptions'
    sid = resp.json()['subscription_id']
    shown = client.get(f'{T}/subscriptions/{sid}').json()
    assert shown['source'] == 'news'
    assert_error(client.get(f'/v2/queues/news/subscriptions/{sid}'), 404,
                 'Not found', 'does not exist')
    resp = client.patch(f'{T}/subscriptions/{sid}', json={'ttl': 600})
    assert resp.status_code == 204
    assert resp.headers['Location'] == f'{T}/subscriptions/{sid}'
    assert client.put(f'{T}/subscriptions/{sid}/confirm',
                      json={'confirmed': True}).status_code == 204
    listed = client.get(f'{T}/subscriptions').json()['subscriptions']
    assert [(s['ttl'], s['confirmed']) for s in listed] == [(600, True)]
    assert client.delete(f'{T}/subscriptions/{sid}').status_code == 204
    assert client.get(f'{T}/subscriptions').json()['subscriptions'] == []


def test_topics_have_no_claims_and_names_are_checked(
        client: ApiClient) -> None:
    # No such route: falcon's bare 404, as upstream.
    assert_error(client.post(f'{T}/claims', json={}), 404, '404 Not Found')
    for name in ('bad*name', 'x' * 65):
        assert_error(client.put(f'/v2/topics/{name}'), 400,
                     'Invalid topic identification', 'topic name')
