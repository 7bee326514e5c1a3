"""Opaque message ids for drivers that number messages.

SQL rows and Redis records are numbered by a counter (it gives FIFO order
and cheap indexes), but a counter shown as it is tells every client how
many messages were posted before and lets it guess the ids of others.
Drivers keep the counter inside and show each number through a keyed
permutation instead: a 4-round Feistel network over 96 bits (Luby-Rackoff:
a pseudorandom permutation when its round function is a pseudorandom
function; here keyed BLAKE2b), written as 24 lowercase hex digits, the
shape of upstream's MongoDB ids.

The number fills the low 64 bits of the block and the top 32 are zero, so
a made-up id decodes to a number only once in 2**32 tries: anything else
is rejected as malformed, like an unknown id. Encoding or decoding costs
about 2 microseconds.

The key is a per-deployment secret kept in the store itself (drivers
create it at first use), so that every process of a deployment shows the
same id for a message, and a restart keeps them.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from collections.abc import Callable

from zaqar_core.storage import errors

_HALF = 48
_HALF_MASK = (1 << _HALF) - 1
_ROUNDS = 4
_ID = re.compile(r'[0-9a-f]{24}')
# The largest number an id may carry: what a signed 64-bit column holds.
MAX_NUMBER = 2 ** 63 - 1


def new_key() -> str:
    """A fresh secret, as stored (64 hex digits)."""
    return secrets.token_hex(32)


class MessageIds:
    """The permutation of one key: numbers to public ids and back."""

    def __init__(self, key: str) -> None:
        self.key = key
        secret = bytes.fromhex(key)
        # One keyed hash per round, copied for each use: setting the key
        # up costs more than hashing six bytes.
        self._rounds = [
            hashlib.blake2b(key=secret, digest_size=_HALF // 8,
                            person=b'zaqar-id-%d' % i)
            for i in range(_ROUNDS)]

    # The round function, inlined in both loops below (a post of ten
    # messages computes forty): F_i(half) = BLAKE2b_i(half as 6 bytes).

    def encode(self, number: int) -> str:
        """The public id of ``number`` (1 to :data:`MAX_NUMBER`)."""
        left, right = number >> _HALF, number & _HALF_MASK
        for keyed in self._rounds:
            h = keyed.copy()
            h.update(right.to_bytes(6, 'big'))
            left, right = right, left ^ int.from_bytes(h.digest(), 'big')
        return f'{left:012x}{right:012x}'

    def decode(self, message_id: str | None) -> int | None:
        """The number a public id names, or None if it names none."""
        if not isinstance(message_id, str) or not _ID.fullmatch(message_id):
            return None
        left, right = int(message_id[:12], 16), int(message_id[12:], 16)
        for keyed in reversed(self._rounds):
            h = keyed.copy()
            h.update(left.to_bytes(6, 'big'))
            left, right = right ^ int.from_bytes(h.digest(), 'big'), left
        # The top 32 bits of the block must be zero (see the module doc).
        if left >> (64 - _HALF):
            return None
        number = (left << _HALF) | right
        return number if 0 < number <= MAX_NUMBER else None

    def decode_many(self, message_ids: list[str]) -> list[int]:
        """The numbers of those of ``message_ids`` that name one."""
        return [n for n in map(self.decode, message_ids) if n is not None]


class KeyCache:
    """Keys by scope (``''`` for a deployment-wide key, a project for a
    key per project), read from the store at most every ``max_age``
    seconds.

    The store keeps the key for good, so caching is safe; re-reading it
    now and then only bounds how long a process goes on with a key the
    store lost (a backend wiped under running servers).
    """

    def __init__(self, load: Callable[[str], str | None],
                 max_age: float = 60.0, size: int = 4096) -> None:
        self._load = load
        self._max_age = max_age
        self._size = size
        self._lock = threading.Lock()
        self._found: dict[str, tuple[MessageIds, float]] = {}

    def get(self, scope: str = '') -> MessageIds | None:
        """The codec of ``scope``; ``load(scope)`` supplies (or creates)
        the key when it is not cached or too old. None when the store has
        no key for ``scope`` (and so no messages); that is not cached."""
        found = self._found.get(scope)
        now = time.monotonic()
        if found is not None and now - found[1] < self._max_age:
            return found[0]
        key = self._load(scope)
        return None if key is None else self.put(scope, key)

    def encoder(self, scope: str = '') -> MessageIds:
        """The codec of ``scope``, to show numbers read from the store: a
        stored message implies a stored key (the post that stored the
        message stored the key, in the same step).

        Raises:
            Unavailable: the store has no key after all.
        """
        codec = self.get(scope)
        if codec is None:
            raise errors.Unavailable('The message id key is missing')
        return codec

    def cached_key(self, scope: str = '') -> str | None:
        """The key of ``scope`` this process uses, if it has one."""
        found = self._found.get(scope)
        return None if found is None else found[0].key

    def put(self, scope: str, key: str) -> MessageIds:
        """Record ``key`` as the one the store holds for ``scope`` now."""
        found = self._found.get(scope)
        codec = found[0] if found is not None and found[0].key == key \
            else MessageIds(key)
        with self._lock:
            if len(self._found) >= self._size and scope not in self._found:
                # Scopes are projects: forgetting them all now and then is
                # cheaper than tracking which were used last.
                self._found.clear()
            self._found[scope] = (codec, time.monotonic())
        return codec
