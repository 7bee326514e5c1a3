"""Size limits at their exact boundaries, and expiry of messages and claims.

Expiry tests need TTLs of a second, which only our ``min_message_ttl``,
``min_claim_ttl`` and ``min_claim_grace`` options allow, so they run on a
server of their own. They poll for what must happen, waiting no less than
a TTL where one must have run out; where a step must come before a TTL
runs out, a slow machine gets a longer TTL (``before_expiry``) instead of
a failure.
"""

from __future__ import annotations

import configparser
import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from typing import TypeVar

import pytest
import sqlalchemy as sa

from zaqar_plugins.storage.redis import connection
from zaqar_plugins.storage.redis import keys
from zaqar_testing.waiting import eventually

from .helpers import ApiClient
from .helpers import Server
from .helpers import assert_error
from .helpers import ids_of

MAX_POST = 262144
MAX_METADATA = 65536
SHORT_TTLS = {'min_message_ttl': 1, 'min_claim_ttl': 1, 'min_claim_grace': 0}
# How long to wait for what a TTL of a second or so makes happen: only a
# stalled machine takes anywhere near this.
EXPIRY_WAIT = 30.0
TOO_LARGE = ('Invalid API request', 'too large')

_T = TypeVar('_T')


def before_expiry(attempt: Callable[[int], _T | None]) -> _T:
    """``attempt(ttl)`` with ever longer TTLs until it returns something
    (None: the TTL ran out before it was done)."""
    for ttl in (1, 2, 4, 8, 16, 32):
        result = attempt(ttl)
        if result is not None:
            return result
    pytest.fail('every TTL ran out before the test could act')


def sleep_past(deadline: float) -> None:
    """Sleep until ``time.monotonic()`` is past ``deadline``."""
    time.sleep(max(0.0, deadline - time.monotonic()))


def padded_document(size: int, build: Callable[[str], object]) -> bytes:
    """A JSON document of exactly ``size`` bytes, padded in a string."""
    empty = len(json.dumps(build('')).encode())
    data = json.dumps(build('x' * (size - empty))).encode()
    assert len(data) == size
    return data


@pytest.fixture
def short(make_server) -> ApiClient:
    """A client of a server that allows 1-second TTLs and zero grace."""
    server: Server = make_server(transport=SHORT_TTLS)
    return server.client()


# -- size boundaries ----------------------------------------------------------

def test_message_post_of_exactly_max_size_is_accepted(client: ApiClient
                                                      ) -> None:
    data = padded_document(MAX_POST,
                           lambda pad: {'messages': [{'body': pad}]})
    resp = client.post('/v2/queues/exact/messages', data=data,
                       headers={'Content-Type': 'application/json'})
    assert resp.status_code == 201, resp.text


def test_message_post_one_byte_over_max_is_400(client: ApiClient) -> None:
    data = padded_document(MAX_POST + 1,
                           lambda pad: {'messages': [{'body': pad}]})
    client.create_queue('over')
    resp = client.post('/v2/queues/over/messages', data=data,
                       headers={'Content-Type': 'application/json'})
    assert_error(resp, 400, *TOO_LARGE)
    assert client.stats('over')['total'] == 0


def test_queue_post_size_limit_is_exact(client: ApiClient) -> None:
    client.create_queue('qsize', {'_max_messages_post_size': 1000})

    def post(size: int):
        data = padded_document(size,
                               lambda pad: {'messages': [{'body': pad}]})
        return client.post('/v2/queues/qsize/messages', data=data,
                           headers={'Content-Type': 'application/json'})

    assert post(1000).status_code == 201
    assert_error(post(1001), 400, *TOO_LARGE)
    assert client.stats('qsize')['total'] == 1


def test_metadata_of_exactly_max_size_is_accepted(client: ApiClient) -> None:
    data = padded_document(MAX_METADATA, lambda pad: {'pad': pad})
    resp = client.put('/v2/queues/bigmeta', data=data,
                      headers={'Content-Type': 'application/json'})
    assert resp.status_code == 201, resp.text


def test_metadata_one_byte_over_max_is_400(client: ApiClient) -> None:
    data = padded_document(MAX_METADATA + 1, lambda pad: {'pad': pad})
    resp = client.put('/v2/queues/toobig', data=data,
                      headers={'Content-Type': 'application/json'})
    assert_error(resp, 400, *TOO_LARGE)
    assert client.get('/v2/queues').json()['queues'] == []


def test_sixty_is_the_smallest_ttl_by_default(client: ApiClient) -> None:
    assert client.post('/v2/queues/min/messages',
                       json={'messages': [{'body': 1, 'ttl': 1}]}
                       ).status_code == 400
    assert client.post('/v2/queues/min/claims',
                       json={'ttl': 1, 'grace': 60}).status_code == 400
    assert client.post('/v2/queues/min/claims',
                       json={'ttl': 60, 'grace': 0}).status_code == 400


# -- the min_* options --------------------------------------------------------

def test_short_ttls_are_accepted_when_configured(short: ApiClient) -> None:
    short.post_messages('tiny', 'short', ttl=1)
    # Claimed for a second (the first may be gone by now).
    [msg_id] = short.post_messages('tiny', 'long', ttl=60)
    claim_id, claimed = short.claim('tiny', ttl=1, grace=0)
    assert claim_id is not None
    assert msg_id in ids_of(claimed)


def test_zero_ttl_is_still_rejected(short: ApiClient) -> None:
    resp = short.post('/v2/queues/zero/messages',
                      json={'messages': [{'body': 1, 'ttl': 0}]})
    assert_error(resp, 400, 'Invalid API request',
                 'must be at least 1 seconds')
    assert_error(short.post('/v2/queues/zero/claims',
                            json={'ttl': 0, 'grace': 0}), 400,
                 'Invalid API request', 'must be at least 1 seconds')


# -- message expiry -----------------------------------------------------------

def test_message_with_ttl_1_disappears(short: ApiClient) -> None:
    [gone] = short.post_messages('expiring', 'short', ttl=1)
    [kept] = short.post_messages('expiring', 'long', ttl=60)
    assert eventually(lambda: short.get(
        f'/v2/queues/expiring/messages/{gone}').status_code == 404,
        timeout=EXPIRY_WAIT)
    assert ids_of(short.list_messages('expiring')) == [kept]
    assert short.stats('expiring')['total'] == 1
    resp = short.get(f'/v2/queues/expiring/messages?ids={gone}')
    assert resp.status_code == 404


def test_expired_message_is_not_claimed_or_popped(short: ApiClient) -> None:
    short.post_messages('expired', 'short', ttl=1)
    assert eventually(lambda: short.stats('expired')['total'] == 0,
                      timeout=EXPIRY_WAIT)
    assert short.claim('expired') == (None, [])
    popped = short.delete('/v2/queues/expired/messages', params={'pop': 5})
    assert popped.json() == {'messages': []}


# -- claim expiry -------------------------------------------------------------

def test_expired_claim_frees_its_messages(short: ApiClient) -> None:
    [msg_id] = short.post_messages('reclaim', 'job', ttl=60)

    def claim_it(ttl: int) -> str | None:
        claim_id, _ = short.claim('reclaim', ttl=ttl, grace=0)
        second, claimed = short.claim('reclaim')
        if second is None:
            return claim_id  # held while the claim lived
        # The first claim ran out before the second: start over.
        assert short.delete(f'/v2/queues/reclaim/claims/{second}'
                            ).status_code == 204
        return None

    claim_id = before_expiry(claim_it)
    assert eventually(lambda: short.get(
        f'/v2/queues/reclaim/claims/{claim_id}').status_code == 404,
        timeout=EXPIRY_WAIT)
    new_claim, claimed = short.claim('reclaim')
    assert ids_of(claimed) == [msg_id]
    assert new_claim != claim_id


def test_expired_claim_id_cannot_delete(short: ApiClient) -> None:
    [msg_id] = short.post_messages('stale', 'job', ttl=60)
    claim_id, _ = short.claim('stale', ttl=1, grace=0)
    assert eventually(lambda: short.stats('stale')['claimed'] == 0,
                      timeout=EXPIRY_WAIT)
    resp = short.delete(f'/v2/queues/stale/messages/{msg_id}',
                        params={'claim_id': claim_id})
    assert_error(resp, 400, 'Unable to delete', 'not currently claimed')
    # Now unclaimed, it can be deleted without a claim id.
    assert short.delete(f'/v2/queues/stale/messages/{msg_id}'
                        ).status_code == 204


def test_expired_claim_cannot_be_renewed(short: ApiClient) -> None:
    short.post_messages('renew', 'job', ttl=60)
    claim_id, _ = short.claim('renew', ttl=1, grace=0)
    assert eventually(lambda: short.get(
        f'/v2/queues/renew/claims/{claim_id}').status_code == 404,
        timeout=EXPIRY_WAIT)
    resp = short.patch(f'/v2/queues/renew/claims/{claim_id}',
                       json={'ttl': 60})
    assert resp.status_code == 404


def test_renewed_claim_outlives_its_first_ttl(short: ApiClient) -> None:
    [msg_id] = short.post_messages('kept', 'job', ttl=3600)

    def claim_and_renew(ttl: int) -> tuple[str, float] | None:
        claim_id, _ = short.claim('kept', ttl=ttl, grace=0)
        # The first TTL runs out by then at the latest.
        first_end = time.monotonic() + ttl
        resp = short.patch(f'/v2/queues/kept/claims/{claim_id}',
                           json={'ttl': 600, 'grace': 0})
        if resp.status_code == 404:
            return None  # it ran out before the renewal
        assert resp.status_code == 204, resp.text
        return claim_id, first_end

    claim_id, first_end = before_expiry(claim_and_renew)
    sleep_past(first_end + 0.5)
    claim = short.get(f'/v2/queues/kept/claims/{claim_id}')
    assert claim.status_code == 200
    assert ids_of(claim.json()['messages']) == [msg_id]
    assert short.claim('kept') == (None, [])


def test_claim_keeps_short_message_alive(short: ApiClient) -> None:
    # A short-lived message claimed for longer than it has left must not
    # expire under its claim: its TTL grows to the claim's plus grace.
    def post_and_claim(ttl: int) -> tuple[str, str, float] | None:
        [msg_id] = short.post_messages('alive', 'job', ttl=ttl)
        # Its own TTL runs out by then at the latest.
        own_end = time.monotonic() + ttl
        claim_id, claimed = short.claim('alive', ttl=30, grace=30)
        if not claimed:
            return None  # expired before it was claimed
        return msg_id, claim_id, own_end

    msg_id, claim_id, own_end = before_expiry(post_and_claim)
    sleep_past(own_end + 0.5)
    resp = short.get(f'/v2/queues/alive/messages/{msg_id}')
    assert resp.status_code == 200
    assert resp.json()['ttl'] >= 60
    assert short.delete(f'/v2/queues/alive/messages/{msg_id}',
                        params={'claim_id': claim_id}).status_code == 204


# -- garbage collection -------------------------------------------------------

def _config(server: Server) -> configparser.ConfigParser:
    config = configparser.ConfigParser(interpolation=None)
    config.read(server.conf_path)
    return config


def stored_rows(server: Server, project: str) -> int:
    """Messages of ``project`` the server's store holds, expired or not."""
    config = _config(server)
    if config['drivers']['message_store'] == 'redis':
        client = connection.make_client(
            config['drivers:message_store:redis']['uri'])
        try:
            pattern = f'{keys.project_prefix(project)}:*:msgs'
            return sum(client.hlen(key) for key in
                       client.scan_iter(match=pattern))
        finally:
            client.close()
    engine = sa.create_engine(
        config['drivers:message_store:sqlalchemy']['uri'])
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(
                'SELECT count(*) FROM messages WHERE project = :p'),
                {'p': project}).scalar_one()
    finally:
        engine.dispose()


def test_server_collects_expired_messages(make_server) -> None:
    # Invisible at once is tested above; here the rows must go too.
    server: Server = make_server(private_store=True, transport=SHORT_TTLS,
                                 storage={'gc_interval': 1})

    def post_and_count(ttl: int) -> tuple[ApiClient, int] | None:
        client = server.client()  # a project of its own each time
        client.post_messages('gc', *range(3), ttl=ttl)
        client.post_messages('gc', 'kept', ttl=600)
        # All stored, unless the collector beat us to them.
        if stored_rows(server, client.project_id) != 4:
            return None
        return client, ttl

    client, ttl = before_expiry(post_and_count)
    assert eventually(lambda: stored_rows(server, client.project_id) == 1,
                      timeout=ttl + EXPIRY_WAIT)
    assert [m['body'] for m in client.list_messages('gc')] == ['kept']


def test_gc_command_collects_expired_messages(make_server) -> None:
    # zaqar-gc, for deployments that turn the in-server collector off.
    # Other servers' collectors must not get there first.
    server: Server = make_server(private_store=True, transport=SHORT_TTLS,
                                 storage={'gc_interval': 0})
    client = server.client()
    client.post_messages('gc', *range(3), ttl=1)
    client.post_messages('gc', 'kept', ttl=600)
    time.sleep(1.2)
    assert stored_rows(server, client.project_id) == 4
    result = subprocess.run(
        [sys.executable, '-m', 'zaqar_core.cmd.gc', '--config-file',
         str(server.conf_path)], capture_output=True, text=True,
        timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    # Other tests share the server, so more may go; never fewer.
    found = re.search(r'Removed (\d+) expired', result.stdout)
    assert found, result.stdout
    removed = int(found.group(1))
    assert removed >= 3, result.stdout
    assert stored_rows(server, client.project_id) == 1


def test_gc_command_on_an_unreachable_database_says_so_in_one_line(
        tmp_path) -> None:
    uri = 'postgresql+psycopg2://nobody@127.0.0.1:1/none'
    conf = tmp_path / 'zaqar.conf'
    conf.write_text(
        '[drivers]\nmessage_store = sqlalchemy\n'
        'management_store = sqlalchemy\n'
        f'[drivers:message_store:sqlalchemy]\nuri = {uri}\n'
        f'[drivers:management_store:sqlalchemy]\nuri = {uri}\n')
    result = subprocess.run(
        [sys.executable, '-m', 'zaqar_core.cmd.gc', '--config-file',
         str(conf)], capture_output=True, text=True, timeout=60,
        check=False)
    assert result.returncode == 1
    assert 'Traceback' not in result.stderr, result.stderr
    assert 'Connection refused' in result.stderr
