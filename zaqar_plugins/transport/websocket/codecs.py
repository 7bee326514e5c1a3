"""Frames to documents and back: JSON in text frames, MessagePack in
binary frames, each answered in its own kind.

Both decoders accept what JSON can say and no more (objects with string
keys, arrays, strings, finite numbers, signed 64-bit integers, booleans,
null), nested at most :data:`~zaqar_core.api.jsonbody.MAX_DEPTH` deep, so
that a MessagePack request cannot carry what a JSON one could not; and
strings of Unicode text only (:mod:`~zaqar_core.api.jsonbody` refuses
lone surrogates), so that a JSON request cannot carry what MessagePack
(UTF-8) could not.
"""

from __future__ import annotations

import json
import math
from typing import Any

import msgpack

from zaqar_core.api import errors
from zaqar_core.api import jsonbody

Frame = str | bytes

_INT_MIN, _INT_MAX = -2 ** 63, 2 ** 63 - 1


class UndecodableFrame(errors.BadRequest):
    """A frame that holds no document."""


def decode(frame: Frame) -> Any:
    """The document in ``frame``.

    Raises:
        UndecodableFrame: not JSON (text) or MessagePack (binary), or
            beyond what JSON can say.
    """
    if isinstance(frame, str):
        try:
            return jsonbody.decode_text(frame)
        except errors.BadRequest as exc:
            raise UndecodableFrame(
                f"Can't decode text (JSON) request: {exc.description}"
            ) from None
    try:
        document = msgpack.unpackb(frame, raw=False, strict_map_key=True)
    except (ValueError, msgpack.ExtraData, msgpack.FormatError,
            msgpack.StackError) as exc:
        raise UndecodableFrame(
            f"Can't decode binary (MessagePack) request: "
            f"{type(exc).__name__}.") from None
    problem = _beyond_json(document, 0)
    if problem:
        raise UndecodableFrame(
            f"Can't decode binary (MessagePack) request: {problem}")
    return document


def _beyond_json(value: Any, depth: int) -> str | None:
    """What makes ``value`` more than JSON, or None."""
    if isinstance(value, str | bool) or value is None:
        return None
    if isinstance(value, int):
        return None if _INT_MIN <= value <= _INT_MAX else \
            'an integer outside signed 64 bits.'
    if isinstance(value, float):
        return None if math.isfinite(value) else 'a NaN or infinity.'
    if depth >= jsonbody.MAX_DEPTH:
        return f'nested deeper than {jsonbody.MAX_DEPTH} levels.'
    if isinstance(value, list):
        items = value
    elif isinstance(value, dict):
        # MessagePack maps may have binary keys too (strict_map_key lets
        # them through); JSON objects have text keys only.
        if not all(isinstance(key, str) for key in value):
            return 'a map key that is not a string.'
        items = value.values()
    else:
        return f'a {type(value).__name__} value.'
    for item in items:
        problem = _beyond_json(item, depth + 1)
        if problem:
            return problem
    return None


def encode(document: Any, binary: bool) -> Frame:
    """``document`` as a frame: MessagePack if ``binary``, else JSON."""
    if binary:
        return msgpack.packb(document, use_bin_type=True)
    return json.dumps(document, separators=(',', ':'))
