"""Storage contracts.

Two kinds of driver, loaded through stevedore by
:mod:`zaqar_core.bootstrap`:

* a **control driver** (``zaqar_core.storage.control``) holds the queue
  catalogue and each queue's metadata;
* a **data driver** (``zaqar_core.storage.data``) holds messages, claims
  and subscriptions, keyed by ``(project, queue name)``; it never needs
  the catalogue. It also carries signals (wake-ups) between the server
  processes that share it.

Controllers take plain values and return plain dicts, so that the API layer
can serialise them without knowing the driver. Times are seconds since the
epoch (``float``) unless stated. ``project`` is the tenant id, or ``''``
when the deployment has none.
"""

from __future__ import annotations

import abc
import json
import re
from collections.abc import Callable
from collections.abc import Iterable
from typing import Any
from typing import NamedTuple
from typing import NotRequired
from typing import TypedDict

from oslo_config import cfg

from zaqar_core.storage import errors
from zaqar_core.storage import pools


class Message(TypedDict):
    """A message as controllers return it."""

    id: str
    ttl: int  # current TTL: claims may raise it
    age: int  # whole seconds since it was posted
    body: Any
    claim_id: str | None  # set only while a live claim holds it
    claim_count: int
    client_uuid: str
    checksum: NotRequired[str]


class NewMessage(TypedDict):
    """A validated message to store."""

    body: Any
    ttl: int
    delay: int
    checksum: NotRequired[str]
    #: The poster's client id when it is not the post's (an import
    #: carries each message's own).
    client_uuid: NotRequired[str]


#: ``what`` of a fan-out job's body.
FAN_OUT = 'fan_out'
#: Seconds a post's fan-out job is left to the process that posted, to
#: expand and delete it, before a delivery worker may take it (the poster
#: crashed, or its storage failed).
FAN_OUT_GRACE = 30


class FanOut(TypedDict):
    """A job to store with a post, in the same atomic step, when the
    posted-to queue has subscriptions (see
    :meth:`MessageControllerBase.post_counting_subscriptions`)."""

    project: str  # where the job goes: the notification outbox
    queue: str
    client_uuid: str  # the job's, as a message of that queue
    ttl: int
    post: dict[str, Any]  # JSON-able; what the job's reader needs
    # Whether only confirmed subscriptions are notified.
    confirmed_only: bool


class StoredFanOut(TypedDict):
    """Where a post stored its fan-out job, and the job's body."""

    project: str
    queue: str
    id: str  # a message id of that queue
    body: dict[str, Any]  # :func:`fan_out_body`


class Posted(NamedTuple):
    """What :meth:`MessageControllerBase.post_counting_subscriptions`
    stored."""

    ids: list[str]  # as :meth:`MessageControllerBase.post` returns them
    # At least the number of live subscriptions of the queue (0: none; no
    # job was stored), or None when the driver did not count.
    subscribed: int | None
    fan_out: StoredFanOut | None  # None: no job was stored


def fan_out_body(fan_out: FanOut, messages: list[NewMessage],
                 subscription_ids: list[str]) -> dict[str, Any]:
    """The body of the job that ``fan_out`` stores for ``messages``: its
    ``post``, the subscriptions to notify, and each message's body (as
    given: sealed, if the caller sealed it), TTL and delay, in order."""
    return {'what': FAN_OUT, 'post': fan_out['post'],
            'subscriptions': subscription_ids,
            'messages': [{'body': m['body'], 'ttl': m['ttl'],
                          'delay': m['delay']} for m in messages]}


class MessageEnds(TypedDict):
    """The oldest or newest message, for queue stats."""

    id: str
    age: int
    created: float


class QueueStats(TypedDict):
    claimed: int
    free: int
    total: int
    oldest: NotRequired[MessageEnds]
    newest: NotRequired[MessageEnds]


class ClaimInfo(TypedDict):
    id: str
    ttl: int
    age: int


class DeadLetter(TypedDict):
    """Where messages claimed too often go (from the queue's metadata)."""

    max_claim_count: int
    queue: str
    ttl: int | None  # new TTL on arrival, or None to keep it


class Subscription(TypedDict):
    """A subscription as controllers return it."""

    id: str
    source: str  # the queue (or topic) name
    subscriber: str  # a URI: http(s), mailto, trust+http(s)...
    ttl: int
    age: int  # whole seconds since it was created
    options: dict[str, Any]
    confirmed: bool


class QueueControllerBase(abc.ABC):
    """The queue catalogue of one control driver."""

    @abc.abstractmethod
    def list(self, project: str, marker: str | None = None,
             limit: int = 10, detailed: bool = False) -> list[dict]:
        """Queues of ``project`` with names after ``marker``, by name.

        Returns:
            Up to ``limit`` dicts ``{"name"}``, with ``"metadata"`` too
            when ``detailed``.
        """

    @abc.abstractmethod
    def count(self, project: str) -> int:
        """Number of queues of ``project``."""

    @abc.abstractmethod
    def get_metadata(self, project: str, name: str) -> dict:
        """Stored metadata of a queue.

        Raises:
            QueueDoesNotExist: no such queue.
        """

    def get_metadata_text(self, project: str, name: str) -> str:
        """Stored metadata of a queue, as the JSON document the store
        holds: what a post's ``seen_metadata`` is compared with (see
        :meth:`DataDriverBase.checks_metadata_of`). Drivers whose data
        store checks metadata return the stored text itself.

        Raises:
            QueueDoesNotExist: no such queue.
        """
        return json.dumps(self.get_metadata(project, name))

    @abc.abstractmethod
    def create(self, project: str, name: str,
               metadata: dict | None = None) -> bool:
        """Create a queue unless it exists; never changes an existing one.

        Returns:
            True when the queue was created, False when it existed.
        """

    @abc.abstractmethod
    def set_metadata(self, project: str, name: str, metadata: dict) -> None:
        """Replace a queue's metadata.

        Raises:
            QueueDoesNotExist: no such queue.
        """

    @abc.abstractmethod
    def delete(self, project: str, name: str) -> None:
        """Remove a queue from the catalogue; a missing one is fine."""


class MessageControllerBase(abc.ABC):
    """Messages of one data driver."""

    def post(self, project: str, queue: str, messages: list[NewMessage],
             client_uuid: str) -> list[str]:
        """Store ``messages`` atomically, in order.

        Returns:
            Their ids, in the order given. Ids are opaque strings that
            reveal nothing of the order or number of messages (a
            tenant's ids tell it nothing of other tenants' traffic) and
            cannot be guessed; FIFO order is the store's, not the ids'.
            Every process of a deployment shows a message under the same
            id, across restarts; an id names nothing in another project
            or queue.
        """
        # One code path per driver: whatever a driver's post needs (retries,
        # scripts) lives in post_counting_subscriptions alone.
        return self.post_counting_subscriptions(project, queue, messages,
                                                client_uuid).ids

    @abc.abstractmethod
    def post_counting_subscriptions(
            self, project: str, queue: str, messages: list[NewMessage],
            client_uuid: str, fan_out: FanOut | None = None,
            once: str | None = None,
            seen_metadata: str | None = None) -> Posted | None:
        """:meth:`post`, and a bound on the queue's subscriptions, in one
        step: the API needs to know whether anyone is subscribed.

        With ``seen_metadata`` (only from a caller that
        :meth:`DataDriverBase.checks_metadata_of` says may), the text of
        the queue's metadata as :meth:`QueueControllerBase.get_metadata_text`
        read it, perhaps long ago: the post stores nothing, and raises
        :class:`~zaqar_core.storage.errors.MetadataChanged`, unless the
        queue exists with exactly that metadata at the moment the messages
        are stored (in the same atomic step). The caller can then keep the
        metadata between posts and read it again only when it changed.

        With ``once``, a key (up to 128 characters) naming this post in
        ``queue``: a post whose key the queue has recorded stores nothing
        and returns None. The key is recorded in the same atomic step as
        the messages and kept for good, through purges and deletes of the
        queue, so that a writer that may be interrupted at any point
        (``zaqar-manage import-upstream``) can run again without storing
        anything twice. ``messages`` may then be empty: the key alone is
        recorded.

        With ``fan_out``, when ``queue`` has live subscriptions to notify
        (confirmed ones, if ``fan_out`` says so), the post also stores
        the notification outbox's job of the post, with body
        :func:`fan_out_body` (their ids, in id order, as they were at the
        post). The messages and that job are stored together or not at
        all (one transaction, one script), so that a crash cannot lose
        the notifications of accepted messages.

        The job is the caller's for :data:`FAN_OUT_GRACE` seconds: it
        expands it and deletes it where the result says it is stored, so
        that the notifications of one client's consecutive posts are
        queued in order, whichever process takes each post. Meanwhile no
        claim on ``fan_out``'s queue sees it. Left longer (the caller
        crashed), it becomes a free message of ``fan_out``'s queue, with
        ``fan_out``'s TTL and client: stored there delayed by the grace,
        or, by a driver whose backend cannot
        write both queues in one step (Redis Cluster: other hash slots),
        stored beside the messages and moved there by
        :meth:`DataDriverBase.gc` (posted twice at worst). Either way the
        job reaches that queue at least once unless its caller deletes
        it.
        """

    @abc.abstractmethod
    def list(self, project: str, queue: str, marker: str | None = None,
             limit: int = 10, echo: bool = False,
             client_uuid: str | None = None, include_claimed: bool = False,
             include_delayed: bool = False) -> tuple[list[Message],
                                                     str | None]:
        """Live messages after ``marker``, oldest first.

        Args:
            echo: include messages posted by ``client_uuid``.
            include_claimed: include messages held by a live claim.
            include_delayed: include messages whose delay has not passed.

        Returns:
            ``(messages, next_marker)``; ``next_marker`` is None when the
            page is empty. A marker lists what comes after the position it
            encodes, whether or not that message still exists; a malformed
            one lists from the start.
        """

    def get(self, project: str, queue: str, message_id: str) -> Message:
        """One live message.

        Raises:
            MessageDoesNotExist: unknown, malformed or expired id.
        """
        found = self.bulk_get(project, queue, [message_id])
        if not found:
            raise errors.MessageDoesNotExist(message_id, queue)
        return found[0]

    @abc.abstractmethod
    def bulk_get(self, project: str, queue: str,
                 message_ids: list[str]) -> list[Message]:
        """Live messages among ``message_ids``; unknown ids are skipped."""

    @abc.abstractmethod
    def delete(self, project: str, queue: str, message_id: str,
               claim_id: str | None = None) -> None:
        """Delete one message; a missing one is fine.

        Raises:
            MessageIsClaimed: a live claim holds it and no ``claim_id``
                was given.
            MessageNotClaimed: ``claim_id`` given but no live claim holds
                the message.
            ClaimDoesNotMatch: a live claim holds it, but not the one
                ``claim_id`` names.
        """

    @abc.abstractmethod
    def bulk_delete(self, project: str, queue: str, message_ids: list[str],
                    claim_ids: list[str] | None = None) -> None:
        """Delete messages by id, claimed or not; unknown ids are skipped.

        With ``claim_ids``, a claimed message is deleted only when its
        claim is among them; otherwise it raises MessageIsClaimed.
        """

    @abc.abstractmethod
    def pop(self, project: str, queue: str, limit: int) -> list[Message]:
        """Atomically take and delete up to ``limit`` free messages."""

    @abc.abstractmethod
    def stats(self, project: str, queue: str) -> QueueStats:
        """Counts of live messages; oldest/newest only when total > 0."""

    @abc.abstractmethod
    def purge(self, project: str, queue: str) -> None:
        """Delete every message and claim of a queue."""


class ClaimControllerBase(abc.ABC):
    """Claims of one data driver.

    A claim holds messages until ``ttl`` seconds pass. No message is ever
    held by two live claims: drivers must make claiming atomic under
    concurrent callers. A claimed message lives at least ``ttl + grace``.
    """

    @abc.abstractmethod
    def create(self, project: str, queue: str, ttl: int, grace: int,
               limit: int, dead_letter: DeadLetter | None = None,
               seen_metadata: str | None = None
               ) -> tuple[str | None, list[Message], int]:
        """Claim up to ``limit`` free, undelayed messages, oldest first.

        With ``dead_letter``, a message already claimed
        ``max_claim_count`` times moves to the dead-letter queue instead
        of being claimed, and the claim count of the others grows by one.

        With ``seen_metadata``, as for
        :meth:`MessageControllerBase.post_counting_subscriptions`: nothing
        is claimed or moved, and ``MetadataChanged`` is raised, unless the
        queue's metadata is still exactly that.

        Returns:
            ``(claim_id, messages, moved)``: claim_id is None when nothing
            was claimed; ``moved`` counts messages sent to the dead-letter
            queue.
        """

    @abc.abstractmethod
    def get(self, project: str, queue: str,
            claim_id: str) -> tuple[ClaimInfo, list[Message]]:
        """A live claim and the messages it holds.

        Raises:
            ClaimDoesNotExist: unknown, malformed or expired claim.
        """

    @abc.abstractmethod
    def update(self, project: str, queue: str, claim_id: str, ttl: int,
               grace: int) -> None:
        """Renew a live claim: its age restarts at 0 with ``ttl``.

        Raises:
            ClaimDoesNotExist: unknown, malformed or expired claim.
        """

    @abc.abstractmethod
    def delete(self, project: str, queue: str, claim_id: str) -> None:
        """Release a claim; its messages are free at once. Idempotent."""


class SubscriptionControllerBase(abc.ABC):
    """Subscriptions of one data driver.

    A subscription lives ``ttl`` seconds from its creation (or from the
    update that last set its ``ttl``); expired ones are invisible. One
    source has at most one live subscription per subscriber: drivers make
    that hold under concurrent callers. Subscriptions outlive their queue.
    """

    @abc.abstractmethod
    def list(self, project: str, source: str, marker: str | None = None,
             limit: int = 10) -> list[Subscription]:
        """Live subscriptions of ``source`` with ids after ``marker``, in
        id order (ids sort as strings)."""

    @abc.abstractmethod
    def get(self, project: str, source: str,
            subscription_id: str) -> Subscription:
        """One live subscription of ``source``.

        Raises:
            SubscriptionDoesNotExist: unknown, expired, or of another
                source.
        """

    @abc.abstractmethod
    def create(self, project: str, source: str, subscriber: str, ttl: int,
               options: dict[str, Any],
               subscription_id: str | None = None) -> str:
        """Store a new, unconfirmed subscription; return its id.

        The driver makes the id (32 lowercase hex digits) unless
        ``subscription_id`` gives one in that form that no subscription
        has (an import keeps the ids clients hold).

        Raises:
            SubscriptionAlreadyExists: ``source`` has a live subscription
                for ``subscriber``; the error carries its id.
        """

    @abc.abstractmethod
    def update(self, project: str, source: str, subscription_id: str, *,
               subscriber: str | None = None, ttl: int | None = None,
               options: dict[str, Any] | None = None) -> None:
        """Change the fields given; a new ``ttl`` counts from now.

        Raises:
            SubscriptionDoesNotExist: as for :meth:`get`.
            SubscriptionAlreadyExists: another live subscription of
                ``source`` has ``subscriber``.
        """

    @abc.abstractmethod
    def confirm(self, project: str, source: str, subscription_id: str,
                confirmed: bool) -> None:
        """Set whether the subscriber confirmed.

        Raises:
            SubscriptionDoesNotExist: as for :meth:`get`.
        """

    @abc.abstractmethod
    def delete(self, project: str, source: str,
               subscription_id: str) -> None:
        """Delete one subscription of ``source``; a missing one is fine."""

    @abc.abstractmethod
    def purge(self, project: str, source: str) -> None:
        """Delete every subscription of ``source``."""


#: What a signal channel may be called.
CHANNEL_PATTERN = re.compile(r'[A-Za-z0-9_.-]{1,64}')


def check_channel(channel: str) -> str:
    """``channel``, if it is a valid signal channel name.

    Raises:
        ValueError: not a string of 1 to 64 characters among
            ``A-Z a-z 0-9 _ . -``.
    """
    if not isinstance(channel, str) or not CHANNEL_PATTERN.fullmatch(
            channel):
        raise ValueError(f'Invalid signal channel {channel!r}: 1 to 64 '
                         f'characters among A-Z a-z 0-9 _ . - expected')
    return channel


def check_channels(channels: Iterable[str]) -> frozenset[str]:
    """The distinct names among ``channels``, each valid.

    Raises:
        ValueError: a name is invalid, or there is none.
        TypeError: ``channels`` is a single string.
    """
    if isinstance(channels, str):
        # Iterating it would listen to each of its characters.
        raise TypeError('channels must be an iterable of names, not a str')
    names = frozenset(check_channel(channel) for channel in channels)
    if not names:
        raise ValueError('No signal channel to listen to')
    return names


class Listening(abc.ABC):
    """What :meth:`SignalControllerBase.listen` returns; a context manager
    that closes it on exit."""

    @abc.abstractmethod
    def close(self) -> None:
        """Stop listening and let the thread end (within about a second).

        No callback starts once this returns (unless the callback itself
        called it). Idempotent.
        """

    def __enter__(self) -> Listening:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class SignalControllerBase(abc.ABC):
    """Wake-ups between the server processes that share a data store.

    ``notify(channel)`` wakes every process listening on ``channel``, the
    caller's own included. A signal carries no data: it means "look
    again"; listeners read what changed from storage, and several signals
    may reach them as one. Delivery is best effort (a signal sent while a
    listener reconnects may be lost), so a listener also looks on a timer
    of its own as a backstop. Channels are strings of ``[A-Za-z0-9_.-]``,
    1 to 64 characters (callers use e.g. ``push.<32 hex chars>``); see
    :func:`check_channel`.
    """

    #: Seconds a listener may take to see a signal, at most, in normal
    #: operation: 0.0 for a backend that pushes, the poll interval for one
    #: that polls.
    latency: float

    @abc.abstractmethod
    def notify(self, channel: str) -> None:
        """Wake the listeners of ``channel``.

        Raises:
            ValueError: ``channel`` is not a valid name.
            Unavailable: the backend cannot be reached.
        """

    @abc.abstractmethod
    def listen(self, channels: Iterable[str],
               callback: Callable[[str], None]) -> Listening:
        """Call ``callback(channel)`` on a background (daemon) thread each
        time one of ``channels`` is signalled, until the handle returned
        is closed.

        Returns once listening is in effect, so that a signal sent after
        that reaches ``callback``; when the backend cannot be reached, it
        returns anyway and the thread keeps trying. The thread survives
        backend restarts: it reconnects with a bounded backoff and logs an
        outage once (not per attempt). ``callback`` must be quick (set an
        Event, say); an exception from it is logged and never kills the
        thread.

        Args:
            channels: the names to listen to (at least one).
            callback: called with the name of a signalled channel.

        Raises:
            ValueError: a name is invalid, or none is given.
            TypeError: ``channels`` is a single string.
        """


class StoreState(NamedTuple):
    """What :meth:`DriverBase.check` found."""

    #: What is wrong, as the end of a sentence ("does not answer: ...",
    #: "has no schema"), or None when the store answers and its schema
    #: (if it has one) is current.
    problem: str | None = None
    #: Whether ``zaqar-manage db upgrade`` fixes ``problem``.
    needs_upgrade: bool = False
    #: What the operator should know though the store works (it also
    #: holds upstream Zaqar's data, say), or None. Said at start.
    notice: str | None = None


class StoreOptions:
    """The options of one store: its driver's configuration group, under
    the values a caller puts over it (the URI and options of a pool, say),
    so that two stores of one driver never share what differs.

    Read as attributes, like the group: ``options.uri``.
    """

    def __init__(self, group: Any, overrides: dict[str, Any] | None = None,
                 ) -> None:
        self._group = group
        self._overrides = dict(overrides or {})

    def __getattr__(self, name: str) -> Any:
        if name.startswith('_'):
            raise AttributeError(name)
        if name in self._overrides:
            return self._overrides[name]
        return getattr(self._group, name)


class DriverBase(abc.ABC):
    """What every storage driver has.

    A driver is opened on one store: ``options`` are that store's (see
    :class:`StoreOptions`), and ``conf`` the whole configuration, for
    what is not the store's own. It reads its store's settings from
    ``options`` only.
    """

    def __init__(self, conf: cfg.ConfigOpts, options: Any) -> None:
        self.conf = conf
        self.options = options

    #: What its stores offer, by upstream's capability names (``FIFO``,
    #: ``CLAIMS``, ``DURABILITY``, ``AOD``, ``HIGH_THROUGHPUT``): a
    #: flavor shows those all its pools offer.
    capabilities: tuple[str, ...] = ()

    # What the core asks of a driver before opening a store -----------

    @classmethod
    def serves(cls, uri: str) -> bool:
        """Whether this driver opens stores at URIs like ``uri`` (by its
        scheme); the core asks every driver when it has only a URI."""
        return False

    @classmethod
    def resolve_default(cls, conf: cfg.ConfigOpts, group: str) -> str | None:
        """Give a store whose configuration (in ``group``) leaves it
        nowhere a place of its own (an embedded database), by overriding
        options in ``group``; called before any store is opened.

        Returns:
            The URI given, or None when the store was configured.
        """
        return None

    @classmethod
    def absent(cls, conf: cfg.ConfigOpts, group: str) -> str | None:
        """Where the store configured in ``group`` would be created, if
        opening it would create it (a database file that is not there
        yet); None otherwise. Checks that must change nothing ask it
        before opening."""
        return None

    @abc.abstractmethod
    def is_alive(self) -> bool:
        """Whether the backend answers now."""

    @abc.abstractmethod
    def check(self, timeout: float) -> StoreState:
        """Whether the backend answers within ``timeout`` seconds and its
        schema, if it has one, is the newest this driver knows.

        For start-up checks, ``/v2/ping`` and ``/v2/health``: it returns
        within about ``timeout`` seconds whatever the backend does (no
        reconnection retries, no waiting for a busy connection pool), and
        it never raises for a backend failure, it reports it.
        """

    @abc.abstractmethod
    def close(self) -> None:
        """Release connections (at shutdown, or before a fork)."""

    # Schema management, for drivers whose backend has a schema. The
    # defaults suit schemaless backends.

    #: Whether the server may upgrade the schema itself at start (true for
    #: embedded databases, which have no operator to run migrations).
    auto_upgrade: bool = False

    def upgrade(self, revision: str = 'head') -> None:
        """Bring the schema up to ``revision``.

        May run in several processes at once (each worker of a WSGI server
        upgrades an ``auto_upgrade`` store when it starts): the driver
        serialises them.
        """
        return None

    def stamp(self, revision: str = 'head') -> None:
        """Record ``revision`` as applied, without running migrations."""
        return None

    def schema_version(self) -> str | None:
        """The applied schema revision, or None if none applies."""
        return None

    def schema_head(self) -> str | None:
        """The newest schema revision this driver knows."""
        return None


class ControlDriverBase(DriverBase):
    """Entry class of a ``zaqar_core.storage.control`` plugin."""

    @property
    @abc.abstractmethod
    def queue_controller(self) -> QueueControllerBase:
        """The queue catalogue."""

    @property
    @abc.abstractmethod
    def pool_controller(self) -> pools.PoolControllerBase:
        """The pools (:mod:`zaqar_core.storage.pools`)."""

    @property
    @abc.abstractmethod
    def flavor_controller(self) -> pools.FlavorControllerBase:
        """The flavors."""

    @property
    @abc.abstractmethod
    def catalogue_controller(self) -> pools.CatalogueControllerBase:
        """Which pool holds each queue."""


class DataDriverBase(DriverBase):
    """Entry class of a ``zaqar_core.storage.data`` plugin."""

    def checks_metadata_of(self, control: ControlDriverBase) -> bool:
        """Whether posts here can check the metadata of ``control``'s
        queues (``seen_metadata``): true only where both are one store,
        which the message scripts or transactions can read. By default,
        no."""
        return False

    @property
    @abc.abstractmethod
    def message_controller(self) -> MessageControllerBase:
        """Messages."""

    @property
    @abc.abstractmethod
    def claim_controller(self) -> ClaimControllerBase:
        """Claims."""

    @property
    @abc.abstractmethod
    def subscription_controller(self) -> SubscriptionControllerBase:
        """Subscriptions."""

    @property
    @abc.abstractmethod
    def signal_controller(self) -> SignalControllerBase:
        """Wake-ups between the processes sharing this store.

        Listeners hold connections of their own: :meth:`close` leaves
        them be, their handles close them.
        """

    @abc.abstractmethod
    def gc(self) -> int:
        """Remove expired messages, claims and subscriptions; return how
        many went.

        Expired data is already invisible; this reclaims its space. It
        also moves the fan-out jobs that their posters left (see
        :meth:`MessageControllerBase.post_counting_subscriptions`).
        """
