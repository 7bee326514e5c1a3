"""Posts and claims keep the queue metadata they read, and the store checks
it as it stores or claims: a change made through another process (another
``Api`` on the same stores) is seen by the very next one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from oslo_config import cfg

from zaqar_core import bootstrap
from zaqar_core.api import errors
from zaqar_core.api import seen_metadata
from zaqar_core.api.request import Request
from zaqar_core.api.service import Api
from zaqar_core.storage import errors as storage_errors

PROJECT = 'p'
QUEUE = 'q'
CLIENT_ID = '3381af92-2b9e-11e3-b191-71861300734c'


@pytest.fixture(params=['sqlite', 'redis'])
def two_processes(request: pytest.FixtureRequest) -> Iterator[tuple[Api,
                                                                    Api]]:
    conf: cfg.ConfigOpts = request.getfixturevalue(f'{request.param}_conf')
    here, there = bootstrap.make_api(conf), bootstrap.make_api(conf)
    yield here, there
    here.stores.close()
    there.stores.close()


def post(api: Api, body_size: int = 64, **message: Any) -> Any:
    req = Request(project_id=PROJECT, client_id=CLIENT_ID,
                  params={'queue_name': QUEUE},
                  body={'messages': [{'body': 'b', **message}]},
                  body_size=body_size)
    return api.call('message_post', req)


def ttl_of(api: Api, result: Any) -> int:
    [message_id] = result.body['message_ids']
    return api.stores.messages.get(PROJECT, QUEUE, message_id)['ttl']


def test_the_store_checks_so_posts_keep_what_they_read(
        two_processes: tuple[Api, Api]) -> None:
    here, _ = two_processes
    assert here.seen_metadata.checked


def test_a_post_follows_metadata_changed_elsewhere(
        two_processes: tuple[Api, Api]) -> None:
    here, there = two_processes
    post(here)
    assert ttl_of(here, post(here)) == \
        here.conf.transport.default_message_ttl
    there.stores.queues.set_metadata(PROJECT, QUEUE,
                                     {'_default_message_ttl': 77})
    assert ttl_of(here, post(here)) == 77
    there.stores.queues.set_metadata(PROJECT, QUEUE, {})
    assert ttl_of(here, post(here)) == \
        here.conf.transport.default_message_ttl


def test_a_refusal_on_kept_metadata_is_checked_on_fresh(
        two_processes: tuple[Api, Api]) -> None:
    here, there = two_processes
    there.stores.queues.create(PROJECT, QUEUE,
                               {'_max_messages_post_size': 100})
    assert post(here, body_size=50).status == 201
    there.stores.queues.set_metadata(PROJECT, QUEUE,
                                     {'_max_messages_post_size': 1000})
    assert post(here, body_size=500).status == 201
    there.stores.queues.set_metadata(PROJECT, QUEUE,
                                     {'_max_messages_post_size': 100})
    with pytest.raises(errors.BadRequest, match='too large'):
        post(here, body_size=500)


def test_a_queue_deleted_elsewhere_is_created_again(
        two_processes: tuple[Api, Api]) -> None:
    here, there = two_processes
    there.stores.queues.create(PROJECT, QUEUE, {'_default_message_ttl': 77})
    post(here)
    there.stores.queues.delete(PROJECT, QUEUE)
    result = post(here)
    assert ttl_of(here, result) == here.conf.transport.default_message_ttl
    assert here.stores.queues.get_metadata(PROJECT, QUEUE) == {}
    # And the next post keeps the new queue's metadata.
    assert ttl_of(here, post(here)) == \
        here.conf.transport.default_message_ttl


def test_metadata_that_keeps_changing_is_read_and_posted_on(
        two_processes: tuple[Api, Api],
        monkeypatch: pytest.MonkeyPatch) -> None:
    here, there = two_processes
    post(here)
    controller = here.stores.messages
    real = controller.post_counting_subscriptions
    checked: list[str | None] = []

    def changing(*args: Any, seen_metadata: str | None = None,
                 **kwargs: Any) -> Any:
        checked.append(seen_metadata)
        if seen_metadata is not None:
            raise storage_errors.MetadataChanged(seen_metadata)
        return real(*args, **kwargs)

    monkeypatch.setattr(controller, 'post_counting_subscriptions',
                        changing)
    assert post(here).status == 201
    assert checked == ['{}'] * seen_metadata.MAX_CHANGES + [None]


def test_long_metadata_is_read_at_every_post(
        two_processes: tuple[Api, Api]) -> None:
    here, there = two_processes
    there.stores.queues.create(PROJECT, QUEUE, {
        '_default_message_ttl': 77, 'note': 'x' * seen_metadata.MAX_TEXT})
    assert ttl_of(here, post(here)) == 77
    assert here.seen_metadata._seen == {}
    there.stores.queues.set_metadata(PROJECT, QUEUE, {
        '_default_message_ttl': 78, 'note': 'x' * seen_metadata.MAX_TEXT})
    assert ttl_of(here, post(here)) == 78


def claim(api: Api) -> Any:
    req = Request(project_id=PROJECT, client_id=CLIENT_ID,
                  params={'queue_name': QUEUE},
                  body={'ttl': 60, 'grace': 60}, body_size=32)
    return api.call('claim_create', req)


def test_a_claim_follows_dead_letter_settings_changed_elsewhere(
        two_processes: tuple[Api, Api]) -> None:
    here, there = two_processes
    there.stores.queues.create(PROJECT, QUEUE)
    [message_id] = post(here).body['message_ids']
    claimed = claim(here)
    assert claimed.status == 201
    here.stores.claims.delete(PROJECT, QUEUE, claimed.body['claim_id'])
    # Claimed once: with at most one claim allowed, the next claim moves
    # it to the dead-letter queue instead.
    there.stores.queues.set_metadata(PROJECT, QUEUE, {
        '_max_claim_count': 1, '_dead_letter_queue': 'dead'})
    claimed = claim(here)
    # Counting starts with the dead-letter settings: this claim counts.
    assert claimed.status == 201
    here.stores.claims.delete(PROJECT, QUEUE, claimed.body['claim_id'])
    assert claim(here).status == 204
    moved = here.stores.messages.list(PROJECT, 'dead', echo=True)[0]
    assert [m['id'] for m in moved] == [message_id]


def test_a_claim_on_a_queue_deleted_elsewhere_finds_nothing(
        two_processes: tuple[Api, Api]) -> None:
    here, there = two_processes
    post(here)
    assert claim(here).status == 201
    there.stores.queues.delete(PROJECT, QUEUE)
    assert claim(here).status == 204
