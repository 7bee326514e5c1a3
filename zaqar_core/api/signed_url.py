"""Pre-signed URLs, computed exactly as upstream Zaqar does, so that URLs
from either server and the official client's signed-URL auth work.

A signature is the hex HMAC-SHA256, keyed with ``[signed_url]
secret_key``, of the sorted paths, the sorted methods, the project and the
expiry, joined by the two characters backslash and ``n`` (upstream's
separator, not a newline).
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import hmac

#: What ``/share`` may grant, below ``/v2/queues/<name>/``.
SHAREABLE = ('messages', 'subscriptions', 'claims')
#: How expiry times are written (naive UTC).
EXPIRES_FORMAT = '%Y-%m-%dT%H:%M:%S'
DEFAULT_LIFETIME = datetime.timedelta(days=1)


@dataclasses.dataclass(frozen=True)
class Signed:
    """The URL-* headers of a request that claims a pre-signed URL."""

    signature: str
    expires: str
    methods: list[str]
    paths: list[str]


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def sign(key: str, paths: list[str], methods: list[str], project: str,
         expires: str) -> str:
    text = '\\n'.join([','.join(sorted(paths)), ','.join(sorted(methods)),
                       project, expires])
    return hmac.new(key.encode(), text.encode(), hashlib.sha256).hexdigest()


def parse_expires(value: str) -> datetime.datetime:
    """An ISO 8601 time as naive UTC.

    Raises:
        ValueError: not an ISO 8601 time (bare numbers included).
    """
    parsed = datetime.datetime.fromisoformat(value.replace('Z', '+00:00'))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(datetime.UTC).replace(tzinfo=None)
    return parsed


def allows(key: str | None, signed: Signed, project: str | None,
           method: str, path: str) -> bool:
    """Whether ``signed`` lets ``project`` send ``method`` to ``path``: a
    valid signature, not expired, the method granted, and the path one of
    the granted ones or below it."""
    if not key or not project:
        return False
    try:
        if parse_expires(signed.expires) <= utcnow():
            return False
    except ValueError:
        return False
    if method not in signed.methods:
        return False
    if not any(path == p or path.startswith(p.rstrip('/') + '/')
               for p in signed.paths):
        return False
    try:
        expected = sign(key, signed.paths, signed.methods, project,
                        signed.expires)
    except UnicodeEncodeError:
        return False  # lone surrogates (JSON allows them): never signed
    # compare_digest raises on non-ASCII text; a signature is hex.
    return signed.signature.isascii() and \
        hmac.compare_digest(expected, signed.signature)
