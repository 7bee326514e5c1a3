"""Round trips through the official python-zaqarclient (API v2).

The client is strict in places a raw HTTP test would not notice: it builds
Message objects from the exact keys we send, reads claim ids out of hrefs
and follows ``next`` links until an empty page.
"""

from __future__ import annotations

import time
import uuid

import pytest
from zaqarclient.queues import client as zaqar_client

from .helpers import RESERVED_DEFAULTS
from .helpers import ApiClient
from .helpers import Server


@pytest.fixture
def project() -> str:
    return uuid.uuid4().hex


@pytest.fixture
def zaqar(server: Server, project: str):
    """A python-zaqarclient v2 client in a project of its own."""
    conf = {
        'auth_opts': {'backend': 'noauth',
                      'options': {'os_project_id': project}},
        'client_uuid': str(uuid.uuid4()),
    }
    return zaqar_client.Client(server.url, version=2, conf=conf)


@pytest.fixture
def raw(server: Server, project: str) -> ApiClient:
    """Plain HTTP in the same project, to check what the client did."""
    return ApiClient(server.url, project_id=project)


def bodies(messages) -> list:
    return [m.body for m in messages]


def test_create_and_list_queues(zaqar) -> None:
    for name in ('beta', 'alpha'):
        zaqar.queue(name, force_create=True)
    queues, count = zaqar.queues()
    assert [q.name for q in queues] == ['alpha', 'beta']
    assert count is None


def test_queue_list_streams_across_pages(zaqar) -> None:
    names = [f'q{i}' for i in range(5)]
    for name in names:
        zaqar.queue(name, force_create=True)
    queues, _ = zaqar.queues(limit=2)
    assert [q.name for q in queues.stream()] == names


def test_detailed_queue_list_carries_metadata(zaqar) -> None:
    zaqar.queue('meta', force_create=True).metadata(new_meta={'k': 'v'})
    queues, _ = zaqar.queues(detailed=True)
    [queue] = list(queues)
    assert queue.metadata()['k'] == 'v'


def test_set_and_get_metadata(zaqar) -> None:
    queue = zaqar.queue('meta', force_create=True)
    updated = queue.metadata(new_meta={'color': 'red', 'size': 3})
    assert updated == {**RESERVED_DEFAULTS, 'color': 'red', 'size': 3}
    assert queue.metadata(force_reload=True)['color'] == 'red'


def test_replacing_metadata_drops_old_keys(zaqar) -> None:
    # The client sends "remove" for every key it saw, reserved ones too.
    queue = zaqar.queue('meta', force_create=True)
    queue.metadata(new_meta={'old': 1})
    queue.metadata(new_meta={'new': 2})
    fresh = queue.metadata(force_reload=True)
    assert 'old' not in fresh
    assert fresh['new'] == 2


def test_changing_reserved_metadata(zaqar, raw: ApiClient) -> None:
    queue = zaqar.queue('meta', force_create=True)
    queue.metadata(new_meta={'_default_message_ttl': 120})
    assert raw.get('/v2/queues/meta').json()['_default_message_ttl'] == 120


def test_post_and_list_messages(zaqar) -> None:
    queue = zaqar.queue('msgs', force_create=True)
    result = queue.post([{'body': {'n': 1}, 'ttl': 600},
                         {'body': 'two'}])
    assert len(result['resources']) == 2
    listed = list(queue.messages(echo=True))
    assert bodies(listed) == [{'n': 1}, 'two']
    assert [m.ttl for m in listed] == [600, 3600]


def test_message_list_streams_across_pages(zaqar) -> None:
    queue = zaqar.queue('stream', force_create=True)
    for start in range(0, 25, 5):
        queue.post([{'body': i} for i in range(start, start + 5)])
    streamed = queue.messages(echo=True, limit=7).stream()
    assert bodies(streamed) == list(range(25))


def test_get_message_by_id(zaqar) -> None:
    queue = zaqar.queue('byid', force_create=True)
    href = queue.post({'body': 'find me'})['resources'][0]
    msg_id = href.rsplit('/', 1)[1]
    message = queue.message(msg_id)
    assert message.id == msg_id
    assert message.body == 'find me'


def test_get_messages_by_ids(zaqar) -> None:
    queue = zaqar.queue('byids', force_create=True)
    hrefs = queue.post([{'body': i} for i in range(3)])['resources']
    ids = [href.rsplit('/', 1)[1] for href in hrefs]
    got = list(queue.messages(ids[0], ids[2]))
    assert sorted(m.body for m in got) == [0, 2]


def test_claim_update_delete_and_release(zaqar, raw: ApiClient) -> None:
    queue = zaqar.queue('work', force_create=True)
    queue.post([{'body': i} for i in range(3)])

    claim = queue.claim(ttl=120, grace=60, limit=2)
    claimed = list(claim)
    assert bodies(claimed) == [0, 1]
    assert claim.id
    assert all(m.claim_id == claim.id for m in claimed)

    started = time.monotonic()
    claim.update(ttl=300, grace=60)
    again = queue.claim(id=claim.id)
    assert again.ttl == 300
    assert again.age <= time.monotonic() - started + 1

    # Deleting a claimed message uses the claim id from its href.
    claimed[0].delete()
    stats = raw.stats('work')
    assert (stats['total'], stats['claimed']) == (2, 1)

    claim.delete()
    assert raw.stats('work')['claimed'] == 0
    assert bodies(queue.claim(ttl=60, grace=60, limit=5)) == [1, 2]


def test_claim_without_limit_takes_ten(zaqar) -> None:
    queue = zaqar.queue('defaults', force_create=True)
    queue.post([{'body': i} for i in range(12)])
    claim = queue.claim(ttl=60, grace=60)
    assert bodies(claim) == list(range(10))


def test_claim_with_client_defaults_uses_server_defaults(
        zaqar, raw: ApiClient) -> None:
    # The client sends "ttl": null and "grace": null when they are left
    # out; the server's defaults (300 s, 60 s) apply.
    queue = zaqar.queue('nulls', force_create=True)
    queue.post([{'body': 'x'}])
    claim = queue.claim(limit=1)
    assert bodies(claim) == ['x']
    shown = raw.get(f'/v2/queues/nulls/claims/{claim.id}').json()
    assert shown['ttl'] == 300


def test_empty_claim_has_no_messages(zaqar) -> None:
    queue = zaqar.queue('none', force_create=True)
    claim = queue.claim(ttl=60, grace=60)
    assert list(claim) == []
    assert claim.id is None


def test_pop_messages(zaqar, raw: ApiClient) -> None:
    queue = zaqar.queue('pop', force_create=True)
    queue.post([{'body': i} for i in range(3)])
    popped = list(queue.pop(count=2))
    assert bodies(popped) == [0, 1]
    assert raw.stats('pop')['total'] == 1


def test_delete_messages_by_ids(zaqar, raw: ApiClient) -> None:
    queue = zaqar.queue('bulk', force_create=True)
    hrefs = queue.post([{'body': i} for i in range(3)])['resources']
    ids = [href.rsplit('/', 1)[1] for href in hrefs]
    queue.delete_messages(*ids[:2])
    assert [m['id'] for m in raw.list_messages('bulk')] == ids[2:]


def test_queue_stats(zaqar) -> None:
    queue = zaqar.queue('stats', force_create=True)
    queue.post([{'body': i} for i in range(4)])
    queue.claim(ttl=60, grace=60, limit=1)
    stats = queue.stats['messages']
    assert (stats['total'], stats['claimed'], stats['free']) == (4, 1, 3)


def test_delete_queue(zaqar) -> None:
    queue = zaqar.queue('doomed', force_create=True)
    queue.post({'body': 1})
    queue.delete()
    queues, _ = zaqar.queues()
    assert list(queues) == []
    assert queue.stats['messages']['total'] == 0


def test_ping_and_homedoc(zaqar) -> None:
    assert zaqar.ping() is True
    assert 'rel/queues' in zaqar.homedoc()['resources']


def test_subscription_calls(zaqar, raw: ApiClient) -> None:
    hook = 'http://127.0.0.1:9/hook'
    made = zaqar.subscription('jobs', subscriber=hook, ttl=600,
                              options={'k': 'v'})
    assert made.id
    listed = list(zaqar.subscriptions('jobs'))
    assert [s.id for s in listed] == [made.id]
    assert (listed[0].subscriber, listed[0].ttl, listed[0].options) == \
        (hook, 600, {'k': 'v'})
    fetched = zaqar.subscription('jobs', id=made.id)
    assert (fetched.subscriber, fetched.confirmed) == (hook, False)
    fetched.update({'ttl': 1200})
    assert raw.get(f'/v2/queues/jobs/subscriptions/{made.id}').json()[
        'ttl'] == 1200
    assert [s.id for s in zaqar.queue('jobs').subscriptions()] == [made.id]
    # Repeating an unconfirmed subscription gives the same one.
    again = zaqar.subscription('jobs', subscriber=hook, ttl=600)
    assert again.id == made.id
    fetched.delete()
    assert list(zaqar.subscriptions('jobs')) == []
