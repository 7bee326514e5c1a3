"""The http/https notifier against a loopback receiver."""

from __future__ import annotations

import json
import time

import pytest
from oslo_config import cfg

from zaqar_core.notification import base
from zaqar_plugins.notifier import webhook
from zaqar_plugins.tests.unit.notifier import samples
from zaqar_testing.ports import refusing_address


@pytest.fixture
def notifier(conf: cfg.ConfigOpts) -> webhook.WebhookNotifier:
    return webhook.WebhookNotifier(conf)


def test_notify_posts_the_message_json(notifier, receiver, make_target):
    notifier.notify(make_target(receiver.url + '/hook?x=1'),
                    samples.MESSAGE)

    [request] = receiver.requests
    assert request.method == 'POST'
    assert request.path == '/hook?x=1'
    assert request.body == json.dumps(samples.MESSAGE).encode()
    assert request.headers['content-type'] == 'application/json'


def test_post_headers_are_added_and_may_override(notifier, receiver,
                                                 make_target):
    target = make_target(receiver.url, post_headers={
        'X-Project-ID': 'proj-7', 'Client-ID': 'c0ffee', 'X-Count': 3,
        'content-type': 'application/vnd+json', 'X-Bad': ['list'],
        'X-Bool': True})

    notifier.notify(target, samples.MESSAGE)

    headers = receiver.requests[0].headers
    assert headers['x-project-id'] == 'proj-7'
    assert headers['client-id'] == 'c0ffee'
    assert headers['x-count'] == '3'
    assert headers['content-type'] == 'application/vnd+json'
    assert 'x-bad' not in headers and 'x-bool' not in headers


@pytest.mark.parametrize('post_headers', ['X-A: b', ['X-A', 'b'], None])
def test_post_headers_that_are_not_an_object_are_ignored(
        notifier, receiver, make_target, post_headers):
    notifier.notify(make_target(receiver.url, post_headers=post_headers),
                    samples.MESSAGE)

    headers = receiver.requests[0].headers
    assert headers['content-type'] == 'application/json'
    assert 'x-a' not in headers


def test_post_data_template_wraps_the_message(notifier, receiver,
                                              make_target):
    template = ('{"messages": [{"body": "$zaqar_message$", "ttl": 60}], '
                '"note": "caf\u00e9"}')

    notifier.notify(make_target(receiver.url, post_data=template),
                    samples.MESSAGE)

    body = receiver.requests[0].body
    assert body == template.replace(
        '"$zaqar_message$"', json.dumps(samples.MESSAGE)).encode('utf-8')
    assert json.loads(body)['messages'][0]['body'] == samples.MESSAGE


def test_post_data_placeholder_needs_its_quotes(notifier, receiver,
                                                make_target):
    template = 'raw $zaqar_message$ stays'

    notifier.notify(make_target(receiver.url, post_data=template),
                    samples.MESSAGE)

    assert receiver.requests[0].body == template.encode()


def test_post_data_that_is_not_a_string_is_ignored(notifier, receiver,
                                                   make_target):
    notifier.notify(make_target(receiver.url, post_data={'a': 1}),
                    samples.MESSAGE)

    assert receiver.requests[0].json() == samples.MESSAGE


def test_confirm_posts_the_document_without_templating(notifier, receiver,
                                                       make_target):
    document = samples.confirmation()
    target = make_target(receiver.url, post_data='{"m": "$zaqar_message$"}',
                         post_headers={'X-Project-ID': 'proj-7'})

    notifier.confirm(target, document)

    [request] = receiver.requests
    assert request.json() == document
    assert request.headers['content-type'] == 'application/json'
    assert request.headers['x-project-id'] == 'proj-7'


@pytest.mark.parametrize('status', [200, 201, 202, 204, 299])
def test_2xx_is_delivered(notifier, receiver, make_target, status):
    receiver.status = status
    notifier.notify(make_target(receiver.url), samples.MESSAGE)
    assert len(receiver.requests) == 1


@pytest.mark.parametrize('status,retryable', [
    (500, True), (502, True), (503, True), (504, True), (408, True),
    (429, True), (400, False), (401, False), (403, False), (404, False),
    (410, False), (413, False), (304, False),
])
def test_failed_status_is_classified(notifier, receiver, make_target,
                                     status, retryable):
    receiver.status = status

    with pytest.raises(base.DeliveryFailed) as failure:
        notifier.notify(make_target(receiver.url), samples.MESSAGE)

    assert failure.value.retryable is retryable
    assert str(status) in str(failure.value)


def test_redirects_are_not_followed(notifier, receiver, make_target):
    receiver.status = 302
    receiver.headers = {'Location': receiver.url + '/elsewhere'}

    with pytest.raises(base.DeliveryFailed) as failure:
        notifier.notify(make_target(receiver.url + '/hook'), samples.MESSAGE)

    assert failure.value.retryable is False
    assert [r.path for r in receiver.requests] == ['/hook']


def test_connection_refused_is_retryable(notifier, make_target):
    with refusing_address() as address, \
            pytest.raises(base.DeliveryFailed) as failure:
        notifier.notify(make_target(f'http://{address}/hook'),
                        samples.MESSAGE)

    assert failure.value.retryable is True


def test_timeout_is_retryable(conf, receiver, make_target):
    conf.set_override('webhook_timeout', 0.2, group='notification')
    receiver.hang = True
    started = time.monotonic()

    with pytest.raises(base.DeliveryFailed) as failure:
        webhook.WebhookNotifier(conf).notify(make_target(receiver.url),
                                             samples.MESSAGE)

    assert failure.value.retryable is True
    assert time.monotonic() - started < 3


@pytest.mark.parametrize('url', ['http://', 'http://exa mple.com:99999/',
                                 'http://[::1/'])
def test_malformed_url_is_final(notifier, make_target, url):
    with pytest.raises(base.DeliveryFailed) as failure:
        notifier.notify(make_target(url), samples.MESSAGE)

    assert failure.value.retryable is False


def test_header_injection_is_refused(notifier, receiver, make_target):
    target = make_target(receiver.url,
                         post_headers={'X-A': 'b\r\nX-Evil: 1'})

    with pytest.raises(base.DeliveryFailed) as failure:
        notifier.notify(target, samples.MESSAGE)

    assert failure.value.retryable is False
    assert receiver.requests == []


def test_failure_reason_hides_url_credentials(notifier, receiver,
                                              make_target):
    receiver.status = 500
    url = receiver.url.replace('http://', 'http://user:s3cret@')

    with pytest.raises(base.DeliveryFailed) as failure:
        notifier.notify(make_target(url + '/p?token=t0ken'), samples.MESSAGE)

    assert 's3cret' not in str(failure.value)
    assert 't0ken' not in str(failure.value)
    assert receiver.url in str(failure.value)


def test_connections_are_kept_alive(notifier, receiver, make_target):
    target = make_target(receiver.url)

    notifier.notify(target, samples.MESSAGE)
    notifier.notify(target, samples.MESSAGE)

    first, second = receiver.requests
    assert first.client_port == second.client_port


def test_cookies_are_not_kept(notifier, receiver, make_target):
    receiver.headers = {'Set-Cookie': 'session=abc; Path=/'}
    target = make_target(receiver.url)

    notifier.notify(target, samples.MESSAGE)
    notifier.notify(target, samples.MESSAGE)

    assert 'cookie' not in receiver.requests[1].headers
