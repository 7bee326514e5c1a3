"""The delivery worker: drains the outbox (:mod:`.outbox`) in each server
process.

It claims jobs in batches. A post's fan-out job, which reaches the
outbox only when its poster did not expand it (see
:meth:`.outbox.Outbox.expand_posted`), it expands at once into one job per
subscriber (:meth:`.outbox.Outbox.expand`), then deletes it: a crash in
between expands it again, so subscribers may get a notification twice
but never lose one. Each other job goes to the lane of
its subscription:
a lane delivers its jobs one after another, in outbox order, so one
subscriber sees notifications in the order they were posted (within a
process; several processes may interleave). Lanes run in a pool of
``[notification] max_notifier_workers`` threads, and the worker claims no
more than twice that many jobs ahead.

A slow or dead subscriber holds one thread and at most ``LANE_DEPTH`` of
those places: further jobs of its lane are *parked*, left under the claim
that took them, so that the worker claims past them to other subscribers'
jobs. A lane with parked jobs takes no new ones until every claim parking
them has ended; as claims take the oldest jobs first, its jobs then come
back in order. Claims are renewed while they hold jobs being delivered; a
job is deleted once delivered or given up, so a crash leaves it to be
claimed again when its claim expires.
"""

from __future__ import annotations

import collections
import dataclasses
import threading
import time
from collections.abc import Callable
from collections.abc import Mapping
from concurrent import futures
from typing import Any

from oslo_config import cfg
from oslo_log import log

from zaqar_core import repeated_failures
from zaqar_core.api import encryption
from zaqar_core.notification import outbox
from zaqar_core.notification import retry
from zaqar_core.notification.base import DeliveryFailed
from zaqar_core.notification.base import NotifierBase
from zaqar_core.notification.base import loggable
from zaqar_core.notification.base import notifier_for
from zaqar_core.storage import base
from zaqar_core.storage import errors as storage_errors
from zaqar_core.storage.stores import Stores

LOG = log.getLogger(__name__)

#: Most jobs one claim takes.
BATCH = 20
#: Most jobs one subscription's lane holds; more of it are parked.
LANE_DEPTH = 4


@dataclasses.dataclass
class _Held:
    message_id: str
    claim_id: str
    job: dict[str, Any]


class Worker:
    """Delivers outbox jobs until stopped.

    Args:
        conf: the registered configuration.
        stores: the storage drivers (the outbox is in the message store).
        notifiers: notifier plugins by URI scheme.
        wakeup: set when a job was written for this worker.
        queue: the outbox queue it drains (the shared one, or a node's
            push queue).
    """

    def __init__(self, conf: cfg.ConfigOpts, stores: Stores,
                 notifiers: Mapping[str, NotifierBase],
                 wakeup: threading.Event, queue: str = outbox.QUEUE) -> None:
        self.conf = conf
        self.stores = stores
        self.notifiers = notifiers
        self.wakeup = wakeup
        self.queue = queue
        # Fan-out jobs become per-subscriber jobs through the outbox; what
        # it writes wakes this worker.
        self.outbox = outbox.Outbox(conf, stores, wakeup)
        opts = conf.notification
        self._threads = opts.max_notifier_workers
        self._capacity = 2 * opts.max_notifier_workers
        self._pool = futures.ThreadPoolExecutor(
            opts.max_notifier_workers, thread_name_prefix='zaqar-notify')
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._lanes: dict[str, collections.deque[_Held]] = {}
        self._open_claims: dict[str, int] = {}  # claim id -> jobs left
        # Claims parking jobs: claim id -> (their lanes, when it lapses).
        self._parked: dict[str, tuple[set[str], float]] = {}
        self._thread: threading.Thread | None = None
        # A store that is down fails every poll: logged once, then
        # summarised, not once a second.
        self.failures = repeated_failures.RepeatedFailures(
            LOG, f'Outbox delivery ({queue})')

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run,
                                        name='zaqar-outbox', daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop claiming; deliveries in progress end at their next retry
        wait, and what is left is delivered after a restart."""
        self._stopping.set()
        self.wakeup.set()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self) -> None:
        interval = self.conf.notification.outbox_poll_interval
        renew_every = self.conf.notification.outbox_claim_ttl / 3
        renewed = time.monotonic()
        failures = self.failures
        while not self._stopping.is_set():
            self.wakeup.clear()
            try:
                taken = self.take()
                if time.monotonic() - renewed >= renew_every:
                    self._renew()
                    renewed = time.monotonic()
                failures.succeeded()
            except Exception as exc:
                failures.failed(exc)
                taken = 0
            if not taken:
                self.wakeup.wait(min(interval, renew_every))

    def take(self) -> int:
        """Claim a batch of jobs and start delivering them; returns how
        many were taken to deliver now (0 when some had to be parked: the
        worker then waits for a delivery to end or its next poll)."""
        self._end_parking()
        with self._lock:
            pending = sum(self._open_claims.values())
            room = min(BATCH, self._capacity - pending)
            threads_idle = len(self._lanes) < self._threads
        # While every thread is busy, claim in batches: waking at each
        # finished job would otherwise claim one job at a time.
        if room <= 0 or (not threads_idle and
                         room < min(BATCH, self._capacity // 2)):
            return 0
        ttl = self.conf.notification.outbox_claim_ttl
        claim_id, found, _ = self.stores.claims.create(
            outbox.PROJECT, self.queue, ttl, 0, room)
        if not found or claim_id is None:
            return 0
        reveal = encryption.opener(self.conf, outbox.PROJECT)
        jobs = []
        expanded = True
        for message in found:
            job = reveal(message['body'])
            if not isinstance(job, dict):
                self._drop_unreadable(message['id'], claim_id)
            elif job.get('what') == base.FAN_OUT:
                expanded &= self._expand(_Held(message['id'], claim_id, job))
            else:
                jobs.append(_Held(message['id'], claim_id, job))
        if not jobs:
            if not expanded:
                return 0  # its claim lapses, and it is tried again
            self._delete_claim(claim_id)
            return len(found)  # look again at once
        with self._lock:
            parked = self._hand_out(claim_id, jobs, time.monotonic() + ttl)
        return 0 if parked else len(jobs)

    def _hand_out(self, claim_id: str, jobs: list[_Held],
                  lapses: float) -> int:
        """Give each job to its lane, or park it; returns how many were
        parked. Called with the lock held."""
        parking = self._parked_lanes()
        held_here = 0
        for held in jobs:
            lane_id = _lane_of(held.job)
            lane = self._lanes.get(lane_id)
            if lane_id in parking or \
                    (lane is not None and len(lane) >= LANE_DEPTH):
                parking.add(lane_id)
                self._parked.setdefault(claim_id, (set(), lapses))[0].add(
                    lane_id)
                continue
            held_here += 1
            if lane is not None:
                lane.append(held)
                continue
            self._lanes[lane_id] = collections.deque([held])
            self._pool.submit(self._drain_lane, lane_id)
        self._open_claims[claim_id] = held_here
        return len(jobs) - held_here

    def _parked_lanes(self) -> set[str]:
        return set().union(*(lanes for lanes, _ in self._parked.values()))

    def _end_parking(self) -> None:
        """End the claims that hold only parked jobs once their lanes have
        room again (or they lapsed), so that those jobs are claimed anew."""
        now = time.monotonic()
        with self._lock:
            ending = [
                claim_id for claim_id, (lanes, lapses)
                in self._parked.items()
                if not self._open_claims.get(claim_id) and (
                    lapses <= now or all(
                        len(self._lanes.get(lane_id, ())) < LANE_DEPTH
                        for lane_id in lanes))]
        for claim_id in ending:
            if self._parked[claim_id][1] > now:
                self._delete_claim(claim_id)
            with self._lock:
                self._open_claims.pop(claim_id, None)
                del self._parked[claim_id]

    def _renew(self) -> None:
        with self._lock:
            open_claims = [claim_id for claim_id, left
                           in self._open_claims.items() if left]
        ttl = self.conf.notification.outbox_claim_ttl
        for claim_id in open_claims:
            try:
                self.stores.claims.update(outbox.PROJECT, self.queue,
                                          claim_id, ttl, 0)
                with self._lock:
                    if claim_id in self._parked:
                        self._parked[claim_id] = (
                            self._parked[claim_id][0],
                            time.monotonic() + ttl)
            except storage_errors.ClaimDoesNotExist:
                LOG.warning('Outbox claim %s expired before its jobs were '
                            'delivered; another process may deliver them '
                            'again', claim_id)

    def _drain_lane(self, lane_id: str) -> None:
        while not self._stopping.is_set():
            with self._lock:
                lane = self._lanes[lane_id]
                if not lane:
                    del self._lanes[lane_id]
                    return
                held = lane[0]
            if not self._deliver(held.job):
                return  # stopping: the job stays in the outbox
            # Out of the lane before the worker wakes: it makes room.
            with self._lock:
                lane.popleft()
            self._finish(held)

    def _deliver(self, job: dict[str, Any]) -> bool:
        """Deliver (or give up on) one job; False when stopping."""
        target = job.get('target') or {}
        notifier = notifier_for(self.notifiers, target.get('subscriber', ''))
        if notifier is None:
            LOG.error('Dropping a notification for %s: no notifier for '
                      'its scheme', loggable(target.get('subscriber', '')))
            return True
        if job.get('what') == outbox.CONFIRMATION:
            sends = [lambda: notifier.confirm(target, job['document'])]
        else:
            sends = [lambda m=m: notifier.notify(target, m)
                     for m in job.get('messages', [])]
        delays = retry.delays(job.get('retry_policy') or {})
        for send in sends:
            if not self._with_retries(send, delays, target):
                return False
        return True

    def _with_retries(self, send: Callable[[], None], delays: list[float],
                      target: dict[str, Any]) -> bool:
        for attempt, delay in enumerate([0.0, *delays]):
            if delay and self._stopping.wait(delay):
                return False
            try:
                send()
                return True
            except DeliveryFailed as exc:
                failure, retryable = str(exc), exc.retryable
            except Exception as exc:
                LOG.exception('Notifier error')
                failure, retryable = repr(exc), True
            if not retryable:
                break
            LOG.debug('Delivery to %s failed (attempt %d): %s',
                      loggable(target.get('subscriber', '')), attempt + 1,
                      failure)
        LOG.warning('Gave up delivering to %s (subscription %s): %s',
                    loggable(target.get('subscriber', '')), target.get('id'),
                    failure)
        return True

    def _finish(self, held: _Held) -> None:
        try:
            self.stores.messages.delete(outbox.PROJECT, self.queue,
                                        held.message_id, held.claim_id)
        except storage_errors.NotPermitted:
            # The claim lapsed: another process has the job and may
            # deliver it again (at least once).
            pass
        except storage_errors.StorageError as exc:
            LOG.warning('Could not remove delivered job %s: %s',
                        held.message_id, exc)
        with self._lock:
            self._open_claims[held.claim_id] -= 1
            # A claim parking jobs ends when its lanes have room.
            done = self._open_claims[held.claim_id] == 0 and \
                held.claim_id not in self._parked
            if done:
                del self._open_claims[held.claim_id]
        # Room for more: the worker need not wait for its next poll.
        self.wakeup.set()
        if done:
            self._delete_claim(held.claim_id)

    def _expand(self, held: _Held) -> bool:
        """Replace a fan-out job by the jobs of its subscribers; False
        when storage failed (the job stays, to be expanded again)."""
        try:
            written = self.outbox.expand(held.job)
        except storage_errors.StorageError as exc:
            LOG.warning('Could not expand fan-out job %s: %s',
                        held.message_id, exc)
            return False
        except Exception:
            # Never expandable: it must not come back for ever.
            LOG.exception('Dropping malformed fan-out job %s',
                          held.message_id)
        else:
            LOG.debug('Fan-out job %s: %d jobs', held.message_id, written)
        # Once the jobs are written: a crash before this expands it again.
        try:
            self.stores.messages.delete(outbox.PROJECT, self.queue,
                                        held.message_id, held.claim_id)
        except storage_errors.StorageError as exc:
            LOG.warning('Could not remove expanded fan-out job %s (it will '
                        'be expanded again): %s', held.message_id, exc)
        return True

    def _drop_unreadable(self, message_id: str, claim_id: str) -> None:
        # Sealed under a key this deployment no longer has: it can never
        # be delivered, and must not hold up the jobs claimed with it.
        LOG.error('Dropping outbox job %s: it cannot be read (sealed '
                  'under another message_encryption_key?)', message_id)
        try:
            self.stores.messages.delete(outbox.PROJECT, self.queue,
                                        message_id, claim_id)
        except storage_errors.StorageError as exc:
            LOG.warning('Could not remove job %s: %s', message_id, exc)

    def _delete_claim(self, claim_id: str) -> None:
        try:
            self.stores.claims.delete(outbox.PROJECT, self.queue, claim_id)
        except storage_errors.StorageError:
            pass  # it expires anyway


def _lane_of(job: dict[str, Any]) -> str:
    target = job.get('target') or {}
    return f'{target.get("project")}\n{target.get("source")}\n' \
           f'{target.get("id")}'
