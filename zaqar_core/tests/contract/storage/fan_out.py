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


def free_jobs(stores: Stores) -> list[base.Message]:
    """The jobs a delivery worker could claim, oldest first."""
    found, _ = stores.messages.list(JOBS_PROJECT, JOBS_QUEUE, limit=20,
                                    echo=True, include_claimed=True)
    return found


def handed_over(stores: Stores, clock: FrozenClock) -> list[base.Message]:
    """:func:`free_jobs` once the posters' grace has passed (and the
    garbage collection, which finishes some drivers' hand-over, ran)."""
    clock.advance(base.FAN_OUT_GRACE)
    stores.data.gc()
    return free_jobs(stores)


class FanOutContract:
    def test_a_post_to_a_subscribed_queue_stores_its_job(
            self, stores: Stores) -> None:
        subscriptions = sorted([subscribe(stores),
                                subscribe(stores, OTHER_HOOK)])
        posted = [new_message({'n': 1}, ttl=300),
                  new_message('two', ttl=600, delay=5, checksum='MD5:x')]
        result = stores.messages.post_counting_subscriptions(
            PROJECT, QUEUE, posted, CLIENT, fan_out(ttl=900))
        assert result.subscribed
        assert everything(stores) == result.ids
        assert result.fan_out is not None
        assert result.fan_out['body'] == {
            'what': base.FAN_OUT,
            'post': {'source': QUEUE, 'kind': 'queues'},
            'subscriptions': subscriptions,
            'messages': [{'body': {'n': 1}, 'ttl': 300, 'delay': 0},
                         {'body': 'two', 'ttl': 600, 'delay': 5}]}
        assert base.fan_out_body(fan_out(), posted, subscriptions) == \
            result.fan_out['body']
        # The poster's, for now: no worker can take it.
        assert free_jobs(stores) == []
        assert stores.claims.create(JOBS_PROJECT, JOBS_QUEUE, 60, 0,
                                    10)[1] == []

    def test_a_job_its_poster_deletes_never_reaches_the_queue(
            self, stores: Stores, clock: FrozenClock) -> None:
        subscribe(stores)
        result = stores.messages.post_counting_subscriptions(
            PROJECT, QUEUE, [new_message()], CLIENT, fan_out())
        job = result.fan_out
        assert job is not None
        stores.messages.delete(job['project'], job['queue'], job['id'])
        assert handed_over(stores, clock) == []
        assert everything(stores) == result.ids

    def test_a_job_its_poster_leaves_is_handed_over_after_the_grace(
            self, stores: Stores, clock: FrozenClock) -> None:
        subscription = subscribe(stores)
        posted = [new_message(1), new_message(2)]
        stores.messages.post_counting_subscriptions(
            PROJECT, QUEUE, posted, CLIENT, fan_out(ttl=900))
        clock.advance(base.FAN_OUT_GRACE - 1)
        stores.data.gc()
        assert free_jobs(stores) == []
        clock.advance(1)
        stores.data.gc()
        [job] = free_jobs(stores)
        assert job['body'] == base.fan_out_body(fan_out(), posted,
                                                [subscription])
        assert (job['client_uuid'], job['claim_id']) == (JOBS_CLIENT, None)
        # It expires as if it had been stored with the post.
        assert job['ttl'] - job['age'] == 900 - base.FAN_OUT_GRACE
        stores.data.gc()
        assert [m['id'] for m in stores.claims.create(
            JOBS_PROJECT, JOBS_QUEUE, 60, 0, 10)[1]] == [job['id']]

    def test_no_job_without_subscriptions(
            self, stores: Stores, clock: FrozenClock) -> None:
        subscribe(stores, source=OTHER_QUEUE)
        result = stores.messages.post_counting_subscriptions(
            PROJECT, QUEUE, [new_message()], CLIENT, fan_out())
        assert (result.subscribed, result.fan_out) == (0, None)
        assert everything(stores) == result.ids
        assert handed_over(stores, clock) == []

    def test_the_job_names_the_subscriptions_of_the_moment(
            self, stores: Stores, clock: FrozenClock) -> None:
        confirmed = subscribe(stores, ttl=120)
        stores.subscriptions.confirm(PROJECT, QUEUE, confirmed, True)
        pending = subscribe(stores, OTHER_HOOK, ttl=600)
        subscribe(stores, source=OTHER_QUEUE)

        def notified(confirmed_only: bool = False) -> list[str] | None:
            job = stores.messages.post_counting_subscriptions(
                PROJECT, QUEUE, [new_message()], CLIENT,
                fan_out(confirmed_only=confirmed_only)).fan_out
            return None if job is None else job['body']['subscriptions']

        assert notified() == sorted([confirmed, pending])
        assert notified(confirmed_only=True) == [confirmed]
        clock.advance(121)
        assert notified() == [pending]
        # Expired, or unconfirmed when only confirmed ones count: none.
        assert notified(confirmed_only=True) is None

    def test_each_post_stores_one_job(
            self, stores: Stores, clock: FrozenClock) -> None:
        subscribe(stores)
        found = [stores.messages.post_counting_subscriptions(
            PROJECT, QUEUE, [new_message(n)] * (n + 1), CLIENT,
            fan_out()).fan_out for n in range(3)]
        assert len({job['id'] for job in found if job}) == 3
        # Handed over in posting order.
        assert [len(j['body']['messages'])
                for j in handed_over(stores, clock)] == [1, 2, 3]

    def test_a_post_without_a_fan_out_stores_no_job(
            self, stores: Stores, clock: FrozenClock) -> None:
        subscribe(stores)
        stores.messages.post(PROJECT, QUEUE, [new_message()], CLIENT)
        assert handed_over(stores, clock) == []

    def test_a_failed_post_stores_neither_messages_nor_job(
            self, stores: Stores, clock: FrozenClock) -> None:
        subscribe(stores)
        # A job that cannot be stored (not JSON) fails the whole post.
        with pytest.raises((TypeError, ValueError)):
            stores.messages.post_counting_subscriptions(
                PROJECT, QUEUE, [new_message()], CLIENT,
                fan_out(post={'not json': {1, 2}}))
        assert everything(stores) == []
        assert handed_over(stores, clock) == []
        # And the store still works.
        result = stores.messages.post_counting_subscriptions(
            PROJECT, QUEUE, [new_message()], CLIENT, fan_out())
        assert everything(stores) == result.ids
        assert result.fan_out is not None
        assert len(handed_over(stores, clock)) == 1

    def test_gc_leaves_a_posts_job_until_it_expires(
            self, stores: Stores, clock: FrozenClock) -> None:
        subscribe(stores)
        stores.messages.post_counting_subscriptions(
            PROJECT, QUEUE, [new_message()], CLIENT, fan_out(ttl=120))
        assert len(handed_over(stores, clock)) == 1
        clock.advance(60)
        stores.data.gc()
        assert len(free_jobs(stores)) == 1
        clock.advance(31)  # 121 s after the post
        stores.data.gc()
        assert free_jobs(stores) == []
