"""JSON text of a document, exactly as ``json.dumps(document)`` writes it.

``json.dumps`` sets up a new C encoder on every call, behind three Python
calls. Messages are small, and a post of ten encodes each body and then
the answer: the set-up was most of the cost of each. Here one encoder is
set up once and reused. It skips ``json.dumps``'s check for a document
that contains itself, which documents decoded from JSON cannot; one built
by hand that did would fail with RecursionError instead of ValueError.
"""

from __future__ import annotations

import json
from json import encoder as _encoder
from typing import Any

_DEFAULT = json.JSONEncoder()
_make = getattr(_encoder, 'c_make_encoder', None)
_encode = None if _make is None else _make(
    None, _DEFAULT.default, _encoder.encode_basestring_ascii, None, ': ',
    ', ', False, False, True)


def dumps(document: Any) -> str:
    """``json.dumps(document)``."""
    if _encode is None or isinstance(document, str):
        # Without the C encoder (another Python), as json does; a string
        # is not something the encoder takes at the top.
        return json.dumps(document)
    return ''.join(_encode(document, 0))
