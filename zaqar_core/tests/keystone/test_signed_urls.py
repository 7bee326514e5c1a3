"""Pre-signed URLs under Keystone: shared with a token, used without one."""

from __future__ import annotations

import uuid
from typing import Any

import requests

from zaqar_core.tests.functional.helpers import assert_error

from .conftest import Stack


def signed_headers(share: dict[str, Any], **extra: str) -> dict[str, str]:
    return {'URL-Signature': share['signature'],
            'URL-Expires': share['expires'],
            'URL-Methods': ','.join(share['methods']),
            'URL-Paths': ','.join(share['paths']),
            'X-Project-ID': share['project'],
            'Client-ID': str(uuid.uuid4()), **extra}



def test_share_is_signed_for_the_tokens_project(stack: Stack,
                                                shared_queue) -> None:
    name, share = shared_queue
    assert share['project'] == stack.users['demo'].project_id
    assert share['paths'] == [f'/v2/queues/{name}/messages']
    assert sorted(share['methods']) == ['GET', 'POST']


def test_signed_url_works_without_a_token(stack: Stack,
                                          shared_queue) -> None:
    name, share = shared_queue
    url = f'{stack.url}/v2/queues/{name}/messages'
    resp = requests.get(url, headers=signed_headers(share), timeout=10)
    assert resp.status_code == 200, resp.text
    assert [m['body'] for m in resp.json()['messages']] == [
        {'shared': True}]
    resp = requests.post(url, headers=signed_headers(share), timeout=10,
                         json={'messages': [{'body': 'via url', 'ttl': 60}]})
    assert resp.status_code == 201, resp.text
    # It landed in demo's queue.
    assert stack.api('demo').stats(name)['total'] == 2


# Any refused signature: falcon's bare 404, as upstream answers.
REFUSED = ('404 Not Found', None)


def test_signed_url_is_checked(stack: Stack, shared_queue) -> None:
    name, share = shared_queue
    url = f'{stack.url}/v2/queues/{name}/messages'
    forged = dict(share, signature='0' * 64)
    assert_error(requests.get(url, headers=signed_headers(forged),
                              timeout=10), 404, *REFUSED)
    # Another project than the one signed for.
    moved = dict(share, project=stack.users['alt'].project_id)
    assert_error(requests.get(url, headers=signed_headers(moved),
                              timeout=10), 404, *REFUSED)
    # A method that was not signed.
    assert_error(requests.delete(url, headers=signed_headers(share),
                                 params={'ids': 'x'}, timeout=10), 404,
                 *REFUSED)


def test_signed_url_does_not_grant_identity_headers(stack: Stack,
                                                    shared_queue) -> None:
    # Identity headers next to a signature are dropped, not believed: no
    # admin-only route opens.
    _, share = shared_queue
    resp = requests.get(f'{stack.url}/v2/health', timeout=10,
                        headers=signed_headers(share, **{
                            'X-Roles': 'admin',
                            'X-Identity-Status': 'Confirmed'}))
    assert resp.status_code in (403, 404), resp.text
