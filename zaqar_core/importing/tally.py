"""Counts of an import, per project and queue, and the check that ends
it: each queue's store here must have gained what was written, and every
encrypted body must have been opened."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import TextIO


@dataclasses.dataclass
class QueueTally:
    """One queue's messages."""

    #: Live messages read from upstream.
    read: int = 0
    #: Written by this run.
    written: int = 0
    #: In batches a run before this one imported.
    before: int = 0
    #: Expired (or gone) when read: not carried.
    expired: int = 0
    #: Bodies the configured key could not open: not carried.
    unreadable: int = 0
    #: Held by a live claim upstream: carried free (see the docs).
    claimed: int = 0
    #: What the destination gained, as its stats counted before and after
    #: (None until checked; a dry run never checks).
    gained: int | None = None
    #: Written messages whose TTL ran out before the check.
    expired_since: int = 0

    def mismatch(self) -> str | None:
        """Why the counts disagree, or None. (What was read is what was
        written, imported before or not opened, by construction: the
        check is that the store gained what was written.)"""
        if self.gained is not None and \
                self.gained != self.written - self.expired_since:
            return (f'wrote {self.written} but the store gained '
                    f'{self.gained}')
        if self.unreadable:
            return (f'{self.unreadable} encrypted bodies could not be '
                    f'opened with the configured key')
        return None


@dataclasses.dataclass
class Tally:
    """The whole import."""

    queues: dict[tuple[str, str], QueueTally] = dataclasses.field(
        default_factory=dict)
    queues_created: int = 0
    queues_existing: int = 0
    #: Message sets upstream kept for queues it no longer has.
    orphaned_messages: int = 0
    subscriptions_written: int = 0
    subscriptions_existing: int = 0
    subscriptions_expired: int = 0
    pools_written: int = 0
    pools_existing: int = 0
    flavors_written: int = 0
    flavors_existing: int = 0
    placed: int = 0

    def queue(self, project: str, name: str) -> QueueTally:
        return self.queues.setdefault((project, name), QueueTally())

    def total(self, field: str) -> int:
        return sum(getattr(t, field) for t in self.queues.values())

    def mismatches(self) -> list[str]:
        return [f'project {p or "(none)"!r} queue {q!r}: {why}'
                for (p, q), t in sorted(self.queues.items())
                if (why := t.mismatch()) is not None]

    def written(self) -> int:
        """Everything this run wrote."""
        return (self.queues_created + self.total('written')
                + self.subscriptions_written + self.pools_written
                + self.flavors_written)


def _rows(tally: Tally, dry_run: bool) -> Iterable[str]:
    verb = 'would import' if dry_run else 'written'
    yield (f'queues: {tally.queues_created} {verb}, '
           f'{tally.queues_existing} already here')
    yield (f'messages: {tally.total("read")} read, '
           f'{tally.total("written")} {verb}, '
           f'{tally.total("before")} imported before, '
           f'{tally.total("expired")} expired, '
           f'{tally.total("claimed")} were claimed (now free)')
    if tally.orphaned_messages:
        yield (f'messages of queues upstream no longer has (not '
               f'imported, upstream shows none of them either): '
               f'{tally.orphaned_messages}')
    yield (f'subscriptions: {tally.subscriptions_written} {verb}, '
           f'{tally.subscriptions_existing} already here, '
           f'{tally.subscriptions_expired} expired')
    yield (f'pools: {tally.pools_written} {verb}, {tally.pools_existing} '
           f'already here; flavors: {tally.flavors_written} {verb}, '
           f'{tally.flavors_existing} already here; queues placed: '
           f'{tally.placed}')


def report(tally: Tally, out: TextIO, *, dry_run: bool,
           per_queue: bool) -> bool:
    """Print the summary; whether every count agrees."""
    if per_queue:
        print('project / queue: read, written, imported before, expired',
              file=out)
        for (project, name), t in sorted(tally.queues.items()):
            print(f'  {project or "(none)"} / {name}: {t.read}, '
                  f'{t.written}, {t.before}, {t.expired}', file=out)
    for row in _rows(tally, dry_run):
        print(row, file=out)
    problems = [] if dry_run else tally.mismatches()
    for problem in problems:
        print(f'MISMATCH {problem}', file=out)
    if dry_run:
        print('dry run: nothing was written', file=out)
    elif problems:
        print(f'FAILED: {len(problems)} queues do not add up (see '
              f'MISMATCH above)', file=out)
    else:
        print(f'OK: every count adds up; written: {tally.written()}',
              file=out)
    return not problems
