"""Queue metadata as posts and claims last saw it, kept between them.

A post needs its queue's metadata before it stores anything (default TTL
and delay, size limit, encryption), and a claim before it takes anything
(dead-letter settings), which cost a read of its own: two round trips per
post or claim on Redis. Where the message store can check, in the
step that stores the messages, that the metadata is still what was read
(:meth:`~zaqar_core.storage.base.DataDriverBase.checks_metadata_of`),
the API keeps what it read and acts on that condition: one round trip,
and a second read only when the metadata changed. Nothing kept here is
trusted unchecked: elsewhere every post and claim reads the metadata
afresh.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import TypeVar

from zaqar_core.api import errors
from zaqar_core.storage import errors as storage_errors
from zaqar_core.storage.stores import Stores

T = TypeVar('T')

#: Queues remembered per process; when full, it starts over (a read each
#: for the queues posted to next).
MAX_QUEUES = 10000
#: Attempts in a row that find the metadata changed since it was read
#: before one is made without that condition, on metadata read just then.
MAX_CHANGES = 3
#: Longer metadata (up to max_queue_metadata, 64 KiB) is read at every
#: post rather than kept: memory stays within a few tens of MB.
MAX_TEXT = 1024


@dataclasses.dataclass(frozen=True)
class Seen:
    """A queue's metadata as read: the stored ``text`` (None when the
    queue did not exist) and the ``metadata`` it holds."""

    text: str | None
    metadata: dict
    #: Read just now, rather than kept from an earlier post.
    fresh: bool = True


NO_QUEUE = Seen(None, {})


class SeenMetadata:
    """The metadata of the queues posted to, by project and name."""

    def __init__(self, stores: Stores) -> None:
        self.stores = stores
        self._seen: dict[tuple[str, str], Seen] = {}

    @property
    def checked(self) -> bool:
        """Whether posts can be made on the condition of what is kept."""
        return self.stores.placement is None and \
            self.stores.data.checks_metadata_of(self.stores.control)

    def run(self, project: str, name: str,
            attempt: Callable[[Seen, bool], T]) -> T:
        """``attempt(seen, checked)``: an action on the queue's metadata
        as ``seen``, which stores nothing and raises ``MetadataChanged``
        when ``checked`` and the metadata is not that any more; run again
        on the metadata the store answered. A refusal (an API error) on
        metadata kept from earlier is run again on fresh metadata: only
        the queue's metadata as it is now may refuse."""
        seen = self.get(project, name)
        changes = 0
        while True:
            try:
                return attempt(seen, self.checked and
                               changes < MAX_CHANGES)
            except storage_errors.MetadataChanged as exc:
                changes += 1
                seen = self.saw(project, name, exc.text)
            except errors.ApiError:
                if seen.fresh:
                    raise
                seen = self.read(project, name)

    def get(self, project: str, name: str) -> Seen:
        """What was kept of the queue's metadata, else a fresh read."""
        if self.checked:
            kept = self._seen.get((project, name))
            if kept is not None:
                return kept
        return self.read(project, name)

    def read(self, project: str, name: str) -> Seen:
        """The queue's metadata, read now (and kept)."""
        try:
            text = self.stores.queues.get_metadata_text(project, name)
        except storage_errors.QueueDoesNotExist:
            text = None
        return self.saw(project, name, text)

    def saw(self, project: str, name: str, text: str | None) -> Seen:
        """Keep ``text``, the queue's metadata as the store has it now."""
        seen = NO_QUEUE if text is None else Seen(text, json.loads(text))
        if text is None:
            # Posts create the queue first: its text is read next time.
            self._seen.pop((project, name), None)
        elif self.checked and len(text) <= MAX_TEXT:
            if len(self._seen) >= MAX_QUEUES:
                self._seen.clear()
            self._seen[(project, name)] = dataclasses.replace(
                seen, fresh=False)
        return seen
