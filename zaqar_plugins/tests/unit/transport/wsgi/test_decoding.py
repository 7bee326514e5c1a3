"""Request text in WSGI environs, and the middleware that refuses
requests that carry none (the HTTP server in front decides what reaches
it: these cover what another server could pass on)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from zaqar_plugins.transport.wsgi import decoding
from zaqar_plugins.transport.wsgi import middleware


def environ(path: str = '/v2/queues', query: str = '',
            **headers: str) -> dict[str, Any]:
    """A PEP 3333 environ: ``path`` and ``query`` as Latin-1 of their
    bytes; ``headers`` by environ key."""
    return {'REQUEST_METHOD': 'GET', 'PATH_INFO': path,
            'QUERY_STRING': query, **headers}


def latin1(raw: bytes) -> str:
    return raw.decode('latin-1')


@pytest.mark.parametrize('env', [
    environ(),
    environ(latin1('/v2/queues/caf\xc3\xa9'.encode('latin-1'))),
    environ(query='limit=2&marker=%C3%A9&x=a+b'),
    environ(query=latin1(b'marker=caf\xc3\xa9')),
    environ(HTTP_X_PROJECT_ID=latin1('café'.encode())),
    environ(query='marker=%25zz', REQUEST_URI='/v2/queues?marker=%25zz'),
])
def test_text_passes(env: dict[str, Any]) -> None:
    assert decoding.undecodable(env) is None


@pytest.mark.parametrize(('env', 'description'), [
    (environ(latin1(b'/v2/queues/\xff')), 'path is not UTF-8'),
    (environ(latin1(b'/v2/queues/\xed\xa0\x80')), 'path is not UTF-8'),
    (environ(query='limit=%ff'), 'query string is not UTF-8'),
    (environ(query='%c3%28=1'), 'query string is not UTF-8'),
    (environ(query=latin1(b'marker=\xff')), 'query string is not UTF-8'),
    (environ(query='marker=%zz'), 'two hexadecimal digits'),
    (environ(query='limit=5%'), 'two hexadecimal digits'),
    (environ('/v2/queues/%zz', REQUEST_URI='/v2/queues/%zz'),
     'two hexadecimal digits'),
    (environ(RAW_URI='/v2/%g1/queues'), 'two hexadecimal digits'),
])
def test_undecodable_url_is_refused(env: dict[str, Any],
                                    description: str) -> None:
    error = decoding.undecodable(env)
    assert error is not None and error.status == 400
    assert error.title == 'Invalid API request'
    assert description in error.description


@pytest.mark.parametrize(('key', 'name'), [
    ('HTTP_CLIENT_ID', 'Client-Id'), ('HTTP_X_PROJECT_ID', 'X-Project-Id'),
    ('HTTP_URL_SIGNATURE', 'Url-Signature'), ('HTTP_X_AUTH_TOKEN',
                                              'X-Auth-Token'),
    ('HTTP_ACCEPT', 'Accept'), ('CONTENT_TYPE', 'Content-Type'),
])
def test_header_that_is_not_utf8_is_refused(key: str, name: str) -> None:
    error = decoding.undecodable(environ(**{key: latin1(b'\xff\xfe')}))
    assert error is not None and error.status == 400
    assert error.title == 'Invalid header value'
    assert f'"{name}"' in error.description
    assert 'UTF-8' in error.description


def test_text_a_server_decoded_already_is_put_in_pep3333_form() -> None:
    env = environ('/v2/queues/é€', 'marker=€')
    assert decoding.undecodable(env) is None
    assert env['PATH_INFO'] == latin1('/v2/queues/é€'.encode())
    assert env['QUERY_STRING'] == latin1('marker=€'.encode())


def test_lone_surrogates_a_server_left_are_refused() -> None:
    error = decoding.undecodable(environ('/v2/queues/\udcff'))
    assert error is not None and 'path' in error.description


@pytest.mark.parametrize(('value', 'text'), [
    ('abc', 'abc'), (latin1('café'.encode()), 'café'),
    (latin1(b'\xff'), None), ('€', '€'), ('\udcff', None),
])
def test_wsgi_text(value: str, text: str | None) -> None:
    assert decoding.wsgi_text(value) == text


def test_text_headers_are_copied_only_when_needed() -> None:
    plain = environ(HTTP_X_PROJECT_ID='p')
    assert decoding.text_headers(plain) is plain
    env = environ(HTTP_X_PROJECT_ID=latin1('café'.encode()))
    copy = decoding.text_headers(env)
    assert copy['HTTP_X_PROJECT_ID'] == 'café'
    assert env['HTTP_X_PROJECT_ID'] == latin1('café'.encode())


def test_middleware_answers_json_400_without_calling_the_app() -> None:
    called = []

    def app(env, start_response):
        called.append(env)
        start_response('200 OK', [])
        return [b'']

    answered = []
    body = b''.join(middleware.DecodedRequest(app)(
        environ(query='limit=%ff'),
        lambda status, headers, exc_info=None: answered.append(status)))
    assert not called
    assert answered == ['400 Bad Request']
    document = json.loads(body)
    assert document['title'] == 'Invalid API request'
    assert 'UTF-8' in document['description']
