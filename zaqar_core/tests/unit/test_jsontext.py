"""jsontext.dumps writes what json.dumps writes, and refuses alike."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from zaqar_core import jsontext

DOCUMENTS: list[Any] = [
    {}, [], '', 'plain', 'caf\u00e9 \u2028 "quoted" \\ \x00 \U0001f600',
    0, -1, 2 ** 63 - 1, 2 ** 70, 1.5, -0.0, 1e300, float('inf'),
    float('-inf'), float('nan'), True, False, None,
    {'event': 'bench', 'padding': 'x' * 200},
    {'message_ids': ['0123456789abcdef01234567'] * 10},
    {'a': {'b': [1, {'c': None}, [True, 2.25]]}},
    # Keys json.dumps turns into strings.
    {1: 'int', 2.5: 'float', None: 'none'}, {True: 'true', False: 'false'},
    ('a', 'tuple'),
]


@pytest.mark.parametrize('document', DOCUMENTS, ids=repr)
def test_the_text_is_json_dumps_text(document: Any) -> None:
    assert jsontext.dumps(document) == json.dumps(document)


def test_random_documents_are_written_as_json_dumps_writes_them() -> None:
    rng = random.Random(16)

    def scalar() -> Any:
        return rng.choice([
            rng.randint(-2 ** 64, 2 ** 64), rng.uniform(-1e9, 1e9),
            ''.join(chr(rng.randint(0, 0x10ffff)) for _ in range(
                rng.randint(0, 8))).encode('utf-8', 'surrogatepass').decode(
                    'utf-8', 'replace'),
            None, True, False])

    def document(depth: int) -> Any:
        kind = rng.randint(0, 2 if depth < 4 else 0)
        if kind == 1:
            return [document(depth + 1) for _ in range(rng.randint(0, 4))]
        if kind == 2:
            return {str(scalar()): document(depth + 1)
                    for _ in range(rng.randint(0, 4))}
        return scalar()

    for _ in range(2000):
        found = document(0)
        assert jsontext.dumps(found) == json.dumps(found)


@pytest.mark.parametrize('document', [
    {'a': object()}, [b'bytes'], {(1, 2): 'tuple key'}, {b'k': 1}],
    ids=['object', 'bytes', 'tuple-key', 'bytes-key'])
def test_what_json_dumps_refuses_is_refused(document: Any) -> None:
    with pytest.raises(TypeError):
        json.dumps(document)
    with pytest.raises(TypeError):
        jsontext.dumps(document)
