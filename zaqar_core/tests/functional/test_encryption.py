"""Messages encrypted at rest: queues with ``_enable_encrypt_messages`` on a
server with ``[transport] message_encryption_key`` (facts 3 "Encryption",
10.1 #12).

Bodies must reach the store only as AES-256-GCM envelopes (the format is
documented in :mod:`zaqar_core.api.encryption`) and come back decrypted on
every read path. What the store holds is read through the storage driver
the server uses, loaded in this process from the server's config file.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from oslo_config import cfg

from zaqar_core import bootstrap
from zaqar_core import conf as zconf
from zaqar_core.storage.stores import Stores
from zaqar_testing.waiting import eventually

from .helpers import JSON_PATCH
from .helpers import ApiClient
from .helpers import Server
from .helpers import assert_error
from .helpers import assert_message_shape
from .helpers import ids_of
from .helpers import same_store

KEY = 'functional-test-key'
OTHER_KEY = 'a-key-the-messages-were-not-sealed-with'
ENCRYPTED = {'_enable_encrypt_messages': True}
ENVELOPE = re.compile(r'zqenc:1:([A-Za-z0-9_-]{8}):([A-Za-z0-9_-]+)')
MARKER = 'plaintext-marker'
BODIES: list[Any] = [
    {'secret': MARKER, 'n': [1, 2.5, None, True]}, f'{MARKER} ünïcode ✓',
    [MARKER], 42, None, False, '',
]


@pytest.fixture
def secure(make_server) -> Server:
    return make_server(DEFAULT={'enable_checksum': True},
                       transport={'message_encryption_key': KEY})


def checksum(body: Any) -> str:
    return 'MD5:' + hashlib.md5(json.dumps(body).encode(),
                                usedforsecurity=False).hexdigest()


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b'=').decode()


def key_id(secret: str) -> str:
    key = hashlib.sha256(secret.encode()).digest()
    return b64(hashlib.sha256(b'zaqar-core key id\0' + key).digest()[:6])


def spec_open(envelope: str, secret: str, project: str) -> Any:
    """Decrypt an envelope as documented, without the server's code."""
    match = ENVELOPE.fullmatch(envelope)
    assert match is not None, envelope
    kid, data = match.groups()
    raw = base64.urlsafe_b64decode(data + '=' * (-len(data) % 4))
    key = hashlib.sha256(secret.encode()).digest()
    return json.loads(AESGCM(key).decrypt(
        raw[:12], raw[12:], f'zqenc:1:{kid}:{project}'.encode()))


# -- the store, seen directly -------------------------------------------------

@contextlib.contextmanager
def stores_of(server: Server) -> Iterator[Stores]:
    conf = zconf.register_opts(cfg.ConfigOpts())
    conf(['--config-file', str(server.conf_path)], project='zaqar',
         default_config_files=[], default_config_dirs=[])
    stores = bootstrap.load_stores(conf)
    try:
        yield stores
    finally:
        stores.close()


def stored(server: Server, client: ApiClient, queue: str,
           ids: list[str]) -> list[dict]:
    """The messages as the store holds them, in the order of ``ids``."""
    with stores_of(server) as stores:
        return [stores.messages.get(client.project_id, queue, i)
                for i in ids]


# -- helpers ------------------------------------------------------------------

def get_body(client: ApiClient, queue: str, msg_id: str) -> Any:
    resp = client.get(f'/v2/queues/{queue}/messages/{msg_id}')
    assert resp.status_code == 200, resp.text
    return resp.json()['body']


def set_flag(client: ApiClient, queue: str, value: bool) -> None:
    resp = client.patch(f'/v2/queues/{queue}', headers={
        'Content-Type': JSON_PATCH}, json=[{
            'op': 'replace', 'path': '/metadata/_enable_encrypt_messages',
            'value': value}])
    assert resp.status_code == 200, resp.text


def wait_for_log(server: Server, text: str, timeout: float = 5.0) -> None:
    """Fails the test unless ``text`` shows up in the server's log."""
    log_path = server.log_path
    assert log_path is not None
    eventually(lambda: text in log_path.read_text(errors='replace'),
               timeout, what=f'"{text}" in {log_path}')


# -- storage ------------------------------------------------------------------

def test_store_holds_envelopes_never_plaintext(secure: Server) -> None:
    client = secure.client()
    client.create_queue('enc', ENCRYPTED)
    ids = client.post_messages('enc', *BODIES)
    for msg, body in zip(stored(secure, client, 'enc', ids), BODIES,
                         strict=True):
        assert isinstance(msg['body'], str), msg
        match = ENVELOPE.fullmatch(msg['body'])
        assert match is not None, msg
        assert match.group(1) == key_id(KEY)
        assert MARKER not in msg['body']
        assert spec_open(msg['body'], KEY, client.project_id) == body
        # The checksum is the plaintext's.
        assert msg['checksum'] == checksum(body)


def test_unflagged_queue_stores_plaintext(secure: Server) -> None:
    client = secure.client()
    ids = client.post_messages('plain', *BODIES)
    assert [m['body'] for m in stored(secure, client, 'plain', ids)] == \
        BODIES


# -- every read path ----------------------------------------------------------

def test_every_read_path_shows_plaintext(secure: Server) -> None:
    client = secure.client()
    client.create_queue('enc', ENCRYPTED)
    ids = client.post_messages('enc', *BODIES)
    by_id = dict(zip(ids, BODIES, strict=True))

    def check(messages: list[dict], expected_ids: list[str]) -> None:
        assert ids_of(messages) == expected_ids
        for msg in messages:
            assert msg['body'] == by_id[msg['id']], msg
            assert msg['checksum'] == checksum(by_id[msg['id']]), msg

    for msg_id in ids:
        resp = client.get(f'/v2/queues/enc/messages/{msg_id}')
        assert resp.status_code == 200, resp.text
        assert_message_shape(resp.json(), 'enc')
        check([resp.json()], [msg_id])
    resp = client.get('/v2/queues/enc/messages',
                      params={'ids': ','.join(ids[:3])})
    assert resp.status_code == 200, resp.text
    check(resp.json()['messages'], ids[:3])
    check(client.list_messages('enc', limit=20), ids)

    claim_id, claimed = client.claim('enc', limit=3)
    check(claimed, ids[:3])
    resp = client.get(f'/v2/queues/enc/claims/{claim_id}')
    assert resp.status_code == 200, resp.text
    check(resp.json()['messages'], ids[:3])
    check(client.list_messages('enc', limit=20, include_claimed='true'),
          ids)

    # Pop takes what is not claimed.
    resp = client.delete('/v2/queues/enc/messages', params={'pop': 20})
    assert resp.status_code == 200, resp.text
    check(resp.json()['messages'], ids[3:])

    # Stats show no bodies, and count as usual.
    stats = client.stats('enc')
    assert stats['total'] == 3 and stats['claimed'] == 3
    assert MARKER not in json.dumps(stats)


def test_flag_switched_off_keeps_old_messages_readable(secure: Server
                                                       ) -> None:
    client = secure.client()
    client.create_queue('toggle', ENCRYPTED)
    [sealed] = client.post_messages('toggle', {'before': MARKER})
    set_flag(client, 'toggle', False)
    [plain] = client.post_messages('toggle', {'after': MARKER})
    set_flag(client, 'toggle', True)
    [resealed] = client.post_messages('toggle', {'again': MARKER})

    raw = [m['body'] for m in stored(secure, client, 'toggle',
                                     [sealed, plain, resealed])]
    assert ENVELOPE.fullmatch(raw[0]) and ENVELOPE.fullmatch(raw[2])
    assert raw[1] == {'after': MARKER}

    set_flag(client, 'toggle', False)
    assert [m['body'] for m in client.list_messages('toggle')] == [
        {'before': MARKER}, {'after': MARKER}, {'again': MARKER}]
    _, claimed = client.claim('toggle')
    assert [m['body'] for m in claimed] == [
        {'before': MARKER}, {'after': MARKER}, {'again': MARKER}]


def test_dead_lettered_messages_stay_readable(secure: Server) -> None:
    client = secure.client()
    client.create_queue('dlq')  # not encrypting itself
    client.create_queue('work', {**ENCRYPTED, '_max_claim_count': 1,
                                 '_dead_letter_queue': 'dlq'})
    [msg_id] = client.post_messages('work', {'poison': MARKER})
    claim_id, [claimed] = client.claim('work')
    assert claimed['body'] == {'poison': MARKER}
    resp = client.delete(f'/v2/queues/work/claims/{claim_id}')
    assert resp.status_code == 204, resp.text
    # The second claim moves the message instead of returning it.
    assert client.claim('work') == (None, [])

    [moved] = stored(secure, client, 'dlq', [msg_id])
    assert ENVELOPE.fullmatch(moved['body']), moved
    assert get_body(client, 'dlq', msg_id) == {'poison': MARKER}
    resp = client.get('/v2/queues/dlq/messages',
                      params={'ids': msg_id})
    assert resp.status_code == 200, resp.text
    assert resp.json()['messages'][0]['body'] == {'poison': MARKER}


# -- bodies that only look like envelopes -------------------------------------

LOOK_ALIKES: list[Any] = [
    f'zqenc:1:{key_id(KEY)}:{b64(bytes(48))}',  # our key id, forged data
    f'zqenc:1:AAAAAAAA:{b64(bytes(48))}',  # another key id
    'zqenc:1:', 'zqenc:1:AAAAAAAA:not base64!', f'zqenc:9:{b64(bytes(48))}',
    {'zqenc': 1, 'data': b64(bytes(48))}, [f'zqenc:1:AAAAAAAA:{"A" * 64}'],
]


@pytest.mark.parametrize('metadata', [None, ENCRYPTED],
                         ids=['plain-queue', 'encrypted-queue'])
def test_look_alike_bodies_come_back_as_posted(
        secure: Server, metadata: dict | None) -> None:
    client = secure.client()
    client.create_queue('lookalike', metadata)
    ids = client.post_messages('lookalike', *LOOK_ALIKES)
    for msg_id, body in zip(ids, LOOK_ALIKES, strict=True):
        assert get_body(client, 'lookalike', msg_id) == body
    assert [m['body'] for m in client.list_messages('lookalike')] == \
        LOOK_ALIKES
    _, claimed = client.claim('lookalike', limit=20)
    assert [m['body'] for m in claimed] == LOOK_ALIKES


def test_envelope_copied_into_another_project_stays_sealed(
        secure: Server) -> None:
    owner = secure.client()
    owner.create_queue('enc', ENCRYPTED)
    [msg_id] = owner.post_messages('enc', {'secret': MARKER})
    [raw] = stored(secure, owner, 'enc', [msg_id])
    thief = owner.other_project()
    [copy_id] = thief.post_messages('plain', raw['body'])
    assert get_body(thief, 'plain', copy_id) == raw['body']


# -- configuration ------------------------------------------------------------

def test_server_with_another_key_shows_envelopes_as_stored(
        secure: Server, make_server) -> None:
    # As after a restart with a changed key: same store, other key.
    client = secure.client()
    client.create_queue('rekey', ENCRYPTED)
    ids = client.post_messages('rekey', {'secret': MARKER}, 'second')
    raw = [m['body'] for m in stored(secure, client, 'rekey', ids)]

    other: Server = make_server(
        transport={'message_encryption_key': OTHER_KEY},
        **same_store(secure))
    again = other.client(project_id=client.project_id,
                         client_id=client.client_id)
    assert get_body(again, 'rekey', ids[0]) == raw[0]
    assert [m['body'] for m in again.list_messages('rekey')] == raw
    claim_id, claimed = again.claim('rekey')
    assert [m['body'] for m in claimed] == raw
    resp = again.delete(f'/v2/queues/rekey/claims/{claim_id}')
    assert resp.status_code == 204, resp.text
    wait_for_log(other, 'encrypted with another key')

    # The server with the right key still reads them.
    assert [m['body'] for m in client.list_messages('rekey')] == [
        {'secret': MARKER}, 'second']


def test_rsa_refuses_encrypted_posts_and_still_decrypts(
        secure: Server, make_server) -> None:
    client = secure.client()
    client.create_queue('enc', ENCRYPTED)
    [msg_id] = client.post_messages('enc', {'secret': MARKER})

    rsa: Server = make_server(
        transport={'message_encryption_key': KEY,
                   'message_encryption_algorithms': 'RSA'},
        **same_store(secure))
    again = rsa.client(project_id=client.project_id)
    resp = again.post('/v2/queues/enc/messages',
                      json={'messages': [{'body': MARKER}]})
    assert_error(resp, 503, description='encryption')
    assert again.stats('enc')['total'] == 1
    # Queues without the flag work; reads decrypt as ever.
    assert len(again.post_messages('plain', 'text')) == 1
    assert get_body(again, 'enc', msg_id) == {'secret': MARKER}
    wait_for_log(rsa, 'not implemented')


def test_empty_key_stores_plaintext(make_server) -> None:
    server: Server = make_server(transport={'message_encryption_key': ''})
    client = server.client()
    client.create_queue('enc', ENCRYPTED)
    ids = client.post_messages('enc', {'k': MARKER})
    assert [m['body'] for m in stored(server, client, 'enc', ids)] == [
        {'k': MARKER}]
    assert get_body(client, 'enc', ids[0]) == {'k': MARKER}
