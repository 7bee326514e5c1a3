"""Store URIs as an operator may see them: in logs, on the console, in
errors, with their secrets hidden."""

from __future__ import annotations

import re

from oslo_config import cfg

from zaqar_core import plugins

#: Query keys whose values are secrets (``password``,
#: ``sentinel_password``, ``auth_token``, ...).
SECRET_KEY = re.compile(r'password|secret|token|signature', re.IGNORECASE)

HIDDEN = '***'


def redacted(uri: str) -> str:
    """``uri`` with the password of its user part and any secret query
    value (see :data:`SECRET_KEY`) replaced by ``***``.

    A user part without a colon is hidden whole: some URIs (Redis's
    ``redis://secret@host``) put the password there.
    """
    scheme, sep, rest = uri.partition('://')
    if not sep:
        return uri
    main, question, query = rest.partition('?')
    # The last "@": a password may hold "/" or "@" unescaped. A leading
    # "/" is a path (sqlite:////file), with no user part.
    if '@' in main and not main.startswith('/'):
        userinfo, _, place = main.rpartition('@')
        user, colon, _ = userinfo.partition(':')
        main = f'{user}:{HIDDEN}@{place}' if colon else f'{HIDDEN}@{place}'
    return f'{scheme}{sep}{main}{question}{masked_query(query)}'


def masked_query(query: str) -> str:
    """A query string with the values of secret keys (see
    :data:`SECRET_KEY`) replaced by ``***``; the rest as given."""
    if not query:
        return query
    return '&'.join(
        f'{key}={HIDDEN}' if eq and SECRET_KEY.search(key)
        else f'{key}{eq}{value}'
        for key, eq, value in (part.partition('=')
                               for part in query.split('&')))


def store_uri(conf: cfg.ConfigOpts, kind: plugins.Kind) -> str | None:
    """The URI of the store of ``kind`` as configured, secrets hidden;
    None if its driver has no ``uri`` option."""
    try:
        uri = conf[kind.chosen_group(conf)].uri
    except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
        return None
    return redacted(uri) if uri else None


def describe_stores(conf: cfg.ConfigOpts) -> str:
    """``message store URI, management store URI``, for a log line; a
    store without a URI is named by its driver."""
    return ', '.join(
        f'{kind.label} {store_uri(conf, kind) or kind.chosen(conf)}'
        for kind in (plugins.MESSAGE_STORE, plugins.MANAGEMENT_STORE))
