"""Pre-signed URLs: the signature, its expiry, and what it grants."""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import hmac

import pytest

from zaqar_core.api import signed_url

KEY = 'unit-test-secret'
PROJECT = 'project-a'
MESSAGES = '/v2/queues/q1/messages'
SUBSCRIPTIONS = '/v2/queues/q1/subscriptions'


def later(**delta: float) -> str:
    """An expiry ``delta`` from now, as the server writes them."""
    at = signed_url.utcnow() + datetime.timedelta(**delta)
    return at.strftime(signed_url.EXPIRES_FORMAT)


def spec_sign(key: str, paths: list[str], methods: list[str], project: str,
              expires: str) -> str:
    """The signature as upstream computes it, without the module: the
    fields joined by backslash and ``n``, two characters."""
    text = (','.join(sorted(paths)) + '\\n' + ','.join(sorted(methods)) +
            '\\n' + project + '\\n' + expires)
    return hmac.new(key.encode(), text.encode(), hashlib.sha256).hexdigest()


def grant(paths: list[str] | None = None, methods: list[str] | None = None,
          project: str = PROJECT, expires: str | None = None,
          key: str = KEY) -> signed_url.Signed:
    """The URL-* headers a client shows for a URL the server signed."""
    paths = [MESSAGES] if paths is None else paths
    methods = ['GET', 'POST'] if methods is None else methods
    expires = later(hours=1) if expires is None else expires
    return signed_url.Signed(
        signature=signed_url.sign(key, paths, methods, project, expires),
        expires=expires, methods=methods, paths=paths)


# sign


def test_the_signature_is_upstreams_hmac() -> None:
    expires = '2030-01-02T03:04:05'
    assert signed_url.sign(KEY, [MESSAGES], ['GET'], PROJECT, expires) == \
        spec_sign(KEY, [MESSAGES], ['GET'], PROJECT, expires)


def test_the_separator_is_a_backslash_and_n_not_a_newline() -> None:
    expires = '2030-01-02T03:04:05'
    text = f'{MESSAGES}\nGET\n{PROJECT}\n{expires}'
    with_newlines = hmac.new(KEY.encode(), text.encode(),
                             hashlib.sha256).hexdigest()
    assert signed_url.sign(KEY, [MESSAGES], ['GET'], PROJECT,
                           expires) != with_newlines


def test_a_known_signature() -> None:
    # Fixed once from the formula: a change of format breaks every URL
    # already handed out.
    assert signed_url.sign('key', ['/v2/queues/q/messages'], ['GET'], 'p',
                           '2030-01-01T00:00:00') == hmac.new(
        b'key', b'/v2/queues/q/messages\\nGET\\np\\n2030-01-01T00:00:00',
        hashlib.sha256).hexdigest()


def test_paths_and_methods_are_signed_in_sorted_order() -> None:
    expires = later(hours=1)
    one = signed_url.sign(KEY, [SUBSCRIPTIONS, MESSAGES], ['POST', 'GET'],
                          PROJECT, expires)
    other = signed_url.sign(KEY, [MESSAGES, SUBSCRIPTIONS], ['GET', 'POST'],
                            PROJECT, expires)
    assert one == other
    assert len(one) == 64 and int(one, 16) >= 0


@pytest.mark.parametrize('change', [
    {'key': 'another-secret'}, {'paths': [SUBSCRIPTIONS]},
    {'methods': ['GET']}, {'project': 'project-b'},
    {'expires': '2030-01-02T03:04:06'},
])
def test_every_field_is_signed(change: dict) -> None:
    fields = {'key': KEY, 'paths': [MESSAGES], 'methods': ['GET', 'POST'],
              'project': PROJECT, 'expires': '2030-01-02T03:04:05'}
    assert signed_url.sign(**fields) != signed_url.sign(**{**fields,
                                                           **change})


def test_non_ascii_fields_are_signed_as_utf8() -> None:
    expires = '2030-01-02T03:04:05'
    assert signed_url.sign('clé', ['/v2/queues/ü'], ['GET'], 'projét',
                           expires) == spec_sign('clé', ['/v2/queues/ü'],
                                                 ['GET'], 'projét', expires)


# parse_expires and utcnow


@pytest.mark.parametrize(('text', 'expected'), [
    ('2030-01-02T03:04:05', datetime.datetime(2030, 1, 2, 3, 4, 5)),
    ('2030-01-02T03:04:05Z', datetime.datetime(2030, 1, 2, 3, 4, 5)),
    ('2030-01-02T03:04:05+02:00', datetime.datetime(2030, 1, 2, 1, 4, 5)),
    ('2030-01-01T23:30:00-01:00', datetime.datetime(2030, 1, 2, 0, 30)),
    ('2030-01-02T03:04:05.250000', datetime.datetime(2030, 1, 2, 3, 4, 5,
                                                     250000)),
    ('2030-01-02', datetime.datetime(2030, 1, 2)),
])
def test_expiry_times_are_read_as_naive_utc(
        text: str, expected: datetime.datetime) -> None:
    parsed = signed_url.parse_expires(text)
    assert parsed == expected
    assert parsed.tzinfo is None


@pytest.mark.parametrize('text', [
    '', 'tomorrow', '1700000000', '2030', '2030-13-01T00:00:00',
    '2030-01-02 03:04:05 UTC',
])
def test_what_is_not_an_iso_time_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        signed_url.parse_expires(text)


def test_utcnow_is_naive_utc() -> None:
    now = signed_url.utcnow()
    assert now.tzinfo is None
    aware = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    assert abs(aware - now) < datetime.timedelta(seconds=5)


def test_the_default_lifetime_and_what_may_be_shared() -> None:
    assert signed_url.DEFAULT_LIFETIME == datetime.timedelta(days=1)
    assert signed_url.SHAREABLE == ('messages', 'subscriptions', 'claims')


def test_the_headers_cannot_be_changed_once_read() -> None:
    signed = grant()
    with pytest.raises(dataclasses.FrozenInstanceError):
        signed.signature = 'x'  # type: ignore[misc]


# allows


def test_a_valid_url_allows_each_granted_method() -> None:
    signed = grant(methods=['GET', 'POST'])
    assert signed_url.allows(KEY, signed, PROJECT, 'GET', MESSAGES)
    assert signed_url.allows(KEY, signed, PROJECT, 'POST', MESSAGES)


def test_a_method_not_granted_is_refused() -> None:
    signed = grant(methods=['GET'])
    assert not signed_url.allows(KEY, signed, PROJECT, 'DELETE', MESSAGES)
    assert not signed_url.allows(KEY, signed, PROJECT, 'get', MESSAGES)


def test_paths_below_a_granted_one_are_allowed() -> None:
    signed = grant()
    assert signed_url.allows(KEY, signed, PROJECT, 'GET',
                             MESSAGES + '/5f1e2d3c')
    assert signed_url.allows(KEY, signed, PROJECT, 'GET',
                             MESSAGES + '/a/b')


def test_a_granted_path_with_a_trailing_slash_covers_its_children() -> None:
    signed = grant(paths=[MESSAGES + '/'])
    assert signed_url.allows(KEY, signed, PROJECT, 'GET', MESSAGES + '/m1')
    assert signed_url.allows(KEY, signed, PROJECT, 'GET', MESSAGES + '/')
    assert not signed_url.allows(KEY, signed, PROJECT, 'GET', MESSAGES)


@pytest.mark.parametrize('path', [
    '/v2/queues/q1/messagesX',  # shares a prefix, is not below
    '/v2/queues/q1',  # above the granted path
    '/v2/queues/q2/messages',  # another queue
    SUBSCRIPTIONS,
    '',
])
def test_paths_not_granted_are_refused(path: str) -> None:
    assert not signed_url.allows(KEY, grant(), PROJECT, 'GET', path)


def test_any_of_several_granted_paths_is_allowed() -> None:
    signed = grant(paths=[MESSAGES, SUBSCRIPTIONS])
    assert signed_url.allows(KEY, signed, PROJECT, 'GET', MESSAGES)
    assert signed_url.allows(KEY, signed, PROJECT, 'GET',
                             SUBSCRIPTIONS + '/s1')


def test_no_grants_allow_nothing() -> None:
    assert not signed_url.allows(KEY, grant(paths=[]), PROJECT, 'GET',
                                 MESSAGES)
    assert not signed_url.allows(KEY, grant(methods=[]), PROJECT, 'GET',
                                 MESSAGES)


@pytest.mark.parametrize('key', [None, ''])
def test_without_a_secret_key_nothing_is_allowed(key: str | None) -> None:
    # Not even a URL "signed" with the empty key.
    signed = grant(key='')
    assert not signed_url.allows(key, signed, PROJECT, 'GET', MESSAGES)


@pytest.mark.parametrize('project', [None, ''])
def test_without_a_project_nothing_is_allowed(project: str | None) -> None:
    signed = grant(project='')
    assert not signed_url.allows(KEY, signed, project, 'GET', MESSAGES)


def test_another_project_is_refused() -> None:
    assert not signed_url.allows(KEY, grant(), 'project-b', 'GET', MESSAGES)


def test_another_key_is_refused() -> None:
    assert not signed_url.allows('another-secret', grant(), PROJECT, 'GET',
                                 MESSAGES)


def test_an_expired_url_is_refused() -> None:
    signed = grant(expires=later(seconds=-1))
    assert not signed_url.allows(KEY, signed, PROJECT, 'GET', MESSAGES)


def test_a_url_expiring_soon_is_still_allowed() -> None:
    signed = grant(expires=later(seconds=30))
    assert signed_url.allows(KEY, signed, PROJECT, 'GET', MESSAGES)


def test_expiry_times_with_a_zone_are_compared_in_utc() -> None:
    soon = signed_url.utcnow() + datetime.timedelta(minutes=30)
    # The same instant written in UTC+02:00 reads two hours later
    # locally: still in the future.
    ahead = (soon + datetime.timedelta(hours=2)).strftime(
        signed_url.EXPIRES_FORMAT) + '+02:00'
    assert signed_url.allows(KEY, grant(expires=ahead), PROJECT, 'GET',
                             MESSAGES)
    # Two hours before it, written in UTC+01:00, has passed already.
    behind = (soon - datetime.timedelta(hours=2)).strftime(
        signed_url.EXPIRES_FORMAT) + '+01:00'
    assert not signed_url.allows(KEY, grant(expires=behind), PROJECT, 'GET',
                                 MESSAGES)


@pytest.mark.parametrize('expires', ['', 'never', '1999999999'])
def test_an_unreadable_expiry_is_refused(expires: str) -> None:
    # Even when the signature over it is right.
    assert not signed_url.allows(KEY, grant(expires=expires), PROJECT,
                                 'GET', MESSAGES)


def test_a_later_expiry_than_signed_is_refused() -> None:
    signed = grant(expires=later(minutes=5))
    extended = dataclasses.replace(signed, expires=later(days=365))
    assert not signed_url.allows(KEY, extended, PROJECT, 'GET', MESSAGES)


def test_added_grants_are_refused() -> None:
    signed = grant(paths=[MESSAGES], methods=['GET'])
    more_methods = dataclasses.replace(signed, methods=['GET', 'DELETE'])
    assert not signed_url.allows(KEY, more_methods, PROJECT, 'DELETE',
                                 MESSAGES)
    more_paths = dataclasses.replace(signed,
                                     paths=[MESSAGES, SUBSCRIPTIONS])
    assert not signed_url.allows(KEY, more_paths, PROJECT, 'GET',
                                 SUBSCRIPTIONS)


def test_grants_in_another_order_are_still_allowed() -> None:
    signed = grant(paths=[MESSAGES, SUBSCRIPTIONS], methods=['GET', 'POST'])
    shuffled = dataclasses.replace(signed, paths=[SUBSCRIPTIONS, MESSAGES],
                                   methods=['POST', 'GET'])
    assert signed_url.allows(KEY, shuffled, PROJECT, 'GET', MESSAGES)


def tampered(signature: str) -> list[str]:
    flipped = '0' if signature[0] != '0' else '1'
    return [
        flipped + signature[1:],  # one digit changed
        signature[:-1],  # truncated
        signature + '0',  # extended
        signature.upper(),  # same number, other spelling
        '',
        ' ' + signature[1:],
        'é' + signature[1:],  # not ASCII (REST headers are Latin-1)
        '\ud800' + signature[1:],  # a lone surrogate (valid JSON)
        'ø' * 64,
    ]


@pytest.mark.parametrize('index', range(len(tampered('a' * 64))))
def test_a_tampered_signature_is_refused_not_an_error(index: int) -> None:
    signed = grant()
    bad = dataclasses.replace(signed,
                              signature=tampered(signed.signature)[index])
    assert signed_url.allows(KEY, bad, PROJECT, 'GET', MESSAGES) is False


@pytest.mark.parametrize(('methods', 'project', 'path'), [
    (['GET', '\ud800'], PROJECT, MESSAGES),
    (['GET'], '\udcff', MESSAGES),
    (['GET'], PROJECT, '/v2/queues/\ud800/messages'),
])
def test_unencodable_headers_are_refused_not_an_error(
        methods: list[str], project: str, path: str) -> None:
    # A WebSocket client can send lone surrogates in any JSON string:
    # they can be no part of a URL the server signed.
    signed = signed_url.Signed(signature='0' * 64, expires=later(hours=1),
                               methods=methods, paths=[path])
    assert signed_url.allows(KEY, signed, project, 'GET', path) is False


def test_non_ascii_grants_signed_by_the_server_are_allowed() -> None:
    path = '/v2/queues/q1/messages/ü'
    signed = grant(paths=[path], project='projét')
    assert signed_url.allows(KEY, signed, 'projét', 'GET', path)
    assert signed_url.allows('clé', grant(key='clé'), PROJECT, 'GET',
                             MESSAGES)
