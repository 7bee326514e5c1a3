"""Message bodies encrypted at rest (queues with ``_enable_encrypt_messages``).

A queue whose metadata has ``_enable_encrypt_messages: true`` gets each
posted body stored as an *envelope* when ``[transport]
message_encryption_key`` is set. Reads open envelopes whatever the queue's
metadata says now, so messages stay readable after the flag is switched
off or after they move to a dead-letter queue.

Envelope, format version 1. The stored body is one JSON string::

    zqenc:1:<kid>:<data>

``zqenc:1:``
    Marker and format version. Version 1 fixes everything below; another
    scheme would get another number, and readers leave numbers they do not
    know alone.
``<kid>``
    Key id, 8 characters: base64url (no padding) of the first 6 bytes of
    SHA-256(``b"zaqar-core key id\\0"`` + key). Tells "sealed under another
    key" apart from "not authentic", for the log only.
``<data>``
    base64url (no padding) of a random 12-byte nonce, then the AES-256-GCM
    ciphertext with its 16-byte tag.

The key is SHA-256 of the configured string (any string works, as in
upstream Zaqar). The plaintext is the body as compact JSON in UTF-8 (never
pickle), so every JSON value comes back with its type. The associated data
is ``zqenc:1:<kid>:`` followed by the project id in UTF-8: header and
tenant are authenticated, so an envelope copied into another project does
not open there.

A body that only looks like an envelope (a user may post any string)
fails authentication and is shown exactly as stored, as is a real
envelope sealed under another key (a warning is logged). A posted body is
always sealed as a whole, so a look-alike in an encrypting queue comes
back as posted too.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Callable
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from oslo_config import cfg
from oslo_log import log

from zaqar_core.api import errors
from zaqar_core.storage import base

LOG = log.getLogger(__name__)

FLAG = '_enable_encrypt_messages'
PREFIX = 'zqenc:1:'
NONCE_SIZE = 12
TAG_SIZE = 16
UPSTREAM_DEFAULT_KEY = 'AES256'
_ENVELOPE = re.compile(r'zqenc:1:([A-Za-z0-9_-]{8}):([A-Za-z0-9_-]+)')
# A user can post look-alikes at will: failures warn at most this often.
WARNING_INTERVAL = 60.0
_quiet_until = 0.0
_logged: set[str] = set()

Reveal = Callable[[Any], Any]


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b'=').decode('ascii')


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + '=' * (-len(text) % 4))


def _log_once(what: str, level: int, message: str, *args: Any) -> None:
    if what not in _logged:
        _logged.add(what)
        LOG.log(level, message, *args)


def _warn_throttled(message: str, *args: Any) -> None:
    global _quiet_until
    now = time.monotonic()
    if now < _quiet_until:
        LOG.debug(message, *args)
        return
    _quiet_until = now + WARNING_INTERVAL
    LOG.warning(message + ' (like failures in the next %d s are logged '
                'at debug level)', *args, int(WARNING_INTERVAL))


class Cipher:
    """Seals and opens envelopes with the key derived from ``secret``."""

    def __init__(self, secret: str) -> None:
        key = hashlib.sha256(secret.encode()).digest()
        self.kid = _b64encode(
            hashlib.sha256(b'zaqar-core key id\0' + key).digest()[:6])
        self._aead = AESGCM(key)

    def _associated(self, kid: str, project: str) -> bytes:
        return f'{PREFIX}{kid}:{project}'.encode()

    def seal(self, body: Any, project: str) -> str:
        """The envelope of ``body`` (any JSON value) for ``project``."""
        plaintext = json.dumps(body, separators=(',', ':')).encode()
        nonce = os.urandom(NONCE_SIZE)
        sealed = self._aead.encrypt(nonce, plaintext,
                                    self._associated(self.kid, project))
        return f'{PREFIX}{self.kid}:{_b64encode(nonce + sealed)}'

    def open(self, body: Any, project: str) -> Any:
        """The body ``body`` was sealed from, or ``body`` itself when it is
        not an envelope this key opens for ``project``."""
        if not isinstance(body, str) or not body.startswith(PREFIX):
            return body
        match = _ENVELOPE.fullmatch(body)
        if match is None:
            return body
        kid, data = match.groups()
        try:
            raw = _b64decode(data)
        except (binascii.Error, ValueError):
            return body
        if len(raw) < NONCE_SIZE + TAG_SIZE:
            return body
        if kid != self.kid:
            _warn_throttled(
                'A message body of project %s was encrypted with another '
                'key (id %s, ours %s); shown as stored. Was '
                '[transport] message_encryption_key changed?', project, kid,
                self.kid)
            return body
        try:
            plaintext = self._aead.decrypt(raw[:NONCE_SIZE],
                                           raw[NONCE_SIZE:],
                                           self._associated(kid, project))
        except InvalidTag:
            # A look-alike posted by a user, or a corrupted envelope.
            _warn_throttled(
                'A message body of project %s looks encrypted but does not '
                'authenticate; shown as stored.', project)
            return body
        try:
            return json.loads(plaintext)
        except ValueError:
            # Authentic, so sealed by a holder of the key; not by us.
            return body


@functools.lru_cache(maxsize=4)
def _cipher(secret: str) -> Cipher:
    return Cipher(secret)


def cipher(conf: cfg.ConfigOpts) -> Cipher | None:
    """The deployment's cipher; None when no key is configured."""
    secret = conf.transport.message_encryption_key
    return _cipher(secret) if secret else None


def seal(conf: cfg.ConfigOpts, project: str, meta: dict,
         messages: list[base.NewMessage]) -> list[base.NewMessage]:
    """What to store for ``messages`` posted to a queue with metadata
    ``meta``: copies with sealed bodies when the queue asks for encryption
    and a key is set, else ``messages`` itself (left unchanged either way).

    Raises:
        ServiceUnavailable: the queue asks for encryption and the
            configured algorithm is one this service does not implement
            (RSA); nothing should be stored in plaintext instead.
    """
    if not meta.get(FLAG):
        return messages
    found = cipher(conf)
    if found is None:
        _log_once('no key', logging.WARNING,
                  'Queues ask for %s but [transport] message_encryption_key '
                  'is empty: their messages are stored in plaintext.', FLAG)
        return messages
    algorithm = conf.transport.message_encryption_algorithms
    if algorithm != 'AES256':
        _log_once(algorithm, logging.ERROR,
                  '[transport] message_encryption_algorithms = %s is not '
                  'implemented (only AES256 is): posts to queues with %s '
                  'are refused with 503.', algorithm, FLAG)
        raise errors.ServiceUnavailable(
            'This queue encrypts its messages and message encryption is '
            'misconfigured on the service.')
    if conf.transport.message_encryption_key == UPSTREAM_DEFAULT_KEY:
        _log_once('default key', logging.WARNING,
                  '[transport] message_encryption_key is the public default '
                  '"%s": encrypted messages are only obscured. Set a secret '
                  'key.', UPSTREAM_DEFAULT_KEY)
    return [{**m, 'body': found.seal(m['body'], project)} for m in messages]


def _as_stored(body: Any) -> Any:
    return body


def opener(conf: cfg.ConfigOpts, project: str) -> Reveal:
    """A function from a stored body of ``project`` to the body to show:
    envelopes this deployment's key opens are decrypted, anything else is
    returned as stored."""
    found = cipher(conf)
    if found is None:
        return _as_stored
    return functools.partial(found.open, project=project)
