"""trust+http subscriptions end to end (tempest's scenario).

demo subscribes ``trust+http://<zaqar>/v2/queues/<target>/messages`` to a
source queue. Creating the subscription makes a real Keystone trust from
demo to the stack's ``[trustee]`` user; each delivery gets a trust-scoped
token from Keystone and posts into the target queue, where the real
Keystone validates that token again.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import requests

from zaqar_testing.receivers import Receiver
from zaqar_testing.waiting import eventually

from .conftest import KeystoneServer
from .conftest import Stack
from .conftest import unique
from .test_trust_recordings import Exchange
from .test_trust_recordings import KeystoneProxy

POST_DATA = '{"messages":[{"body":"$zaqar_message$","ttl":60}]}'
DELIVERY_TIMEOUT = 20.0


@pytest.fixture
def queues(stack: Stack):
    source, target = unique('trust-src'), unique('trust-dst')
    demo = stack.api('demo')
    for name in (source, target):
        demo.create_queue(name)
    yield source, target
    for name in (source, target):
        demo.delete(f'/v2/queues/{name}')


def wait_for_messages(stack: Stack, queue: str, count: int,
                      user: str = 'demo') -> list[dict]:
    """The messages in ``queue`` once ``count`` arrived, or after
    :data:`DELIVERY_TIMEOUT` those that did (the test says how many)."""
    api = stack.api(user)
    messages: list[dict] = []

    def arrived() -> bool:
        messages[:] = api.list_messages(queue)
        return len(messages) >= count

    eventually(arrived, DELIVERY_TIMEOUT, interval=0.2)
    return messages


def test_trust_subscription_delivers_into_another_queue(stack: Stack,
                                                        queues) -> None:
    source, target = queues
    demo_user = stack.users['demo']
    demo = stack.api('demo')
    subscriber = f'trust+{stack.url}/v2/queues/{target}/messages'
    resp = demo.post(f'/v2/queues/{source}/subscriptions', json={
        'subscriber': subscriber, 'ttl': 600,
        'options': {'post_data': POST_DATA, 'post_headers': {
            'Client-ID': str(uuid.uuid4()),
            'X-Project-ID': demo_user.project_id}}})
    assert resp.status_code == 201, resp.text
    sub_id = resp.json()['subscription_id']

    sub = demo.get(f'/v2/queues/{source}/subscriptions/{sub_id}').json()
    assert sub['subscriber'] == subscriber
    trust_id = sub['options']['trust_id']

    # The trust is real: Keystone knows it, from demo to the trustee.
    trust = demo_user.session.get(
        f'{stack.auth_url}/OS-TRUST/trusts/{trust_id}').json()['trust']
    assert trust['trustor_user_id'] == demo_user.user_id
    assert trust['project_id'] == demo_user.project_id
    assert trust['impersonation'] is True
    assert 'member' in {role['name'] for role in trust['roles']}
    assert trust['expires_at']
    trustee = stack.users['admin'].session.get(
        f'{stack.auth_url}/users/{trust["trustee_user_id"]}').json()['user']
    assert trustee['name'] == stack.trustee_username

    bodies = [{'event': 'BackupStarted', 'n': 1},
              {'event': 'BackupEnded', 'n': 2}]
    demo.post_messages(source, *bodies, ttl=300)

    delivered = wait_for_messages(stack, target, len(bodies))
    assert len(delivered) == len(bodies), \
        f'{len(delivered)} of {len(bodies)} notifications arrived'
    for message in delivered:
        assert message['ttl'] == 60  # from post_data
        assert message['body']['queue_name'] == source
        assert message['body']['Message_Type'] == 'Notification'
        assert message['body']['ttl'] == 300
    assert sorted((m['body']['body'] for m in delivered),
                  key=lambda b: b['n']) == bodies
    # Nothing went astray into alt's queue of the same name.
    assert stack.api('alt').stats(target)['total'] == 0

    assert demo.delete(f'/v2/queues/{source}/subscriptions/{sub_id}'
                       ).status_code == 204


def test_trust_speaks_for_the_trustors_project(stack: Stack,
                                                queues) -> None:
    # alt subscribes to the same target URL as demo would, even naming
    # demo's project in post_headers: the trust is alt's, so is the token,
    # so the notification lands in alt's queue of that name.
    source, target = queues
    alt_user = stack.users['alt']
    alt = stack.api('alt')
    alt.create_queue(source)
    alt.create_queue(target)
    try:
        resp = alt.post(f'/v2/queues/{source}/subscriptions', json={
            'subscriber': f'trust+{stack.url}/v2/queues/{target}/messages',
            'ttl': 600, 'options': {'post_data': POST_DATA, 'post_headers': {
                'Client-ID': str(uuid.uuid4()),
                'X-Project-ID': stack.users['demo'].project_id}}})
        assert resp.status_code == 201, resp.text
        sub_id = resp.json()['subscription_id']
        sub = alt.get(f'/v2/queues/{source}/subscriptions/{sub_id}').json()
        trust = alt_user.session.get(
            f'{stack.auth_url}/OS-TRUST/trusts/'
            f'{sub["options"]["trust_id"]}').json()['trust']
        assert trust['trustor_user_id'] == alt_user.user_id
        assert trust['project_id'] == alt_user.project_id

        alt.post_messages(source, {'from': 'alt'}, ttl=300)
        delivered = wait_for_messages(stack, target, 1, user='alt')
        assert [m['body']['body'] for m in delivered] == [{'from': 'alt'}]
        assert stack.api('demo').stats(target)['total'] == 0
    finally:
        alt.delete(f'/v2/queues/{target}')
        alt.delete(f'/v2/queues/{source}')


# -- trusts are revoked with their subscription ----------------------------

def live_trusts(stack: Stack, user: str = 'demo') -> set[str]:
    """The ids of the live trusts of ``user`` (demo) to the stack's
    trustee."""
    trustor = stack.users[user]
    trustee = stack.state['credentials']['trustee']['user_id']
    trusts = trustor.session.get(
        f'{stack.auth_url}/OS-TRUST/trusts',
        params={'trustor_user_id': trustor.user_id}).json()['trusts']
    return {t['id'] for t in trusts if t['trustee_user_id'] == trustee}


def trust_status(stack: Stack, trust_id: str, user: str = 'demo') -> int:
    """Keystone's answer to ``user`` (the trustor) asking for the trust."""
    return stack.users[user].session.get(
        f'{stack.auth_url}/OS-TRUST/trusts/{trust_id}',
        raise_exc=False).status_code


def subscribe(stack: Stack, source: str, subscriber: str, user: str = 'demo',
              **options) -> requests.Response:
    return stack.api(user).post(f'/v2/queues/{source}/subscriptions', json={
        'subscriber': subscriber, 'ttl': 600, 'options': options})


def trust_of(stack: Stack, source: str, sub_id: str,
             url: str | None = None) -> str:
    """The trust_id of demo's subscription (on ``url``'s server)."""
    resp = stack.api('demo', url=url).get(
        f'/v2/queues/{source}/subscriptions/{sub_id}')
    assert resp.status_code == 200, resp.text
    return resp.json()['options']['trust_id']


def test_a_refused_subscription_revokes_the_trust_it_made(
        stack: Stack, project_users, queues) -> None:
    # A trustor no other test uses: its set of trusts is this test's.
    user = 'trustor_refused'
    source, target = queues
    demo = stack.api('demo')
    subscriber = f'trust+{stack.url}/v2/queues/{target}/messages'
    resp = subscribe(stack, source, subscriber, user=user)
    assert resp.status_code == 201, resp.text
    sub_id = resp.json()['subscription_id']
    kept = trust_of(stack, source, sub_id)
    assert demo.put(f'/v2/queues/{source}/subscriptions/{sub_id}/confirm',
                    json={'confirmed': True}).status_code == 204
    before = live_trusts(stack, user)
    assert kept in before

    # The same subscriber again: 409, after a trust was made for it.
    resp = subscribe(stack, source, subscriber, user=user)
    assert resp.status_code == 409, resp.text

    assert live_trusts(stack, user) == before
    # The subscription's own stays.
    assert trust_status(stack, kept, user) == 200
    demo.delete(f'/v2/queues/{source}/subscriptions/{sub_id}')


def test_asking_again_keeps_one_trust(stack: Stack, project_users,
                                      queues) -> None:
    # An unconfirmed subscription asked for again: 201 with the same id,
    # and the trust made for the request that changed nothing is revoked.
    user = 'trustor_again'  # as in the test above
    source, target = queues
    subscriber = f'trust+{stack.url}/v2/queues/{target}/messages'
    first = subscribe(stack, source, subscriber, user=user)
    assert first.status_code == 201, first.text
    sub_id = first.json()['subscription_id']
    kept = trust_of(stack, source, sub_id)
    before = live_trusts(stack, user)

    again = subscribe(stack, source, subscriber, user=user)
    assert again.status_code == 201, again.text
    assert again.json()['subscription_id'] == sub_id

    assert live_trusts(stack, user) == before
    assert trust_of(stack, source, sub_id) == kept
    stack.api('demo').delete(f'/v2/queues/{source}/subscriptions/{sub_id}')


@pytest.mark.parametrize('deleter', ['demo', 'project_admin'])
def test_deleting_a_subscription_revokes_its_trust(
        stack: Stack, project_users, queues, deleter: str) -> None:
    # Whoever of the project deletes it: the trust's own token revokes it.
    source, target = queues
    resp = subscribe(stack, source,
                     f'trust+{stack.url}/v2/queues/{target}/messages')
    assert resp.status_code == 201, resp.text
    sub_id = resp.json()['subscription_id']
    trust_id = trust_of(stack, source, sub_id)
    assert trust_status(stack, trust_id) == 200

    resp = stack.api(deleter).delete(
        f'/v2/queues/{source}/subscriptions/{sub_id}')
    assert resp.status_code == 204, resp.text

    assert trust_status(stack, trust_id) == 404
    assert trust_id not in live_trusts(stack)


def test_replacing_the_trust_revokes_the_old_one(stack: Stack,
                                                 queues) -> None:
    # New options without trust_id: a new trust, the old one revoked.
    source, target = queues
    resp = subscribe(stack, source,
                     f'trust+{stack.url}/v2/queues/{target}/messages')
    assert resp.status_code == 201, resp.text
    sub_id = resp.json()['subscription_id']
    old = trust_of(stack, source, sub_id)

    resp = stack.api('demo').patch(
        f'/v2/queues/{source}/subscriptions/{sub_id}',
        json={'options': {'post_data': POST_DATA}})
    assert resp.status_code == 204, resp.text

    new = trust_of(stack, source, sub_id)
    assert new != old
    assert trust_status(stack, old) == 404
    assert trust_status(stack, new) == 200
    stack.api('demo').delete(f'/v2/queues/{source}/subscriptions/{sub_id}')
    assert trust_status(stack, new) == 404


@pytest.fixture
def own_trust(stack: Stack) -> Iterator[str]:
    """A trust demo made itself, to the stack's trustee."""
    demo = stack.users['demo']
    trust = demo.session.post(f'{stack.auth_url}/OS-TRUST/trusts', json={
        'trust': {'trustor_user_id': demo.user_id,
                  'trustee_user_id':
                      stack.state['credentials']['trustee']['user_id'],
                  'project_id': demo.project_id, 'impersonation': True,
                  'roles': [{'name': 'member'}]}}).json()['trust']
    yield trust['id']
    demo.session.delete(f'{stack.auth_url}/OS-TRUST/trusts/{trust["id"]}',
                        raise_exc=False)


def test_a_trust_the_client_brings_is_kept_and_not_revoked(
        stack: Stack, queues, own_trust: str) -> None:
    source, target = queues
    resp = subscribe(stack, source,
                     f'trust+{stack.url}/v2/queues/{target}/messages',
                     trust_id=own_trust)
    assert resp.status_code == 201, resp.text
    sub_id = resp.json()['subscription_id']
    assert trust_of(stack, source, sub_id) == own_trust

    resp = stack.api('demo').delete(
        f'/v2/queues/{source}/subscriptions/{sub_id}')
    assert resp.status_code == 204, resp.text

    # Its maker, the client, revokes it; not Zaqar.
    assert trust_status(stack, own_trust) == 200


@pytest.mark.parametrize('user', ['alt', 'reader'])
def test_someone_elses_trust_is_refused(stack: Stack, project_users,
                                        queues, own_trust: str,
                                        user: str) -> None:
    # demo's trust_id (seen in a subscription's options) given by another
    # project's member, or by a reader of demo's project: Zaqar would
    # send demo's token wherever they subscribe.
    receiver = 'trust+http://127.0.0.1:9/steal'
    name = unique('trust-steal')
    resp = subscribe(stack, name, receiver, user=user, trust_id=own_trust)
    assert resp.status_code == 400, resp.text
    assert 'trust' in resp.json()['description']
    subs = stack.api(user).get(f'/v2/queues/{name}/subscriptions').json()
    assert subs['subscriptions'] == []
    stack.api(user).delete(f'/v2/queues/{name}')
    assert trust_status(stack, own_trust) == 200


# -- trust tokens are kept -------------------------------------------------

@pytest.fixture(scope='module')
def keystone_proxy(stack: Stack) -> Iterator[KeystoneProxy]:
    """The stack's Keystone behind a proxy that lists every request."""
    with KeystoneProxy(stack.state['keystone']['url']) as proxy:
        yield proxy


@pytest.fixture(scope='module')
def counted_server(make_keystone_server, keystone_proxy: KeystoneProxy
                   ) -> KeystoneServer:
    """A zaqar-server of one worker process (one token cache) whose
    ``[trustee]`` talks to Keystone through :func:`keystone_proxy`."""
    return make_keystone_server(
        '', trustee={'auth_url': keystone_proxy.base + '/v3'},
        **{'drivers:transport:wsgi': {'workers': 1}})


def trust_tokens(proxy: KeystoneProxy) -> list[Exchange]:
    """The trust-scoped tokens Keystone issued through ``proxy``."""
    return [e for e in proxy.exchanges
            if e.method == 'POST' and e.path.endswith('/auth/tokens')
            and 'OS-TRUST:trust' in ((e.body or {}).get('auth', {})
                                     .get('scope') or {})
            and e.status == 201]


def test_one_trust_token_serves_many_deliveries(
        stack: Stack, counted_server: KeystoneServer,
        keystone_proxy: KeystoneProxy) -> None:
    demo = stack.api('demo', url=counted_server.url)
    source = unique('trust-count')
    count = 5
    with Receiver() as receiver:
        resp = demo.post(f'/v2/queues/{source}/subscriptions', json={
            'subscriber': f'trust+{receiver.url}/hook', 'ttl': 600})
        assert resp.status_code == 201, resp.text
        sub_id = resp.json()['subscription_id']
        issued = len(trust_tokens(keystone_proxy))
        for n in range(count):
            demo.post_messages(source, {'n': n}, ttl=300)
        delivered = receiver.wait_count(count, DELIVERY_TIMEOUT)
        tokens = {r.headers['x-auth-token'] for r in delivered}

        assert len(trust_tokens(keystone_proxy)) - issued == 1
        assert len(tokens) == 1
        # ... a real trust-scoped token of demo's, through the trust.
        check = stack.users['admin'].session.get(
            f'{stack.auth_url}/auth/tokens',
            headers={'X-Subject-Token': tokens.pop()}).json()['token']
        assert check['user']['id'] == stack.users['demo'].user_id
        assert check['OS-TRUST:trust']['id'] == trust_of(
            stack, source, sub_id, counted_server.url)
        demo.delete(f'/v2/queues/{source}/subscriptions/{sub_id}')


def test_a_401_from_the_receiver_gets_a_new_token(
        stack: Stack, counted_server: KeystoneServer,
        keystone_proxy: KeystoneProxy) -> None:
    demo = stack.api('demo', url=counted_server.url)
    source = unique('trust-401')
    with Receiver() as receiver:
        resp = demo.post(f'/v2/queues/{source}/subscriptions', json={
            'subscriber': f'trust+{receiver.url}/hook', 'ttl': 600})
        assert resp.status_code == 201, resp.text
        sub_id = resp.json()['subscription_id']
        demo.post_messages(source, {'n': 0}, ttl=300)
        [first] = receiver.wait_count(1, DELIVERY_TIMEOUT)
        issued = len(trust_tokens(keystone_proxy))

        # The receiver no longer takes the kept token.
        receiver.statuses = [401]
        demo.post_messages(source, {'n': 1}, ttl=300)
        delivered = receiver.wait_count(2, DELIVERY_TIMEOUT)

        assert [r.json()['body'] for r in delivered] == [{'n': 0}, {'n': 1}]
        assert receiver.attempts == 3
        refused, retried = receiver.requests[1:]
        assert refused.headers['x-auth-token'] == \
            first.headers['x-auth-token']
        assert retried.headers['x-auth-token'] != \
            first.headers['x-auth-token']
        assert len(trust_tokens(keystone_proxy)) - issued == 1
        demo.delete(f'/v2/queues/{source}/subscriptions/{sub_id}')

