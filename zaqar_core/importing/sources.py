"""What an upstream Zaqar deployment holds, as the importer reads it.

Upstream 23.x keeps queues (and pools, flavors and the catalogue) in its
management store and messages and subscriptions in its message store (or
in each pool's). A *source* reads one of those stores in upstream's own
layout and never writes to it. Readers are plugins
(``zaqar_core.upstream.management`` and ``zaqar_core.upstream.messages``
entry points, named as upstream's ``[drivers]`` names the driver), so the
core names no backend.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Iterator
from typing import Any

MANAGEMENT_NAMESPACE = 'zaqar_core.upstream.management'
MESSAGES_NAMESPACE = 'zaqar_core.upstream.messages'

#: Upstream drivers no reader exists for, and why (for the error).
UNSUPPORTED = {
    'mongodb': 'no MongoDB client is part of this project, and the '
               'MongoDB driver was deprecated upstream; move the '
               'deployment to Redis with upstream first',
    'swift': 'upstream\'s Swift store is experimental and keeps no '
             'message order the importer could carry',
}


class SourceError(Exception):
    """A store cannot be read (unreachable, not upstream's layout, an
    unknown schema revision); the message says which and why."""


@dataclasses.dataclass(frozen=True)
class UpstreamQueue:
    project: str  # '' when upstream stored none
    name: str
    metadata: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class UpstreamPool:
    name: str
    uri: str
    weight: int
    options: dict[str, Any]
    flavor: str | None  # None at schema revisions before the flavor column


@dataclasses.dataclass(frozen=True)
class UpstreamFlavor:
    name: str
    project: str
    # Upstream's stored capabilities are left: this release derives a
    # flavor's from its pools (upstream too computed them from a pool).


@dataclasses.dataclass(frozen=True)
class UpstreamMessage:
    id: str
    #: The stored body: JSON-able, or ``bytes`` for a body upstream
    #: encrypted (its base64 AES-CBC text).
    body: Any
    ttl: int
    created: float  # seconds since the epoch
    expires: float
    delay_expires: float  # 0 or when the delay ends
    client_uuid: str
    claim_count: int
    checksum: str | None
    claimed: bool  # a claim held it when read (claims are not carried)


@dataclasses.dataclass(frozen=True)
class Batch:
    """Messages of one queue in FIFO order, named by ``key``.

    ``key`` depends on the source's layout only, not on which messages
    of the batch still live, so that a second run names every batch as
    the first did, even after some of its messages expired.
    """

    key: str
    messages: list[UpstreamMessage]
    #: Entries of the queue's index the batch covered, the expired and
    #: deleted ones (whose records were gone) included.
    indexed: int


@dataclasses.dataclass(frozen=True)
class UpstreamSubscription:
    id: str
    project: str
    source: str
    subscriber: str
    ttl: int
    expires: float
    options: dict[str, Any]
    confirmed: bool


class Reader:
    """What every reader is: made with its store's URI (``Cls(uri)``)."""

    #: Upstream's default URI for this store, when its file gives none.
    default_uri: str = ''

    def __init__(self, uri: str) -> None:
        self.uri = uri

    @classmethod
    def serves(cls, uri: str) -> bool:
        """Whether an upstream store at ``uri`` is this reader's (by the
        URI's scheme)."""
        return False

    def close(self) -> None:
        """Release connections."""
        return None


class ManagementSource(Reader, abc.ABC):
    """Upstream's management store (``[drivers] management_store``)."""

    @abc.abstractmethod
    def queues(self) -> Iterator[UpstreamQueue]:
        """Every queue of every project, by project then name."""

    @abc.abstractmethod
    def pools(self) -> list[UpstreamPool]:
        """Every pool, by name."""

    @abc.abstractmethod
    def flavors(self) -> list[UpstreamFlavor]:
        """Every flavor of every project."""

    @abc.abstractmethod
    def catalogue(self) -> Iterator[tuple[str, str, str]]:
        """``(project, queue, pool)`` of every queue placed on a pool."""


class MessageSource(Reader, abc.ABC):
    """Upstream's message store, or one pool's."""

    @abc.abstractmethod
    def queues(self) -> Iterator[tuple[str, str]]:
        """``(project, queue)`` of every queue with a message index here."""

    @abc.abstractmethod
    def count(self, project: str, queue: str) -> int:
        """Entries of the queue's index (an upper bound of its live
        messages), for progress."""

    @abc.abstractmethod
    def batches(self, project: str, queue: str,
                size: int) -> Iterator[Batch]:
        """The queue's live messages in FIFO order, ``size`` index
        entries per batch at most."""

    @abc.abstractmethod
    def subscriptions(self) -> Iterator[UpstreamSubscription]:
        """Every live subscription of every project and source."""
