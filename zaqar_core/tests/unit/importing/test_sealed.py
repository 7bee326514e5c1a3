"""Upstream's encrypted bodies: opened as upstream wrote them, and a
pickle that would build anything but plain values refused."""

from __future__ import annotations

import os
import pickle

import pytest

from zaqar_core.importing import sealed
from zaqar_core.tests.unit.importing.test_importer import upstream_seal

KEY = 'AES256'


class Boom:
    def __reduce__(self):
        return (os.system, ('echo opened > /dev/null',))


@pytest.mark.parametrize('body', [
    {'a': [1, 2.5, None, True, 'x']}, [1, {'b': 'c'}], 42, 'text',
    'ünïcode ✓', ''])
def test_what_upstream_sealed_opens_as_it_was(body: object) -> None:
    assert sealed.UpstreamKey(KEY).open(upstream_seal(body, KEY)) == body


def test_another_key_cannot_open_it() -> None:
    with pytest.raises(sealed.CannotOpen):
        sealed.UpstreamKey('other').open(upstream_seal({'a': 1}, KEY))


@pytest.mark.parametrize('stored', [b'not base64!', b'c2hvcnQ=',
                                    b'A' * 64])
def test_what_is_no_envelope_is_refused(stored: bytes) -> None:
    with pytest.raises(sealed.CannotOpen):
        sealed.UpstreamKey(KEY).open(stored)


def test_a_pickle_that_calls_anything_is_refused(
        monkeypatch: pytest.MonkeyPatch) -> None:
    crafted = pickle.dumps(Boom())
    called = []
    monkeypatch.setattr(os, 'system', lambda *a: called.append(a))
    # Sealed as upstream seals bytes it pickled.
    monkeypatch.setattr(pickle, 'dumps', lambda body: crafted)
    stored = upstream_seal({'looks': 'plain'}, KEY)
    with pytest.raises(sealed.CannotOpen, match='plain'):
        sealed.UpstreamKey(KEY).open(stored)
    assert called == []
