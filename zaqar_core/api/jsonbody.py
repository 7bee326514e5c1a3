"""Decoding request bodies: strict JSON that cannot hurt the server."""

import json
import math
import re
from typing import Any

from zaqar_core.api import errors

# Deeper documents are refused before the decoder could hit Python's
# recursion limit.
MAX_DEPTH = 64
_INT_MIN, _INT_MAX = -2 ** 63, 2 ** 63 - 1
_SURROGATE_ESCAPE = re.compile(r'\\u[dD][89a-fA-F]')
_SURROGATE = re.compile('[\ud800-\udfff]')


def _check_int(text: str) -> int:
    # Checked before int(): Python refuses to convert over 4,300 digits
    # (a ValueError, which would read as a parse error).
    if len(text) > 20:
        raise errors.invalid_body('JSON contains integer that is too large.')
    value = int(text)
    if not _INT_MIN <= value <= _INT_MAX:
        raise errors.invalid_body('JSON contains integer that is too large.')
    return value


def _check_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise errors.invalid_body('JSON contains a number that is too '
                                  'large.')
    return value


def _reject_constant(name: str) -> None:
    raise errors.invalid_body(f'Request body could not be parsed: {name} '
                              f'is not valid JSON.')


# Built once: json.loads with these hooks builds a decoder per call.
_DECODER = json.JSONDecoder(parse_int=_check_int, parse_float=_check_float,
                            parse_constant=_reject_constant)


def _too_deep(raw: str) -> bool:
    depth = deepest = 0
    in_string = escaped = False
    for char in raw:
        if in_string:
            if escaped:
                escaped = False
            elif char == '\\':
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in '[{':
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_DEPTH:
                    return True
        elif char in ']}':
            depth -= 1
    return False


def decode(raw: bytes) -> Any:
    """The JSON document in ``raw``; must be an object or an array.

    Raises:
        BadRequest: undecodable, too deep, an integer outside signed 64
            bits, NaN/Infinity, or a top level that is not an object or
            array.
    """
    try:
        text = raw.decode('utf-8')
    except UnicodeDecodeError:
        raise errors.invalid_body(
            'Request body could not be parsed.') from None
    document = decode_text(text)
    if not isinstance(document, dict | list):
        raise errors.invalid_body('Request body could not be parsed.')
    return document


def decode_text(text: str) -> Any:
    """The JSON value in ``text``, whatever its type.

    Raises:
        BadRequest: undecodable, too deep, an integer outside signed 64
            bits, NaN or Infinity, or a string with a lone surrogate.
    """
    # The count of openers bounds the depth: scan only when it could matter.
    if text.count('[') + text.count('{') > MAX_DEPTH and _too_deep(text):
        raise errors.invalid_body(
            f'Request body is nested deeper than {MAX_DEPTH} levels.')
    try:
        document = _DECODER.decode(text)
    except ValueError:
        raise errors.invalid_body(
            'Request body could not be parsed.') from None
    # A \ud800 escape alone is JSON that no UTF-8 can carry (nor a store,
    # nor MessagePack); the escapes of a pair make one character.
    if _SURROGATE_ESCAPE.search(text) and _lone_surrogate(document):
        raise errors.invalid_body(
            'Request body holds a lone surrogate (\\ud800-\\udfff), which '
            'is not Unicode text.')
    return document


def _lone_surrogate(value: Any) -> bool:
    """Whether a string in ``value`` (a key too) holds a lone
    surrogate."""
    if isinstance(value, str):
        return _SURROGATE.search(value) is not None
    if isinstance(value, list):
        return any(_lone_surrogate(item) for item in value)
    if isinstance(value, dict):
        return any(_lone_surrogate(key) or _lone_surrogate(item)
                   for key, item in value.items())
    return False
