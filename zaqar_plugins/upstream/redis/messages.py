"""Upstream's Redis message store (or a pool's)."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

from zaqar_core.importing.sources import Batch
from zaqar_core.importing.sources import MessageSource
from zaqar_core.importing.sources import UpstreamMessage
from zaqar_core.importing.sources import UpstreamSubscription
from zaqar_plugins.upstream.redis.connection import RedisReader
from zaqar_plugins.upstream.redis.layout import MESSAGE_FIELDS
from zaqar_plugins.upstream.redis.layout import MESSAGE_REQUIRED
from zaqar_plugins.upstream.redis.layout import MESSAGES_SUFFIX
from zaqar_plugins.upstream.redis.layout import MSGSET_INDEX
from zaqar_plugins.upstream.redis.layout import SUBSCRIPTION_FIELDS
from zaqar_plugins.upstream.redis.layout import SUBSCRIPTION_REQUIRED
from zaqar_plugins.upstream.redis.layout import SUBSCRIPTIONS_SUFFIX
from zaqar_plugins.upstream.redis.layout import SUBSET_INDEX
from zaqar_plugins.upstream.redis.layout import Hash
from zaqar_plugins.upstream.redis.layout import mapping
from zaqar_plugins.upstream.redis.layout import number
from zaqar_plugins.upstream.redis.layout import split_scoped
from zaqar_plugins.upstream.redis.layout import text
from zaqar_plugins.upstream.redis.layout import unpack

# -- the message store -----------------------------------------------------

class RedisMessages(RedisReader, MessageSource):
    """Upstream's Redis message store (or a pool's): messages per queue in
    FIFO order, and subscriptions. Constructed as ``Cls(uri)``, with
    upstream's ``[drivers:message_store:redis] uri`` or a pool's URI; it
    connects at once (:class:`SourceError` if it cannot)."""

    def queues(self) -> Iterator[tuple[str, str]]:
        # Upstream adds a queue's set to the index when it creates the
        # queue; a SCAN also finds sets the index lacks (a failed index
        # write, an older release). Claims' "<claim id>.messages" lists
        # are not sorted sets, and hold one '.' only.
        keys = set(self._store.members(MSGSET_INDEX))
        # No check for this project's own keys when none is found (as the
        # management store has): a pooled deployment's configured message
        # store may hold nothing of upstream's, beside this project's.
        keys.update(self._store.scan(f'*{MESSAGES_SUFFIX}', 'zset'))
        found = {split_scoped(key, MESSAGES_SUFFIX) for key in keys}
        yield from sorted(pair for pair in found if pair is not None)

    def count(self, project: str, queue: str) -> int:
        with self._store.errors():
            return int(self._store.client.zcard(
                _msgset_key(project, queue)))

    def batches(self, project: str, queue: str,
                size: int) -> Iterator[Batch]:
        """The queue's live messages in rank order.

        The rank space is cut into fixed windows of ``size`` ranks,
        ``(k*size, (k+1)*size]``; a batch is one window, named by the
        queue's set and the window, so that its name does not depend on
        which of its messages still live. Ranks are unique (one counter
        per queue), so a window holds ``size`` entries at most. Empty
        windows are skipped: each next window is the one of the next
        rank present.
        """
        if size < 1:
            raise ValueError(f'batch size must be positive, not {size}')
        key = _msgset_key(project, queue)
        client = self._store.client
        with self._store.errors():
            first = client.zrange(key, 0, 0, withscores=True)
        if not first:
            return
        score = first[0][1]
        while True:
            window = math.ceil(score / size) - 1
            low, high = window * size, (window + 1) * size
            with self._store.errors():
                ids = [text(mid) for mid in
                       client.zrangebyscore(key, f'({low}', high)]
            yield Batch(key=f'{key}#{low + 1}-{high}',
                        messages=self._messages(ids), indexed=len(ids))
            with self._store.errors():
                following = client.zrangebyscore(
                    key, f'({high}', '+inf', start=0, num=1,
                    withscores=True)
            if not following:
                return
            score = following[0][1]

    def _messages(self, ids: list[str]) -> list[UpstreamMessage]:
        """The live ones of ``ids``, in their order."""
        now = time.time()
        return [message for message in self._store.records(
            ids, MESSAGE_FIELDS, MESSAGE_REQUIRED, 'message',
            lambda mid, info: _message(mid, info, now))
            if message.expires > now]

    def subscriptions(self) -> Iterator[UpstreamSubscription]:
        keys = set(self._store.members(SUBSET_INDEX))
        keys.update(self._store.scan(f'*{SUBSCRIPTIONS_SUFFIX}', 'zset'))
        for key in sorted(keys):
            scope = split_scoped(key, SUBSCRIPTIONS_SUFFIX)
            if scope is None:
                continue
            ids = self._store.members(key)
            now = time.time()
            for subscription in self._store.records(
                    ids, SUBSCRIPTION_FIELDS, SUBSCRIPTION_REQUIRED,
                    'subscription',
                    lambda sid, info, at=scope: _subscription(sid, info, at)):
                if subscription.expires > now:
                    yield subscription


def _msgset_key(project: str, queue: str) -> str:
    return f'{project}.{queue}{MESSAGES_SUFFIX}'


def _message(mid: str, info: Hash, now: float) -> UpstreamMessage:
    created = number(info['cr'])
    # Upstream stores "created + delay" (so "created" when not delayed);
    # absent before delays existed.
    delay = number(info['d']) if 'd' in info else 0.0
    claim_id = info.get('c', b'')
    claim_expires = number(info['c.e']) if 'c.e' in info else 0.0
    return UpstreamMessage(
        id=text(info['id']) if 'id' in info else mid,
        body=unpack(info['b'], f'body of message {mid}'),
        ttl=int(number(info['t'])),
        created=created,
        expires=number(info['e']),
        delay_expires=delay if delay > created else 0.0,
        client_uuid=text(info.get('u', b'')),
        claim_count=int(number(info.get('c.c', b'0'))),
        checksum=text(info['cs']) if info.get('cs') else None,
        claimed=bool(claim_id) and claim_expires > now)


def _subscription(sid: str, info: Hash,
                  scope: tuple[str, str]) -> UpstreamSubscription:
    # Upstream writes "c" = 0 when it creates a subscription and 1 once
    # it is confirmed; releases before confirmation wrote none, and
    # upstream (its list's default, its notifier's) takes a missing "c"
    # as confirmed.
    confirmed = number(info['c']) != 0 if info.get('c') else True
    return UpstreamSubscription(
        id=text(info['id']) if 'id' in info else sid,
        # The project upstream wrote beside the source is exact; the one
        # read off the key is a guess (see split_scoped).
        project=text(info['p']) if 'p' in info else scope[0],
        source=text(info['s']),
        subscriber=text(info['u']),
        ttl=int(number(info['t'])),
        expires=number(info['e']),
        options=mapping(info.get('o'), f'options of subscription {sid}'),
        confirmed=confirmed)
