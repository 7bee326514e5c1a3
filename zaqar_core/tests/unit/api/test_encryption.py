"""Message body encryption: the envelope format and the API helpers."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from oslo_config import cfg

from zaqar_core.api import encryption
from zaqar_core.api import errors

KEY = 'unit-test-key'
PROJECT = 'project-a'
ENVELOPE = re.compile(r'zqenc:1:([A-Za-z0-9_-]{8}):([A-Za-z0-9_-]+)')
BODIES = ['text', '', 0, -7, 3.25, 2 ** 63 - 1, True, False, None, [],
          [1, 'two', None], {}, {'nested': {'deep': [1, {'x': 'y'}]}},
          'üñí©ødé ✓', '\x00\n\t', '\ud800', 'zqenc:1:']


@pytest.fixture(autouse=True)
def fresh_logging_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(encryption, '_quiet_until', 0.0)
    monkeypatch.setattr(encryption, '_logged', set())


@pytest.fixture
def cipher() -> encryption.Cipher:
    return encryption.Cipher(KEY)


@pytest.fixture
def keyed(conf: cfg.ConfigOpts) -> cfg.ConfigOpts:
    conf.set_override('message_encryption_key', KEY, group='transport')
    return conf


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b'=').decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + '=' * (-len(text) % 4))


def spec_kid(secret: str) -> str:
    key = hashlib.sha256(secret.encode()).digest()
    return b64(hashlib.sha256(b'zaqar-core key id\0' + key).digest()[:6])


def spec_open(envelope: str, secret: str, project: str) -> Any:
    """Decrypt as the module docstring documents it, without the module."""
    kid, data = ENVELOPE.fullmatch(envelope).groups()
    raw = unb64(data)
    aad = f'zqenc:1:{kid}:{project}'.encode()
    key = hashlib.sha256(secret.encode()).digest()
    return json.loads(AESGCM(key).decrypt(raw[:12], raw[12:], aad))


def spec_seal(body: Any, secret: str, project: str) -> str:
    kid = spec_kid(secret)
    nonce = b'\x01' * 12
    key = hashlib.sha256(secret.encode()).digest()
    sealed = AESGCM(key).encrypt(nonce, json.dumps(body).encode(),
                                 f'zqenc:1:{kid}:{project}'.encode())
    return f'zqenc:1:{kid}:{b64(nonce + sealed)}'


# -- the envelope -------------------------------------------------------------

@pytest.mark.parametrize('body', BODIES)
def test_round_trip_keeps_value_and_type(cipher: encryption.Cipher,
                                         body: Any) -> None:
    opened = cipher.open(cipher.seal(body, PROJECT), PROJECT)
    assert opened == body
    assert type(opened) is type(body)


def test_envelope_follows_the_documented_format(
        cipher: encryption.Cipher) -> None:
    body = {'secret': 'plaintext-marker', 'n': [1, 2]}
    envelope = cipher.seal(body, PROJECT)
    match = ENVELOPE.fullmatch(envelope)
    assert match is not None, envelope
    assert match.group(1) == spec_kid(KEY) == cipher.kid
    assert 'plaintext-marker' not in envelope
    plaintext = json.dumps(body, separators=(',', ':')).encode()
    # 12-byte nonce + ciphertext as long as the plaintext + 16-byte tag.
    assert len(unb64(match.group(2))) == 12 + len(plaintext) + 16
    assert spec_open(envelope, KEY, PROJECT) == body


def test_an_envelope_made_by_the_spec_opens(
        cipher: encryption.Cipher) -> None:
    body = {'made': 'elsewhere'}
    assert cipher.open(spec_seal(body, KEY, PROJECT), PROJECT) == body


def test_each_seal_uses_a_fresh_nonce(cipher: encryption.Cipher) -> None:
    first, second = (cipher.seal('same', PROJECT) for _ in range(2))
    assert first != second
    assert unb64(first.split(':')[3])[:12] != \
        unb64(second.split(':')[3])[:12]


def test_key_is_sha256_of_any_string() -> None:
    for secret in ('x', 'AES256', 'ünïcode key', 'k' * 500):
        envelope = encryption.Cipher(secret).seal([1], PROJECT)
        assert spec_open(envelope, secret, PROJECT) == [1]


# -- what does not open is shown as stored ------------------------------------

@pytest.mark.parametrize('body', [
    'text', 'zqenc:', 'zqenc:1:', 'zqenc:1:short:AAAA',
    'zqenc:1:AAAAAAAA:not base64!', 'zqenc:1:AAAAAAAA:A',
    'zqenc:1:AAAAAAAA:' + 'A' * 36,  # decodes to less than nonce + tag
    'zqenc:2:AAAAAAAA:' + 'A' * 60,  # a version this reader does not know
    'zqenc:1:AAAAAAAA:' + 'A' * 60 + ':extra', ' zqenc:1:AAAAAAAA:' + 'A' * 60,
    {'zqenc': 1, 'kid': 'AAAAAAAA', 'data': 'A' * 60}, ['zqenc:1:'], 7, None,
])
def test_non_envelopes_are_returned_unchanged(cipher: encryption.Cipher,
                                              body: Any) -> None:
    assert cipher.open(body, PROJECT) is body


def test_forged_envelope_with_our_key_id_is_returned_unchanged(
        cipher: encryption.Cipher, caplog: pytest.LogCaptureFixture) -> None:
    forged = f'zqenc:1:{cipher.kid}:{b64(bytes(64))}'
    with caplog.at_level(logging.DEBUG, 'zaqar_core.api.encryption'):
        assert cipher.open(forged, PROJECT) is forged
    assert 'does not authenticate' in caplog.text


def test_tampered_envelope_is_returned_unchanged(
        cipher: encryption.Cipher) -> None:
    envelope = cipher.seal({'amount': 10}, PROJECT)
    raw = bytearray(unb64(envelope.split(':')[3]))
    raw[15] ^= 1
    tampered = f'zqenc:1:{cipher.kid}:{b64(bytes(raw))}'
    assert cipher.open(tampered, PROJECT) == tampered


def test_envelope_of_another_project_does_not_open(
        cipher: encryption.Cipher) -> None:
    envelope = cipher.seal('for a only', PROJECT)
    assert cipher.open(envelope, 'project-b') == envelope


def test_another_key_shows_envelope_and_warns(
        cipher: encryption.Cipher, caplog: pytest.LogCaptureFixture) -> None:
    envelope = encryption.Cipher('old key').seal('secret', PROJECT)
    with caplog.at_level(logging.WARNING, 'zaqar_core.api.encryption'):
        assert cipher.open(envelope, PROJECT) == envelope
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert 'another key' in record.getMessage()
    assert spec_kid('old key') in record.getMessage()


def test_failure_warnings_are_throttled(
        cipher: encryption.Cipher, caplog: pytest.LogCaptureFixture) -> None:
    envelope = encryption.Cipher('old key').seal('secret', PROJECT)
    with caplog.at_level(logging.DEBUG, 'zaqar_core.api.encryption'):
        for _ in range(5):
            cipher.open(envelope, PROJECT)
    levels = [r.levelno for r in caplog.records]
    assert levels == [logging.WARNING] + [logging.DEBUG] * 4


# -- API helpers --------------------------------------------------------------

def new_messages(*bodies: Any) -> list[dict]:
    return [{'body': b, 'ttl': 60, 'delay': 0, 'checksum': f'MD5:{i}'}
            for i, b in enumerate(bodies)]


@pytest.mark.parametrize('meta', [{}, {'_enable_encrypt_messages': False},
                                  {'_default_message_ttl': 60}])
def test_seal_leaves_other_queues_alone(keyed: cfg.ConfigOpts,
                                        meta: dict) -> None:
    messages = new_messages('a')
    assert encryption.seal(keyed, PROJECT, meta, messages) is messages
    assert messages == new_messages('a')


def test_seal_encrypts_copies_for_flagged_queues(
        keyed: cfg.ConfigOpts) -> None:
    messages = new_messages({'k': 'v'}, 'b')
    stored = encryption.seal(keyed, PROJECT,
                             {'_enable_encrypt_messages': True}, messages)
    # The caller's list keeps the plaintext (for notifications).
    assert messages == new_messages({'k': 'v'}, 'b')
    assert [spec_open(m['body'], KEY, PROJECT) for m in stored] == \
        [{'k': 'v'}, 'b']
    # Everything but the body is stored as given; checksums stay those
    # of the plaintext.
    assert [{**m, 'body': None} for m in stored] == \
        [{**m, 'body': None} for m in messages]


def test_seal_without_key_stores_plaintext_and_warns_once(
        conf: cfg.ConfigOpts, caplog: pytest.LogCaptureFixture) -> None:
    conf.set_override('message_encryption_key', '', group='transport')
    meta = {'_enable_encrypt_messages': True}
    with caplog.at_level(logging.WARNING, 'zaqar_core.api.encryption'):
        for _ in range(3):
            messages = new_messages('a')
            assert encryption.seal(conf, PROJECT, meta, messages) is messages
    [record] = caplog.records
    assert 'plaintext' in record.getMessage()


def test_seal_with_rsa_refuses_and_logs_error_once(
        keyed: cfg.ConfigOpts, caplog: pytest.LogCaptureFixture) -> None:
    keyed.set_override('message_encryption_algorithms', 'RSA',
                       group='transport')
    with caplog.at_level(logging.WARNING, 'zaqar_core.api.encryption'):
        for _ in range(2):
            with pytest.raises(errors.ServiceUnavailable):
                encryption.seal(keyed, PROJECT,
                                {'_enable_encrypt_messages': True},
                                new_messages('a'))
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert 'RSA' in record.getMessage()
    # Unflagged queues are not concerned.
    messages = new_messages('a')
    assert encryption.seal(keyed, PROJECT, {}, messages) is messages


def test_seal_with_the_public_default_key_warns_once(
        conf: cfg.ConfigOpts, caplog: pytest.LogCaptureFixture) -> None:
    assert conf.transport.message_encryption_key == 'AES256'
    meta = {'_enable_encrypt_messages': True}
    with caplog.at_level(logging.WARNING, 'zaqar_core.api.encryption'):
        for _ in range(2):
            [stored] = encryption.seal(conf, PROJECT, meta, new_messages(1))
    assert spec_open(stored['body'], 'AES256', PROJECT) == 1
    [record] = caplog.records
    assert 'public default' in record.getMessage()


def test_opener_decrypts_for_its_project(keyed: cfg.ConfigOpts) -> None:
    envelope = spec_seal({'x': 1}, KEY, PROJECT)
    assert encryption.opener(keyed, PROJECT)(envelope) == {'x': 1}
    assert encryption.opener(keyed, 'project-b')(envelope) == envelope
    assert encryption.opener(keyed, PROJECT)('plain') == 'plain'


def test_opener_without_key_shows_bodies_as_stored(
        conf: cfg.ConfigOpts) -> None:
    conf.set_override('message_encryption_key', '', group='transport')
    envelope = spec_seal({'x': 1}, KEY, PROJECT)
    assert encryption.opener(conf, PROJECT)(envelope) is envelope


def test_cipher_follows_the_configured_key(keyed: cfg.ConfigOpts) -> None:
    assert encryption.cipher(keyed).kid == spec_kid(KEY)
    keyed.set_override('message_encryption_key', 'other', group='transport')
    assert encryption.cipher(keyed).kid == spec_kid('other')
