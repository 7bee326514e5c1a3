"""Small helpers shared by the end-to-end HTTP tests.

Everything here talks to a running server over real HTTP; nothing imports
the server's code, so the same tests can be pointed at any server that
claims to speak the Zaqar v2 API.
"""

from __future__ import annotations

import configparser
import re
import uuid
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import requests

# The media type queue PATCH insists on (facts 1.4).
JSON_PATCH = 'application/openstack-messaging-v2.0-json-patch'

# Reserved queue metadata, with the defaults GET fills in (facts 2.1).
RESERVED_DEFAULTS: dict[str, Any] = {
    '_max_messages_post_size': 262144,
    '_default_message_ttl': 3600,
    '_default_message_delay': 0,
    '_dead_letter_queue': None,
    '_dead_letter_queue_messages_ttl': None,
    '_max_claim_count': None,
    '_enable_encrypt_messages': False,
}

MESSAGE_KEYS = {'id', 'href', 'ttl', 'age', 'body'}
POP_KEYS = {'id', 'age', 'ttl', 'body', 'claim_id', 'claim_count'}
# An optional key a server may add when checksums are on (facts 3).
OPTIONAL_MESSAGE_KEYS = {'checksum'}

REQUEST_ID_RE = re.compile(
    r'^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')

# [keystone_authtoken] of a Keystone that never answers: nothing listens on
# port 1 (no test server is ever given a privileged port), so every token
# check fails to connect.
_DEAD = 'http://127.0.0.1:1'
UNREACHABLE_KEYSTONE: dict[str, Any] = {
    'www_authenticate_uri': _DEAD + '/v3', 'auth_url': _DEAD + '/v3',
    'auth_type': 'password', 'username': 'zaqar', 'password': 'secret',
    'project_name': 'service', 'user_domain_name': 'Default',
    'project_domain_name': 'Default', 'http_connect_timeout': 1,
    'http_request_max_retries': 1,
}

_UNSET: Any = object()
# Bodies above this size get a fresh connection afterwards (see request).
_BIG_BODY = 16 * 1024


class ApiClient:
    """A ``requests.Session`` bound to one server, project and Client-ID.

    Paths are given from the server root (``'/v2/queues/q1'``). A ``json``
    argument is serialised as usual; ``data`` is sent untouched, which is
    what the hostile-input tests need.
    """

    def __init__(self, base_url: str, project_id: str | None = None,
                 client_id: str | None = None,
                 extra_headers: Mapping[str, str] | None = None) -> None:
        self.base_url = base_url.rstrip('/')
        self.project_id = project_id or uuid.uuid4().hex
        self.client_id = client_id or str(uuid.uuid4())
        self.session = requests.Session()
        self.session.headers['Client-ID'] = self.client_id
        self.session.headers['X-Project-Id'] = self.project_id
        self.session.headers.update(extra_headers or {})

    def url(self, path: str) -> str:
        return self.base_url + path

    def request(self, method: str, path: str, *, json: Any = _UNSET,
                data: Any = None, headers: Mapping[str, Any] | None = None,
                params: Mapping[str, Any] | None = None,
                timeout: float = 30) -> requests.Response:
        kwargs: dict[str, Any] = {'data': data, 'params': params,
                                  'headers': headers, 'timeout': timeout}
        if json is not _UNSET:
            kwargs['json'] = json
        resp = self.session.request(method, self.url(path), **kwargs)
        if len(resp.request.body or b'') > _BIG_BODY:
            # A server may answer a too-large body without reading it and
            # then drop the connection; don't reuse it for the next test
            # step.
            self.session.close()
        return resp

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request('GET', path, **kwargs)

    def head(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request('HEAD', path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request('PUT', path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request('POST', path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request('PATCH', path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request('DELETE', path, **kwargs)

    def other_client(self) -> ApiClient:
        """Same project, another Client-ID (for the echo rules)."""
        return ApiClient(self.base_url, project_id=self.project_id)

    def other_project(self) -> ApiClient:
        """Same Client-ID, another project (for tenant isolation)."""
        return ApiClient(self.base_url, client_id=self.client_id)

    # -- shortcuts for the common steps of a scenario ----------------------

    def create_queue(self, name: str,
                     metadata: Mapping[str, Any] | None = None) -> None:
        resp = self.put(f'/v2/queues/{name}',
                        json=dict(metadata) if metadata is not None
                        else _UNSET)
        assert resp.status_code in (201, 204), resp.text

    def post_messages(self, queue: str, *bodies: Any, ttl: int | None = None,
                      delay: int | None = None) -> list[str]:
        """Post one message per body (one request); return their ids."""
        messages = []
        for body in bodies:
            msg: dict[str, Any] = {'body': body}
            if ttl is not None:
                msg['ttl'] = ttl
            if delay is not None:
                msg['delay'] = delay
            messages.append(msg)
        resp = self.post(f'/v2/queues/{queue}/messages',
                         json={'messages': messages})
        assert resp.status_code == 201, resp.text
        return [last_segment(href) for href in resp.json()['resources']]

    def list_messages(self, queue: str, **params: Any) -> list[dict]:
        """One page of the message list (echo on unless said otherwise)."""
        params.setdefault('echo', 'true')
        resp = self.get(f'/v2/queues/{queue}/messages', params=params)
        assert resp.status_code == 200, resp.text
        return resp.json()['messages']

    def claim(self, queue: str, limit: int | None = None, ttl: int = 300,
              grace: int = 60) -> tuple[str | None, list[dict]]:
        """Claim messages; return (claim id, messages), (None, []) if 204."""
        params = {'limit': limit} if limit is not None else None
        resp = self.post(f'/v2/queues/{queue}/claims', params=params,
                         json={'ttl': ttl, 'grace': grace})
        if resp.status_code == 204:
            return None, []
        assert resp.status_code == 201, resp.text
        return last_segment(resp.headers['Location']), resp.json()['messages']

    def stats(self, queue: str) -> dict:
        resp = self.get(f'/v2/queues/{queue}/stats')
        assert resp.status_code == 200, resp.text
        return resp.json()['messages']


@dataclass
class Server:
    """What a test gets to know about a running server."""

    url: str
    conf_path: Path | None = None
    log_path: Path | None = None
    #: The process behind it (a conftest ServerProcess; None for an
    #: external server), for tests that crash and restart it.
    process: Any = None

    def client(self, **kwargs: Any) -> ApiClient:
        return ApiClient(self.url, **kwargs)


def same_store(server: Server) -> dict[str, dict[str, str]]:
    """Config sections that point another server at ``server``'s stores."""
    # DEFAULT read as a section like the others, not merged into each
    # (the server refuses [drivers] auth_strategy and the like).
    config = configparser.ConfigParser(interpolation=None,
                                       default_section='\x00')
    config.read(server.conf_path)
    return {name: dict(config[name]) for name in config.sections()
            if name == 'drivers' or name.startswith(('drivers:message_',
                                                     'drivers:management_'))}


def last_segment(href: str) -> str:
    """The id at the end of an href, without any query string."""
    return urlsplit(href).path.rstrip('/').rsplit('/', 1)[-1]


def query_of(href: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(href).query)


def ids_of(messages: Iterable[Mapping[str, Any]]) -> list[str]:
    return [m['id'] for m in messages]


def media_type(resp: requests.Response) -> str:
    """The Content-Type without parameters such as charset."""
    return resp.headers.get('Content-Type', '').split(';')[0].strip()


def assert_refused(resp: requests.Response, status: int,
                   title: str | None = None,
                   description: str | None = None) -> None:
    """Refused with ``status``: by the HTTP server itself (malformed HTTP:
    an empty body, no request id since the app never saw it) or by the
    app, with its JSON error."""
    if 'x-openstack-request-id' not in resp.headers:
        assert resp.status_code == status, (resp.status_code, resp.text)
        return
    assert_error(resp, status, title, description)


def assert_error(resp: requests.Response, status: int | Iterable[int],
                 title: str | None = None,
                 description: str | None = None) -> dict:
    """Check a JSON error body with both "title" and "description".

    ``description`` is matched as a case-insensitive substring so the tests
    pin the meaning, not the exact punctuation.
    """
    allowed = {status} if isinstance(status, int) else set(status)
    assert resp.status_code in allowed, (resp.status_code, resp.text)
    assert media_type(resp) == 'application/json', resp.headers
    body = resp.json()
    assert isinstance(body, dict), body
    assert isinstance(body.get('title'), str) and body['title'], body
    assert isinstance(body.get('description'), str), body
    if title is not None:
        assert body['title'] == title, body
    if description is not None:
        assert description.lower() in body['description'].lower(), body
    return body


def assert_client_error(resp: requests.Response) -> dict:
    """Any 4xx with a JSON title and description: only for hostile input
    whose status the contract leaves open (a test named ``*_is_400`` pins
    its status with :func:`assert_error`)."""
    return assert_error(resp, range(400, 500))


def assert_message_shape(msg: Mapping[str, Any], queue: str) -> None:
    """Exact keys and href form of a message in list/get/claim replies."""
    assert MESSAGE_KEYS <= set(msg) <= MESSAGE_KEYS | OPTIONAL_MESSAGE_KEYS, \
        msg
    assert urlsplit(msg['href']).path == \
        f'/v2/queues/{queue}/messages/{msg["id"]}', msg
    assert isinstance(msg['ttl'], int) and isinstance(msg['age'], int), msg
    assert msg['age'] >= 0, msg
