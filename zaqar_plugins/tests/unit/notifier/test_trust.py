"""The trust+http(s) notifier against Keystone recordings replayed on a
loopback server, and a loopback webhook receiver."""

from __future__ import annotations

import datetime
import json
import pathlib
from collections.abc import Callable
from collections.abc import Iterator

import pytest
from oslo_config import cfg
from oslo_context import context as oslo_context

from zaqar_core.notification import base
from zaqar_plugins.notifier import trust
from zaqar_plugins.tests.unit.notifier import samples
from zaqar_plugins.tests.unit.notifier import servers
from zaqar_testing import receivers
from zaqar_testing.ports import refusing_address

ALICE = 'c7d2f8a9e3b14f5a8b6c0d1e2f3a4b5c'
TRUSTEE = '9b5ee1bd4f3b4a6f9d0f0a1c0e2b7d41'
DEMO = '3f8a1c2b9d0e4f5a6b7c8d9e0f1a2b3c'
TRUST_ID = 'a4ff6a1bd24a4a5c8b67cd5bbfdd5bc8'

# First match wins: the trust-scoped authentication before the plain one.
KEYSTONE = ['discovery', 'discovery_v3', 'token_trust_scoped',
            'token_trustor', 'token_trustee', 'trust_create']

TOKENS = '/identity/v3/auth/tokens'
TRUSTS = '/identity/v3/OS-TRUST/trusts'


def trustee_conf(load_conf: Callable[..., cfg.ConfigOpts],
                 directory: pathlib.Path, auth_url: str) -> cfg.ConfigOpts:
    path = directory / 'zaqar.conf'
    path.write_text(f'[trustee]\n'
                    f'auth_type = password\n'
                    f'auth_url = {auth_url}\n'
                    f'username = zaqar-trustee\n'
                    f'password = trustee-secret\n'
                    f'user_domain_name = Default\n')
    return load_conf(path)


@pytest.fixture
def keystone() -> Iterator[servers.KeystoneReplay]:
    with servers.KeystoneReplay(KEYSTONE) as server:
        yield server


@pytest.fixture
def notifier(load_conf, tmp_path, keystone) -> trust.TrustNotifier:
    conf = trustee_conf(load_conf, tmp_path, keystone.url + '/identity')
    return trust.TrustNotifier(conf)


@pytest.fixture
def alice() -> oslo_context.RequestContext:
    return oslo_context.RequestContext(
        auth_token='alice-user-token', user_id=ALICE, project_id=DEMO,
        roles=['member', 'reader'])


def subject_token(keystone: servers.KeystoneReplay, name: str) -> str:
    return keystone.response(name)['headers']['X-Subject-Token']


def only(keystone: servers.KeystoneReplay, recording: str
         ) -> receivers.Request:
    [request] = [r for r in keystone.requests
                 if keystone.recording_of(r) == recording]
    return request


def test_prepare_creates_a_trust_to_the_trustee(notifier, keystone, alice):
    options = {'post_data': '{"messages": [{"body": "$zaqar_message$"}]}'}
    before = datetime.datetime.now(datetime.UTC)

    prepared = notifier.prepare('trust+http://zaqar.test/v2/queues/q/'
                                'messages', options, 3600, alice)

    assert prepared == {**options, 'trust_id': TRUST_ID,
                        'trust_created': True}
    assert 'trust_id' not in options
    assert keystone.unmatched() == []
    # The trustee proved who it is with its own password...
    trustee = only(keystone, 'token_trustee').json()['auth']['identity']
    assert trustee['password']['user']['password'] == 'trustee-secret'
    # ...the requester's token was rescoped to their project...
    trustor = only(keystone, 'token_trustor').json()['auth']
    assert trustor['identity']['token']['id'] == 'alice-user-token'
    # ...and the trust was asked for with it.
    request = only(keystone, 'trust_create')
    assert request.headers['x-auth-token'] == subject_token(
        keystone, 'token_trustor')
    body = request.json()['trust']
    expires = datetime.datetime.strptime(
        body.pop('expires_at'), '%Y-%m-%dT%H:%M:%S.%fZ').replace(
        tzinfo=datetime.UTC)
    assert body == {'trustor_user_id': ALICE, 'trustee_user_id': TRUSTEE,
                    'project_id': DEMO, 'impersonation': True,
                    'roles': [{'name': 'member'}, {'name': 'reader'}]}
    expected = before + datetime.timedelta(seconds=3600)
    assert abs((expires - expected).total_seconds()) < 60


def test_prepare_without_ttl_makes_a_trust_that_does_not_expire(
        notifier, keystone, alice):
    notifier.prepare('trust+http://zaqar.test/', {}, 0, alice)

    assert 'expires_at' not in only(keystone, 'trust_create').json()['trust']


def test_prepare_keeps_a_given_trust(conf):
    options = {'trust_id': 'given'}

    # No [trustee], no context: Keystone is not needed at all.
    assert trust.TrustNotifier(conf).prepare(
        'trust+http://zaqar.test/', options, 60, None) is options


@pytest.mark.parametrize('context', [
    None,
    oslo_context.RequestContext(user_id=ALICE, project_id=DEMO),
    oslo_context.RequestContext(auth_token='t', project_id=DEMO),
])
def test_prepare_needs_a_keystone_identity(notifier, keystone, context):
    with pytest.raises(base.SubscriberRejected, match='Keystone'):
        notifier.prepare('trust+http://zaqar.test/', {}, 60, context)

    assert keystone.requests == []


def test_prepare_without_trustee_config_is_rejected(conf, alice):
    with pytest.raises(base.SubscriberRejected, match=r'\[trustee\]'):
        trust.TrustNotifier(conf).prepare('trust+http://zaqar.test/', {},
                                          60, alice)


def test_prepare_refused_by_keystone_is_rejected(load_conf, tmp_path, alice):
    names = [n if n != 'trust_create' else 'trust_create_forbidden'
             for n in KEYSTONE]
    with servers.KeystoneReplay(names) as keystone:
        conf = trustee_conf(load_conf, tmp_path, keystone.url + '/identity')
        with pytest.raises(base.SubscriberRejected, match='create_trust'):
            trust.TrustNotifier(conf).prepare('trust+http://zaqar.test/',
                                              {}, 60, alice)


def test_prepare_with_keystone_down_is_unavailable(load_conf, tmp_path,
                                                   alice):
    with servers.KeystoneReplay(KEYSTONE) as keystone:
        url = keystone.url + '/identity'
    # The replay server is gone: nothing listens there any more.
    conf = trustee_conf(load_conf, tmp_path, url)
    with pytest.raises(base.NotifierUnavailable, match='Keystone'):
        trust.TrustNotifier(conf).prepare('trust+http://zaqar.test/', {},
                                          60, alice)


def test_notify_posts_with_a_trust_scoped_token(notifier, keystone,
                                                receiver, make_target):
    template = '{"messages": [{"body": "$zaqar_message$", "ttl": 60}]}'
    target = make_target(
        'trust+' + receiver.url + '/v2/queues/other/messages',
        trust_id=TRUST_ID, post_data=template,
        post_headers={'Client-ID': 'c0ffee', 'X-Project-ID': DEMO})

    notifier.notify(target, samples.MESSAGE)

    [request] = receiver.requests
    assert request.path == '/v2/queues/other/messages'
    assert request.headers['x-auth-token'] == subject_token(
        keystone, 'token_trust_scoped')
    assert request.headers['client-id'] == 'c0ffee'
    assert request.headers['content-type'] == 'application/json'
    assert request.json() == {'messages': [{'body': samples.MESSAGE,
                                            'ttl': 60}]}
    auth = only(keystone, 'token_trust_scoped').json()['auth']
    assert auth['scope'] == {'OS-TRUST:trust': {'id': TRUST_ID}}
    assert auth['identity']['password']['user']['name'] == 'zaqar-trustee'
    assert keystone.unmatched() == []


def test_auth_url_may_name_the_v3_endpoint(load_conf, tmp_path, keystone,
                                          receiver, make_target):
    conf = trustee_conf(load_conf, tmp_path, keystone.url + '/identity/v3')

    trust.TrustNotifier(conf).notify(
        make_target('trust+' + receiver.url, trust_id=TRUST_ID),
        samples.MESSAGE)

    assert [keystone.recording_of(r) for r in keystone.requests] == [
        'discovery_v3', 'token_trust_scoped']
    assert receiver.requests[0].headers['x-auth-token'] == subject_token(
        keystone, 'token_trust_scoped')


def test_confirm_carries_the_token_too(notifier, keystone, receiver,
                                       make_target):
    document = samples.confirmation()

    notifier.confirm(make_target('trust+' + receiver.url, trust_id=TRUST_ID),
                     document)

    [request] = receiver.requests
    assert request.json() == document
    assert request.headers['x-auth-token'] == subject_token(
        keystone, 'token_trust_scoped')


def test_endpoint_strips_the_prefix_of_https(notifier, make_target):
    url, headers = notifier.endpoint(make_target(
        'trust+https://zaqar.test:8888/v2/queues/q/messages',
        trust_id=TRUST_ID))

    assert url == 'https://zaqar.test:8888/v2/queues/q/messages'
    assert set(headers) == {'X-Auth-Token'}


def test_receiver_failures_are_classified_as_webhooks(notifier, receiver,
                                                      make_target):
    receiver.status = 503

    with pytest.raises(base.DeliveryFailed) as failure:
        notifier.notify(make_target('trust+' + receiver.url,
                                    trust_id=TRUST_ID), samples.MESSAGE)

    assert failure.value.retryable is True


def test_keystone_refusal_is_retryable(load_conf, tmp_path, receiver,
                                       make_target):
    with servers.KeystoneReplay(['discovery', 'token_unauthorized']) as ks:
        conf = trustee_conf(load_conf, tmp_path, ks.url + '/identity')
        with pytest.raises(base.DeliveryFailed) as failure:
            trust.TrustNotifier(conf).notify(
                make_target('trust+' + receiver.url, trust_id=TRUST_ID),
                samples.MESSAGE)

    assert failure.value.retryable is True
    assert receiver.requests == []


def test_keystone_unreachable_is_retryable(load_conf, tmp_path, receiver,
                                           make_target):
    with refusing_address() as address:
        conf = trustee_conf(load_conf, tmp_path, f'http://{address}/v3')
        with pytest.raises(base.DeliveryFailed) as failure:
            trust.TrustNotifier(conf).notify(
                make_target('trust+' + receiver.url, trust_id=TRUST_ID),
                samples.MESSAGE)

    assert failure.value.retryable is True
    assert receiver.requests == []


@pytest.mark.parametrize('options', [{}, {'trust_id': ''},
                                     {'trust_id': ['x']}])
def test_notify_without_a_trust_is_final(notifier, keystone, make_target,
                                         options):
    with pytest.raises(base.DeliveryFailed) as failure:
        notifier.notify(make_target('trust+http://zaqar.test/', **options),
                        samples.MESSAGE)

    assert failure.value.retryable is False
    assert keystone.requests == []


def test_notify_without_trustee_config_is_final(conf, make_target):
    with pytest.raises(base.DeliveryFailed, match=r'\[trustee\]') as failure:
        trust.TrustNotifier(conf).notify(
            make_target('trust+http://zaqar.test/', trust_id=TRUST_ID),
            samples.MESSAGE)

    assert failure.value.retryable is False


def test_recordings_are_keystone_shaped() -> None:
    # Guards the fixtures themselves: every file one exchange, JSON bodies.
    for path in sorted(servers.RECORDINGS.glob('*.json')):
        recording = json.loads(path.read_text())
        assert set(recording) == {'_comment', 'request', 'response'}, path
        assert {'method', 'path'} <= set(recording['request']), path
        response = recording['response']
        assert isinstance(response['status'], int), path
        if response['status'] == 201 and 'token' in response['body']:
            assert response['headers']['X-Subject-Token'], path
