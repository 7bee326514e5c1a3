"""A post and its fan-out job are one atomic step
(``post_counting_subscriptions(..., fan_out)``).

Part of :class:`MessageControllerContract`.
"""

from __future__ import annotations

from typing import Any

import pytest

from zaqar_core.storage import base
from zaqar_core.storage.stores import Stores
from zaqar_core.tests.contract.storage.helpers import CLIENT
from zaqar_core.tests.contract.storage.helpers import OTHER_QUEUE
from zaqar_core.tests.contract.storage.helpers import PROJECT
from zaqar_core.tests.contract.storage.helpers import QUEUE
from zaqar_core.tests.contract.storage.helpers import FrozenClock
from zaqar_core.tests.contract.storage.helpers import everything
from zaqar_core.tests.contract.storage.helpers import new_message
from zaqar_core.tests.contract.storage.subscriptions import OTHER_HOOK
from zaqar_core.tests.contract.storage.subscriptions import subscribe

# Where jobs go: a project no tenant can name, as the outbox's.
JOBS_PROJECT = '\x1fjobs'
JOBS_QUEUE = 'outbox'
JOBS_CLIENT = '00000000-0000-4000-8000-0000000000aa'


def fan_out(post: Any = None, ttl: int = 900,
            confirmed_only: bool = False) -> base.FanOut:
    return {'project': JOBS_PROJECT, 'queue': JOBS_QUEUE,
            'client_uuid': JOBS_CLIENT, 'ttl': ttl,
            'post': {'source': QUEUE, 'kind': 'queues'}
            if post is None else post, 'confirmed_only': confirmed_only}


def jobs(stores: Stores) -> list[base.Message]:
    found, _ = stores.messages.list(JOBS_PROJECT, JOBS_QUEUE, limit=20,
                                    echo=True, include_claimed=True,
                                    include_delayed=True)
    return found


class FanOutContract:
    def test_a_post_to_a_subscribed_queue_stores_its_job(
            self, stores: Stores) -> None:
        subscriptions = sorted([subscribe(stores),
                                subscribe(stores, OTHER_HOOK)])
        posted = [new_message({'n': 1}, ttl=300),
                  new_message('two', ttl=600, delay=5, checksum='MD5:x')]
        ids, count = stores.messages.post_counting_subscriptions(
            PROJECT, QUEUE, posted, CLIENT, fan_out(ttl=900))
        assert count
        assert everything(stores) == ids
        [job] = jobs(stores)
        assert job['body'] == {
            'what': base.FAN_OUT,
            'post': {'source': QUEUE, 'kind': 'queues'},
            'subscriptions': subscriptions,
            'messages': [{'body': {'n': 1}, 'ttl': 300, 'delay': 0},
                         {'body': 'two', 'ttl': 600, 'delay': 5}]}
        assert base.fan_out_body(fan_out(), posted, subscriptions) == \
            job['body']
        assert (job['ttl'], job['client_uuid'], job['claim_id']) == \
            (900, JOBS_CLIENT, None)
        # Claimable at once, like any free message.
        claim_id, claimed, _ = stores.claims.create(
            JOBS_PROJECT, JOBS_QUEUE, 60, 0, 10)
        assert [m['id'] for m in claimed] == [job['id']]

    def test_no_job_without_subscriptions(self, stores: Stores) -> None:
        subscribe(stores, source=OTHER_QUEUE)
        ids, count = stores.messages.post_counting_subscriptions(
            PROJECT, QUEUE, [new_message()], CLIENT, fan_out())
        assert count == 0
        assert everything(stores) == ids
        assert jobs(stores) == []

    def test_the_job_names_the_subscriptions_of_the_moment(
            self, stores: Stores, clock: FrozenClock) -> None:
        confirmed = subscribe(stores, ttl=120)
        stores.subscriptions.confirm(PROJECT, QUEUE, confirmed, True)
        pending = subscribe(stores, OTHER_HOOK, ttl=600)
        subscribe(stores, source=OTHER_QUEUE)
        for confirmed_only in (False, True):
            stores.messages.post_counting_subscriptions(
                PROJECT, QUEUE, [new_message()], CLIENT,
                fan_out(confirmed_only=confirmed_only))
        clock.advance(121)
        stores.messages.post_counting_subscriptions(
            PROJECT, QUEUE, [new_message()], CLIENT, fan_out())
        # Expired, or unconfirmed when only confirmed ones count: none.
        stores.messages.post_counting_subscriptions(
            PROJECT, QUEUE, [new_message()], CLIENT,
            fan_out(confirmed_only=True))
        assert [j['body']['subscriptions'] for j in jobs(stores)] == [
            sorted([confirmed, pending]), [confirmed], [pending]]

    def test_each_post_stores_one_job(self, stores: Stores) -> None:
        subscribe(stores)
        for n in range(3):
            stores.messages.post_counting_subscriptions(
                PROJECT, QUEUE, [new_message(n)] * (n + 1), CLIENT,
                fan_out())
        assert [len(j['body']['messages']) for j in jobs(stores)] == \
            [1, 2, 3]

    def test_a_post_without_a_fan_out_stores_no_job(
            self, stores: Stores) -> None:
        subscribe(stores)
        stores.messages.post(PROJECT, QUEUE, [new_message()], CLIENT)
        assert jobs(stores) == []

    def test_a_failed_post_stores_neither_messages_nor_job(
            self, stores: Stores) -> None:
        subscribe(stores)
        # A job that cannot be stored (not JSON) fails the whole post.
        with pytest.raises((TypeError, ValueError)):
            stores.messages.post_counting_subscriptions(
                PROJECT, QUEUE, [new_message()], CLIENT,
                fan_out(post={'not json': {1, 2}}))
        assert everything(stores) == []
        assert jobs(stores) == []
        # And the store still works.
        ids, _ = stores.messages.post_counting_subscriptions(
            PROJECT, QUEUE, [new_message()], CLIENT, fan_out())
        assert everything(stores) == ids
        assert len(jobs(stores)) == 1

    def test_gc_leaves_a_posts_job_until_it_expires(
            self, stores: Stores, clock: FrozenClock) -> None:
        subscribe(stores)
        stores.messages.post_counting_subscriptions(
            PROJECT, QUEUE, [new_message()], CLIENT, fan_out(ttl=120))
        clock.advance(60)
        stores.data.gc()
        assert len(jobs(stores)) == 1
        clock.advance(61)
        assert jobs(stores) == []
