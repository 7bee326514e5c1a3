"""trust+http subscriptions end to end (tempest's scenario).

demo subscribes ``trust+http://<zaqar>/v2/queues/<target>/messages`` to a
source queue. Creating the subscription makes a real Keystone trust from
demo to the stack's ``[trustee]`` user; each delivery gets a trust-scoped
token from Keystone and posts into the target queue, where the real
Keystone validates that token again.
"""

from __future__ import annotations

import uuid

import pytest

from zaqar_testing.waiting import eventually

from .conftest import Stack
from .conftest import unique

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
