"""No secret reaches a log line.

A zaqar-server of its own on the stack's Keystone, with ``debug = true``
and every library's logger at DEBUG too, serves requests that carry each
secret, the failing ones included: tokens good and bad, pre-signed URLs
good, forged and expired, trust subscriptions (the ``[trustee]``
password, the requester's token) whose deliveries get a trust-scoped
token and then fail at the receiver or at Keystone. Its whole log must
hold none of them: the signed-URL key, the ``[trustee]`` and
``[keystone_authtoken]`` passwords, any ``URL-Signature``, any token.

The configuration dump oslo.config writes at DEBUG
(``log_opt_values``) of that server's configuration must show none of
them either: their options are declared ``secret``.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
import requests
from keystoneauth1 import loading
from keystonemiddleware import opts as ksm_opts

from zaqar_core.cmd import common
from zaqar_core.conf import opts
from zaqar_core.conf import trustee
from zaqar_core.tests.functional.helpers import ApiClient
from zaqar_testing.receivers import Receiver

from .conftest import KeystoneServer
from .conftest import Stack
from .conftest import unique
from .test_rbac_matrix import sign
from .test_signed_urls import signed_headers

#: Every library at DEBUG, not only the server's own loggers (oslo.log
#: keeps keystonemiddleware, keystoneauth, urllib3... at WARN by
#: default).
ALL_DEBUG = ','.join(f'{name}=DEBUG' for name in (
    'keystonemiddleware', 'keystoneauth', 'urllib3', 'requests',
    'oslo_policy', 'oslo.cache', 'stevedore', 'sqlalchemy', 'granian',
    'amqp', 'oslo_messaging', 'iso8601', 'routes', 'websocket',
    'dogpile'))
DELIVERY_TIMEOUT = 30.0
#: What makes a failing delivery quick: two immediate tries, then none.
QUICK_FAILURE = {'retries_with_no_delay': 1, 'minimum_delay_retries': 0,
                 'minimum_delay': 1, 'maximum_delay': 11,
                 'maximum_delay_retries': 0,
                 'retry_backoff_function': 'linear'}


@pytest.fixture(scope='module')
def debug_server(make_keystone_server) -> KeystoneServer:
    return make_keystone_server(
        '', DEFAULT={'debug': True, 'default_log_levels': ALL_DEBUG})


class Secrets:
    """The secret strings a test run handed the server."""

    def __init__(self, stack: Stack) -> None:
        creds = stack.state['credentials']
        self.named: dict[str, str] = {
            '[signed_url] secret_key': stack.state['signed_url_key'],
            '[trustee] password': creds['trustee']['password'],
            '[keystone_authtoken] password': creds['zaqar']['password'],
        }

    def add(self, what: str, value: str) -> str:
        assert value and len(value) >= 16, (what, value)
        self.named[what] = value
        return value

    def found_in(self, text: str) -> list[str]:
        return [what for what, value in self.named.items() if value in text]


def _tokens(stack: Stack, server: KeystoneServer, secrets: Secrets,
            queue: str) -> None:
    demo = stack.users['demo']
    secrets.add('demo token', demo.token)
    api = stack.api('demo', url=server.url)
    api.create_queue(queue)
    api.post_messages(queue, {'n': 1}, ttl=300)
    assert api.get(f'/v2/queues/{queue}/messages').status_code == 200
    admin = stack.api('admin', url=server.url)
    secrets.add('admin token', stack.users['admin'].token)
    assert admin.get('/v2/health').status_code == 200
    # A member's token on an admin route: refused by policy.
    assert api.get('/v2/health').status_code == 403
    for n, bad in enumerate(['bogus-token-' + uuid.uuid4().hex,
                             'gAAAAAB' + uuid.uuid4().hex * 5]):
        secrets.add(f'bad token {n}', bad)
        resp = requests.get(f'{server.url}/v2/queues', timeout=30, headers={
            'X-Auth-Token': bad, 'Client-ID': str(uuid.uuid4())})
        assert resp.status_code == 401, resp.text


def _signed_urls(stack: Stack, server: KeystoneServer, secrets: Secrets,
                 queue: str) -> None:
    api = stack.api('demo', url=server.url)
    resp = api.post(f'/v2/queues/{queue}/share',
                    json={'paths': ['messages'], 'methods': ['GET']})
    assert resp.status_code == 200, resp.text
    share = resp.json()
    secrets.add('URL-Signature', share['signature'])
    url = f'{server.url}/v2/queues/{queue}/messages'
    assert requests.get(url, headers=signed_headers(share),
                        timeout=30).status_code == 200
    # Refused: forged, for another method, expired (but well signed).
    forged = secrets.add('forged URL-Signature', uuid.uuid4().hex * 2)
    forged_share = dict(share, signature=forged)
    assert requests.get(url, headers=signed_headers(forged_share),
                        timeout=30).status_code == 404
    assert requests.post(url, headers=signed_headers(share), timeout=30, json={
        'messages': [{'body': 1}]}).status_code == 404
    past = (datetime.now(UTC) - timedelta(hours=1)).strftime(
        '%Y-%m-%dT%H:%M:%S')
    expired = dict(share, expires=past, signature=sign(
        stack.state['signed_url_key'], share['paths'], share['methods'],
        share['project'], past))
    secrets.add('expired URL-Signature', expired['signature'])
    assert requests.get(url, headers=signed_headers(expired),
                        timeout=30).status_code == 404


def _trusts(stack: Stack, server: KeystoneServer, secrets: Secrets,
            queue: str) -> None:
    api = stack.api('demo', url=server.url)
    demo = stack.users['demo']
    with Receiver(status=500) as receiver:
        # A delivery the receiver refuses.
        resp = api.post(f'/v2/queues/{queue}/subscriptions', json={
            'subscriber': f'trust+{receiver.url}/hook', 'ttl': 600,
            'options': {'_retry_policy': QUICK_FAILURE}})
        assert resp.status_code == 201, resp.text
        refused_by_receiver = resp.json()['subscription_id']
        # A delivery whose trust Keystone no longer honours.
        resp = api.post(f'/v2/queues/{queue}/subscriptions', json={
            'subscriber': f'trust+{receiver.url}/gone', 'ttl': 600,
            'options': {'_retry_policy': QUICK_FAILURE}})
        assert resp.status_code == 201, resp.text
        gone = resp.json()['subscription_id']
        trust_id = api.get(f'/v2/queues/{queue}/subscriptions/{gone}'
                           ).json()['options']['trust_id']
        demo.session.delete(f'{stack.auth_url}/OS-TRUST/trusts/{trust_id}')

        api.post_messages(queue, {'n': 2}, ttl=300)
        receiver.wait_for(lambda r: r.attempts >= 2, DELIVERY_TIMEOUT)
        for n, request in enumerate(receiver.requests):
            assert request.path == '/hook'
            secrets.add(f'trust-scoped token {n}',
                        request.headers['x-auth-token'])
    for sub_id in (refused_by_receiver, gone):
        assert api.delete(f'/v2/queues/{queue}/subscriptions/{sub_id}'
                          ).status_code == 204


@pytest.fixture(scope='module')
def served(stack: Stack, debug_server: KeystoneServer
           ) -> Iterator[tuple[str, Secrets]]:
    """The debug server's whole log after requests carrying every
    secret, and those secrets."""
    secrets = Secrets(stack)
    queue = unique('secrets')
    _tokens(stack, debug_server, secrets, queue)
    _signed_urls(stack, debug_server, secrets, queue)
    _trusts(stack, debug_server, secrets, queue)
    # A last request, so that the log has the lines of the ones before.
    api = stack.api('demo', url=debug_server.url)
    assert api.delete(f'/v2/queues/{queue}').status_code == 204
    log_path = debug_server.server.log_path
    assert log_path is not None
    yield log_path.read_text(errors='replace'), secrets


def test_the_log_is_verbose(served: tuple[str, Secrets]) -> None:
    # Otherwise the next test proves nothing: debug lines of the server
    # and of the libraries that see the secrets, and the failures.
    log, _ = served
    assert ' DEBUG zaqar_core.notification.delivery ' in log
    assert 'Delivery to ' in log and 'answered 500' in log
    assert 'No trust-scoped token from Keystone' in log
    assert ' DEBUG keystonemiddleware.auth_token ' in log
    assert ' DEBUG keystoneauth.session ' in log


def test_no_secret_reaches_the_log(served: tuple[str, Secrets]) -> None:
    log, secrets = served
    assert len(secrets.named) >= 12
    leaked = secrets.found_in(log)
    assert not leaked, f'in the server log: {leaked}'


def test_the_config_dump_hides_secrets(stack: Stack,
                                       debug_server: KeystoneServer
                                       ) -> None:
    # The server's configuration, as it reads it, with the options the
    # libraries register once running: keystonemiddleware's
    # [keystone_authtoken], the [trustee] plugin's.
    conf_path = debug_server.server.conf_path
    conf = common.parse_config(['--config-file', str(conf_path)])
    for group, options in ksm_opts.list_auth_token_opts():
        conf.register_opts(options, group=group)
    loading.register_auth_conf_options(conf, 'keystone_authtoken')
    loading.load_auth_from_conf_options(conf, 'keystone_authtoken')
    loading.load_auth_from_conf_options(conf, trustee.GROUP)
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    logger = logging.getLogger('zaqar-config-dump')
    logger.setLevel(logging.DEBUG)
    logger.addHandler(Keep())
    conf.log_opt_values(logger, logging.DEBUG)

    dump = '\n'.join(records)
    assert 'trustee.password' in dump
    assert 'keystone_authtoken.password' in dump
    assert 'signed_url.secret_key' in dump
    leaked = Secrets(stack).found_in(dump)
    assert not leaked, f'in the config dump: {leaked}'


#: Option names that say they hold a secret (``keyfile``: a path).
SECRET_NAME = re.compile(r'password|secret|(^|_)key$|token|uri$|credential')


def test_options_that_hold_secrets_are_declared_secret() -> None:
    # Every option of the project's groups, as the sample config lists
    # them, the [trustee] plugin's included: oslo.config masks those.
    undeclared = [f'[{group or "DEFAULT"}] {opt.name}'
                  for group, options in opts.list_opts()
                  for opt in options
                  if SECRET_NAME.search(opt.name.replace('-', '_'))
                  and not opt.secret]
    assert not undeclared, f'not declared secret=True: {undeclared}'
    named = {(group, opt.name) for group, options in opts.list_opts()
             for opt in options if opt.secret}
    assert {('signed_url', 'secret_key'), ('trustee', 'password'),
            ('notification', 'smtp_user_password')} <= named


def test_subscriber_url_credentials_stay_out_of_the_log(
        stack: Stack, debug_server: KeystoneServer) -> None:
    api = ApiClient(debug_server.url,
                    project_id=stack.users['demo'].project_id,
                    extra_headers={'X-Auth-Token': stack.users['demo'].token})
    queue = unique('secrets-url')
    secret = uuid.uuid4().hex
    with Receiver(status=500) as receiver:
        resp = api.post(f'/v2/queues/{queue}/subscriptions', json={
            'subscriber': f'{receiver.url}/hook?token={secret}',
            'ttl': 600, 'options': {'_retry_policy': QUICK_FAILURE}})
        assert resp.status_code == 201, resp.text
        api.post_messages(queue, {'n': 3}, ttl=300)
        receiver.wait_for(lambda r: r.attempts >= 2, DELIVERY_TIMEOUT)
    api.delete(f'/v2/queues/{queue}/subscriptions/'
               f'{resp.json()["subscription_id"]}')
    api.delete(f'/v2/queues/{queue}')
    log_path = debug_server.server.log_path
    assert log_path is not None
    assert secret not in log_path.read_text(errors='replace')
