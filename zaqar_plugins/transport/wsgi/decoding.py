"""Request text in WSGI: PEP 3333 hands the path, query string and header
values over as Latin-1 strings of the bytes sent; the API wants the UTF-8
text they carry, and a 400 when they carry none.
"""

from __future__ import annotations

import re
from typing import Any
from urllib import parse

from zaqar_core.api import errors

Environ = dict[str, Any]

# A "%" that two hexadecimal digits do not follow escapes nothing (RFC
# 3986 2.1).
_BAD_ESCAPE = re.compile('%(?![0-9A-Fa-f]{2})')
#: Set in the environ when every header value is ASCII (almost always), so
#: that what reads them later need not look again.
ASCII_HEADERS = 'zaqar.ascii_headers'
# Request keys besides the HTTP_* ones that hold a header's value.
_HEADER_KEYS = frozenset(('CONTENT_TYPE', 'CONTENT_LENGTH'))


def undecodable(environ: Environ) -> errors.BadRequest | None:
    """What keeps the request in ``environ`` from being text, or None."""
    if _all_ascii(environ):
        # Almost every request: no decoding can fail, only escapes.
        environ[ASCII_HEADERS] = True
        return _undecodable_url(environ)
    if not _pep3333(environ, 'PATH_INFO'):
        return errors.BadRequest('The request path is not UTF-8 text.')
    if not _pep3333(environ, 'QUERY_STRING'):
        return undecodable_query()
    error = _undecodable_url(environ)
    if error is not None:
        return error
    for key, value in environ.items():
        if (key.startswith('HTTP_') or key in _HEADER_KEYS) and \
                isinstance(value, str) and wsgi_text(value) is None:
            return invalid_header(key, 'It must be UTF-8 text.')
    return None


def _all_ascii(environ: Environ) -> bool:
    # One join and one check of every string of the environ (the path,
    # query string and headers among them): checking each in a loop
    # cost a few microseconds a request.
    return ''.join([value for value in environ.values()
                    if value.__class__ is str]).isascii()


def _undecodable_url(environ: Environ) -> errors.BadRequest | None:
    """The percent-escapes of the URL: each one, and the query string
    they make."""
    query = environ.get('QUERY_STRING', '')
    target = environ.get('REQUEST_URI') or environ.get('RAW_URI') or ''
    if ('%' in query and _BAD_ESCAPE.search(query)) or \
            ('%' in target and _BAD_ESCAPE.search(target)):
        return errors.BadRequest(
            'The request URL has a "%" that is not followed by two '
            'hexadecimal digits: write a "%" as "%25".')
    if '%' in query:
        try:
            parse.unquote_to_bytes(query.encode('latin-1')).decode('utf-8')
        except UnicodeDecodeError:
            return undecodable_query()
    return None


def wsgi_text(value: str) -> str | None:
    """The text in a PEP 3333 string (bytes as Latin-1), None when it is
    no UTF-8. A string a server decoded already is taken as it is."""
    if value.isascii():
        return value
    try:
        raw = value.encode('latin-1')
    except UnicodeEncodeError:
        return value if _encodes(value) else None
    try:
        return raw.decode('utf-8')
    except UnicodeDecodeError:
        return None


def text_headers(environ: Environ) -> Environ:
    """``environ``, or a copy of it with its header values as text when
    one is not ASCII (so that the request context names the project as
    the request does)."""
    if environ.get(ASCII_HEADERS) or all(
            value.isascii() for key, value in environ.items()
            if key.startswith('HTTP_') and isinstance(value, str)):
        return environ
    return {key: (wsgi_text(value) or value)
            if key.startswith('HTTP_') and isinstance(value, str) else value
            for key, value in environ.items()}


def invalid_header(key: str, why: str) -> errors.BadRequest:
    """The error for the header under ``key`` in the environ
    (``HTTP_CLIENT_ID``, ``CONTENT_LENGTH``...)."""
    name = key.removeprefix('HTTP_').replace('_', '-').title()
    return errors.BadRequest(
        f'The value provided for the "{name}" header is invalid. {why}',
        title='Invalid header value')


def _encodes(value: str) -> bool:
    try:
        value.encode('utf-8')
    except UnicodeEncodeError:
        return False  # lone surrogates: a server's stand-ins for bad bytes
    return True


def _pep3333(environ: Environ, key: str) -> bool:
    """Whether ``environ[key]`` is UTF-8 in PEP 3333's form; made so if a
    server decoded it already."""
    value = environ.get(key, '')
    if value.isascii():
        return True
    text = wsgi_text(value)
    if text is None:
        return False
    if text is value:
        environ[key] = value.encode('utf-8').decode('latin-1')
    return True


def undecodable_query() -> errors.BadRequest:
    return errors.BadRequest('The query string is not UTF-8 text, once '
                             'its percent-escapes are decoded.')
