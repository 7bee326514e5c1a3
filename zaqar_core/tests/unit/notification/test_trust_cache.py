"""The trust notifier's kept tokens, its check of a trust a client brings
and its revocation of the trusts it made: against the Keystone
recordings (``zaqar_plugins/tests/unit/notifier/keystone``, checked
against a live Keystone by ``zaqar_core/tests/keystone/
test_trust_recordings.py``) replayed on loopback, and a loopback
receiver."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from oslo_config import cfg
from oslo_context import context as oslo_context

from zaqar_core import conf as zconf
from zaqar_core.notification import base
from zaqar_plugins.notifier import trust
from zaqar_plugins.tests.unit.notifier import servers
from zaqar_testing import receivers

ALICE = 'c7d2f8a9e3b14f5a8b6c0d1e2f3a4b5c'
TRUSTEE = '9b5ee1bd4f3b4a6f9d0f0a1c0e2b7d41'
DEMO = '3f8a1c2b9d0e4f5a6b7c8d9e0f1a2b3c'
TRUST_ID = 'a4ff6a1bd24a4a5c8b67cd5bbfdd5bc8'
TOKENS = '/identity/v3/auth/tokens'
TRUST = f'/identity/v3/OS-TRUST/trusts/{TRUST_ID}'

# First match wins: the trust-scoped authentication before the others.
KEYSTONE = ['discovery', 'discovery_v3', 'token_trust_scoped',
            'token_trustor', 'token_trustee', 'trust_get', 'trust_delete']
MESSAGE = {'body': {'n': 1}, 'ttl': 60, 'queue_name': 'orders',
           'Message_Type': 'Notification'}


def make_conf(directory: Path, auth_url: str) -> cfg.ConfigOpts:
    path = directory / 'zaqar.conf'
    path.write_text(f'[trustee]\nauth_type = password\n'
                    f'auth_url = {auth_url}\nusername = zaqar-trustee\n'
                    f'password = trustee-secret\n'
                    f'user_domain_name = Default\n')
    options = zconf.register_opts(cfg.ConfigOpts())
    options([], project='zaqar', default_config_files=[str(path)],
            default_config_dirs=[])
    return options


@pytest.fixture
def keystone() -> Iterator[servers.KeystoneReplay]:
    with servers.KeystoneReplay(KEYSTONE) as server:
        yield server


@pytest.fixture
def notifier(tmp_path: Path, keystone: servers.KeystoneReplay
             ) -> trust.TrustNotifier:
    return trust.TrustNotifier(make_conf(tmp_path,
                                         keystone.url + '/identity'))


@pytest.fixture
def receiver() -> Iterator[receivers.Receiver]:
    with receivers.Receiver() as server:
        yield server


def target(url: str, **options: Any) -> base.Target:
    return {'id': 's1', 'project': DEMO, 'source': 'orders',
            'subscriber': 'trust+' + url, 'options': options}


def alice(user_id: str = ALICE, project_id: str = DEMO
          ) -> oslo_context.RequestContext:
    return oslo_context.RequestContext(
        auth_token='alice-user-token', user_id=user_id,
        project_id=project_id, roles=['member', 'reader'])


def trust_scoped(keystone: servers.KeystoneReplay) -> list:
    return [r for r in keystone.requests
            if keystone.recording_of(r) == 'token_trust_scoped']


def test_one_token_serves_many_deliveries(notifier, keystone, receiver):
    for _ in range(5):
        notifier.notify(target(receiver.url, trust_id=TRUST_ID), MESSAGE)

    assert len(receiver.delivered) == 5
    assert len(trust_scoped(keystone)) == 1
    token = keystone.response('token_trust_scoped')['headers'][
        'X-Subject-Token']
    assert {r.headers['x-auth-token'] for r in receiver.requests} == {token}


def test_threads_share_one_token(notifier, keystone, receiver):
    # Deliveries run in a pool: the first token serves them all.
    start = threading.Barrier(8)

    def deliver() -> None:
        start.wait()
        notifier.notify(target(receiver.url, trust_id=TRUST_ID), MESSAGE)

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert len(receiver.delivered) == 8
    assert len(trust_scoped(keystone)) == 1


def test_each_trust_has_its_own_token(notifier, keystone, receiver):
    notifier.notify(target(receiver.url, trust_id=TRUST_ID), MESSAGE)
    # Another trust: the replay answers any trust-scoped request alike,
    # but the notifier asks again, scoped to it.
    notifier.notify(target(receiver.url, trust_id='f' * 32), MESSAGE)
    notifier.notify(target(receiver.url, trust_id=TRUST_ID), MESSAGE)

    scopes = [r.json()['auth']['scope']['OS-TRUST:trust']['id']
              for r in keystone.requests
              if r.path == TOKENS and 'scope' in r.json()['auth']]
    assert scopes == [TRUST_ID, 'f' * 32]


def test_the_cache_is_bounded(notifier, keystone, receiver, monkeypatch):
    monkeypatch.setattr(trust, 'MAX_CACHED_TRUSTS', 2)
    for trust_id in ('a' * 32, 'b' * 32, 'c' * 32, 'a' * 32):
        notifier.notify(target(receiver.url, trust_id=trust_id), MESSAGE)

    # a was dropped for c, so it needed a token again.
    assert len(trust_scoped(keystone)) == 0  # other ids: not recorded
    scopes = [r.json()['auth']['scope']['OS-TRUST:trust']['id']
              for r in keystone.requests if r.path == TOKENS]
    assert scopes == ['a' * 32, 'b' * 32, 'c' * 32, 'a' * 32]


def test_a_401_from_the_receiver_gets_a_new_token(notifier, keystone,
                                                  receiver):
    notifier.notify(target(receiver.url, trust_id=TRUST_ID), MESSAGE)
    receiver.statuses = [401]

    notifier.notify(target(receiver.url, trust_id=TRUST_ID), MESSAGE)

    # Refused once with the kept token, then delivered with a new one
    # (the replay gives the same token again: the count tells).
    assert receiver.attempts == 3
    assert len(receiver.delivered) == 2
    assert receiver.requests[1] not in receiver.delivered
    assert len(trust_scoped(keystone)) == 2


def test_a_second_401_is_final(notifier, keystone, receiver):
    receiver.status = 401

    with pytest.raises(base.DeliveryFailed) as failure:
        notifier.notify(target(receiver.url, trust_id=TRUST_ID), MESSAGE)

    assert failure.value.retryable is False
    assert receiver.attempts == 2
    assert len(trust_scoped(keystone)) == 2


def test_other_refusals_keep_the_token(notifier, keystone, receiver):
    receiver.statuses = [503, 403]
    for _ in range(2):
        with pytest.raises(base.DeliveryFailed):
            notifier.notify(target(receiver.url, trust_id=TRUST_ID),
                            MESSAGE)
    notifier.notify(target(receiver.url, trust_id=TRUST_ID), MESSAGE)

    assert receiver.attempts == 3
    assert len(trust_scoped(keystone)) == 1


def test_a_refused_token_is_not_kept(tmp_path, receiver):
    # Keystone refuses the trust (deleted, say): the next delivery asks
    # again rather than reuse a failed plugin.
    with servers.KeystoneReplay(['discovery', 'token_unauthorized']) as ks:
        notifier = trust.TrustNotifier(make_conf(tmp_path,
                                                 ks.url + '/identity'))
        for _ in range(2):
            with pytest.raises(base.DeliveryFailed):
                notifier.notify(target(receiver.url, trust_id=TRUST_ID),
                                MESSAGE)
        tokens = [r for r in ks.requests if r.path == TOKENS]
    assert len(tokens) == 2
    assert receiver.requests == []


def test_prepare_marks_the_trust_it_makes(tmp_path):
    names = [*KEYSTONE, 'trust_create']
    with servers.KeystoneReplay(names) as ks:
        notifier = trust.TrustNotifier(make_conf(tmp_path,
                                                 ks.url + '/identity'))
        options = notifier.prepare('trust+http://zaqar.test/', {}, 60,
                                   alice())
    assert options == {'trust_id': TRUST_ID, trust.CREATED: True}


def test_prepare_checks_a_given_trust(notifier, keystone):
    options = {'trust_id': TRUST_ID, 'post_data': '"$zaqar_message$"'}

    assert notifier.prepare('trust+http://zaqar.test/', options, 60,
                            alice()) == options

    [looked_up] = [r for r in keystone.requests if r.path == TRUST]
    assert looked_up.method == 'GET'
    # With the requester's token (rescoped), not the trustee's.
    token = keystone.response('token_trustor')['headers']['X-Subject-Token']
    assert looked_up.headers['x-auth-token'] == token


@pytest.mark.parametrize('context,refusal', [
    # Someone else of the project: the trust is not theirs.
    (alice(user_id='0' * 32), 'trust_id given'),
    # alice, for another project: (the replay cannot rescope to it).
    (alice(project_id='0' * 32), 'Keystone refused'),
])
def test_prepare_refuses_someone_elses_trust(notifier, context, refusal):
    with pytest.raises(base.SubscriberRejected, match=refusal):
        notifier.prepare('trust+http://zaqar.test/',
                         {'trust_id': TRUST_ID}, 60, context)


def test_prepare_refuses_a_trust_keystone_will_not_show(notifier):
    # The replay has no such trust: Keystone's 404.
    with pytest.raises(base.SubscriberRejected, match='use the trust'):
        notifier.prepare('trust+http://zaqar.test/',
                         {'trust_id': 'e' * 32}, 60, alice())


def test_prepare_without_keystone_identity_keeps_a_given_trust(conf):
    # No auth: nothing to check it against; not revoked by Zaqar either.
    options = {'trust_id': TRUST_ID, trust.CREATED: True}

    kept = trust.TrustNotifier(conf).prepare(
        'trust+http://zaqar.test/', options, 60,
        oslo_context.RequestContext(project_id=DEMO))

    assert kept == {'trust_id': TRUST_ID}


def test_release_deletes_the_trust_with_its_token(notifier, keystone,
                                                  receiver):
    notifier.notify(target(receiver.url, trust_id=TRUST_ID), MESSAGE)

    assert notifier.release({'trust_id': TRUST_ID, trust.CREATED: True})

    [deleted] = [r for r in keystone.requests if r.path == TRUST]
    assert deleted.method == 'DELETE'
    token = keystone.response('token_trust_scoped')['headers'][
        'X-Subject-Token']
    assert deleted.headers['x-auth-token'] == token
    # The kept token went with it: a delivery now asks for one again.
    notifier.notify(target(receiver.url, trust_id=TRUST_ID), MESSAGE)
    assert len(trust_scoped(keystone)) == 2


@pytest.mark.parametrize('options', [
    {'trust_id': TRUST_ID},  # brought by the client
    {'trust_id': TRUST_ID, trust.CREATED: 'yes'},
    {trust.CREATED: True},
    {},
])
def test_release_leaves_trusts_it_did_not_make(notifier, keystone,
                                               options):
    assert notifier.release(options) is True
    assert keystone.requests == []


def test_release_falls_back_to_the_requesters_token(tmp_path):
    # No trust-scoped token (the trust no longer works): the trustor's
    # own token, if the request is theirs.
    names = ['discovery', 'token_trustor', 'token_unauthorized',
             'trust_delete']
    with servers.KeystoneReplay(names) as ks:
        notifier = trust.TrustNotifier(make_conf(tmp_path,
                                                 ks.url + '/identity'))
        assert notifier.release({'trust_id': TRUST_ID, trust.CREATED: True},
                                alice())
        [deleted] = [r for r in ks.requests if r.path == TRUST]
    token = ks.response('token_trustor')['headers']['X-Subject-Token']
    assert deleted.headers['x-auth-token'] == token


def test_release_that_fails_says_so(tmp_path, caplog):
    with servers.KeystoneReplay(['discovery', 'token_unauthorized']) as ks:
        notifier = trust.TrustNotifier(make_conf(tmp_path,
                                                 ks.url + '/identity'))
        assert notifier.release(
            {'trust_id': TRUST_ID, trust.CREATED: True}) is False
    assert f'Trust {TRUST_ID} of a removed subscription not revoked' in \
        caplog.text
    assert 'trustee-secret' not in caplog.text


def test_release_without_trustee_config_says_so(conf, caplog):
    assert trust.TrustNotifier(conf).release(
        {'trust_id': TRUST_ID, trust.CREATED: True}, alice()) is False
    assert 'not revoked' in caplog.text
