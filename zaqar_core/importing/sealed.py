"""Bodies upstream encrypted (queues with ``_enable_encrypt_messages``),
opened with the deployment's key so that this project can seal them again
in its own envelope (:mod:`zaqar_core.api.encryption`).

Upstream stores base64 of a random 16-byte IV and the AES-256-CBC
ciphertext (PKCS7 padding) of either the UTF-8 text of a string body or
the pickle of any other body; the key is SHA-256 of the configured
string. Pickles are read by an unpickler that refuses every global, so a
crafted body can build nothing but plain JSON-like values.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import pickle
from typing import Any

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.ciphers import modes

_IV = 16
# What json.loads gives: upstream pickled bodies it had parsed from JSON.
_PLAIN = (dict, list, str, int, float, bool, type(None))


class CannotOpen(ValueError):
    """Not an upstream envelope under this key."""


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f'{module}.{name} is not a plain value')


def _plain(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v)
                   for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return isinstance(value, _PLAIN)


class UpstreamKey:
    """Opens the envelopes of one configured key."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(secret.encode('utf-8')).digest()

    def open(self, stored: bytes) -> Any:
        """The body upstream sealed into ``stored``.

        Raises:
            CannotOpen: not base64, not a whole number of blocks, bad
                padding (another key, most likely) or not a plain value.
        """
        try:
            raw = base64.b64decode(stored, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CannotOpen(f'not base64: {exc}') from exc
        if len(raw) < 2 * _IV or len(raw) % _IV:
            raise CannotOpen('not an AES-CBC envelope')
        decryptor = Cipher(algorithms.AES(self._key),
                           modes.CBC(raw[:_IV])).decryptor()
        padded = decryptor.update(raw[_IV:]) + decryptor.finalize()
        unpadder = padding.PKCS7(algorithms.AES.block_size).unpadder()
        try:
            data = unpadder.update(padded) + unpadder.finalize()
        except ValueError as exc:
            raise CannotOpen('bad padding: another key?') from exc
        if data.startswith(b'\x80'):  # a pickle's PROTO opcode
            try:
                body = _PlainUnpickler(io.BytesIO(data)).load()
            except Exception as exc:  # noqa: BLE001 (any malformed pickle)
                raise CannotOpen(f'not a plain pickle: {exc}') from exc
            if not _plain(body):
                raise CannotOpen('not a plain value')
            return body
        try:
            return data.decode('utf-8')
        except UnicodeDecodeError as exc:
            raise CannotOpen('neither a pickle nor UTF-8 text') from exc
