"""Storage contract of pooling: pools, flavors and the queue catalogue.

A deployment with pooling keeps messages in several data stores, the
*pools*; the management store records them, groups them into *flavors*
and says which pool holds each queue (the *catalogue*). These three
controllers belong to a control driver. Every operation is atomic, also
between processes: a pool that holds queues is never deleted, and two
processes placing one queue at once agree on its pool.

Names of pools and flavors have at most 64 characters, URIs at most 255,
projects at most 256 (as for queues), queue names as for queues; weights
lie in 0..2**32-1 and options are any JSON object. ``project`` is the
tenant id, or ``''`` when the deployment has none. Names compare
case-sensitively and lists sort them by the store's order of names (the
order their markers page in).

Errors, beside :class:`~zaqar_core.storage.errors.Unavailable`::

    StorageError
    ├── DoesNotExist
    │   └── PoolNotFound         -> 404 (400 for a flavor's pool list)
    ├── PoolUnusable             -> 400
    ├── PoolConflict             -> 409
    │   ├── PoolInUse
    │   ├── DuplicateUri
    │   ├── FlavorTaken
    │   └── FlavorChangeRefused
    └── Unavailable              -> 503
        └── NoPool
"""

from __future__ import annotations

import abc
import dataclasses
import enum
from collections.abc import Sequence
from typing import Any
from typing import Final

from zaqar_core.storage import errors


@dataclasses.dataclass(frozen=True)
class Pool:
    """A data store that holds queues.

    Attributes:
        name: unique, at most 64 characters.
        uri: where the store is (a ``redis://`` or ``mongodb://`` URI, say),
            unique among pools, kept verbatim; at most 255 characters.
        weight: 0..2**32-1; placement picks pools in proportion to it, and
            never one of weight 0.
        flavor: the name of the flavor the pool serves, or None. It need
            not name an existing flavor (a pool may be tagged before its
            flavor is made). A store keeps ``''`` as None.
        options: driver options of the store (any JSON object).
    """

    name: str
    uri: str
    weight: int
    flavor: str | None = None
    options: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Flavor:
    """A project's named set of pools.

    Flavor names are unique across projects: pools carry a flavor's bare
    name, so two projects must never share one.

    Attributes:
        name: at most 64 characters.
        project: the project that owns it.
        pools: names of the pools tagged with it, sorted.
    """

    name: str
    project: str
    pools: tuple[str, ...] = ()


class Unset(enum.Enum):
    """The type of :data:`UNSET`."""

    UNSET = 'UNSET'

    def __repr__(self) -> str:
        return 'UNSET'


#: "Not given", for :meth:`PoolControllerBase.update` (None is a value
#: there: no flavor).
UNSET: Final = Unset.UNSET


class PoolNotFound(errors.DoesNotExist):
    """One or more named pools do not exist.

    Attributes:
        names: the missing pools, sorted.
    """

    def __init__(self, names: str | Sequence[str]) -> None:
        self.names = ((names,) if isinstance(names, str)
                      else tuple(sorted(names)))
        listed = ', '.join(self.names)
        verb = 'does' if len(self.names) == 1 else 'do'
        super().__init__(f'Pool {listed} {verb} not exist.')


class PoolUnusable(errors.StorageError):
    """No store can be opened from a pool's URI and options: no driver
    serves the URI's scheme, or an option's value is not one its driver
    takes."""


class PoolConflict(errors.StorageError):
    """The change conflicts with other pools, flavors or queues."""


class PoolInUse(PoolConflict):
    """Queues are still mapped to the pool.

    Attributes:
        pool: its name.
        queues: how many queues are mapped to it.
    """

    def __init__(self, pool: str, queues: int) -> None:
        super().__init__(f'Pool {pool} still holds {queues} queue(s); '
                         f'move or delete them first.')
        self.pool = pool
        self.queues = queues


class DuplicateUri(PoolConflict):
    """Another pool has the URI.

    Attributes:
        uri: the URI.
        other_pool: the name of the pool that has it.
    """

    def __init__(self, uri: str, other_pool: str) -> None:
        super().__init__(f'Pool {other_pool} already has this URI.')
        self.uri = uri
        self.other_pool = other_pool


class FlavorTaken(PoolConflict):
    """Another project has a flavor of this name.

    Attributes:
        name: the flavor's name.
    """

    def __init__(self, name: str) -> None:
        # Which project has it is not the caller's business.
        super().__init__(f'Flavor name {name} is taken.')
        self.name = name


class NoPool(errors.Unavailable):
    """No pool can take a new queue: none serves its flavor (or, with no
    flavor, none is untagged), or every candidate has weight 0."""

    def __init__(self, queue: str, flavor: str | None) -> None:
        serving = (f'of flavor {flavor}' if flavor is not None
                   else 'without a flavor')
        super().__init__(f'Queue {queue} could not be created: no pool '
                         f'{serving} takes queues.')
        self.queue = queue
        self.flavor = flavor


class FlavorChangeRefused(PoolConflict):
    """A queue's new ``_flavor`` would need it on another pool: its
    messages, claims and subscriptions are not moved."""

    def __init__(self, queue: str, pool: str | None,
                 flavor: str | None) -> None:
        where = f'pool {pool}' if pool is not None else 'the message store'
        wanted = f'flavor {flavor}' if flavor is not None else 'no flavor'
        super().__init__(f'Queue {queue} lives on {where}, which does not '
                         f'serve {wanted}; a placed queue keeps its pool, '
                         f'so its flavor cannot change to that one.')
        self.queue = queue


class PoolControllerBase(abc.ABC):
    """The pools of a deployment (global, not per project)."""

    def put(self, pool: Pool) -> bool:
        """Create ``pool``, or replace every field of the existing pool of
        its name.

        Returns:
            True when the pool was created, False when it was replaced.

        Raises:
            DuplicateUri: another pool has ``pool.uri``.
            PoolInUse: the pool exists, queues are mapped to it and the
                URI changes (the queues' data would be left behind).
        """
        created, _ = self.write(pool.name, True, {
            'uri': pool.uri, 'weight': pool.weight, 'flavor': pool.flavor,
            'options': pool.options})
        return created

    @abc.abstractmethod
    def get(self, name: str) -> Pool | None:
        """The pool called ``name``, or None."""

    @abc.abstractmethod
    def list(self, marker: str | None = None,
             limit: int = 10) -> list[Pool]:
        """Up to ``limit`` pools with names after ``marker`` (which need
        not name a pool), by name."""

    def update(self, name: str, *, uri: str | Unset = UNSET,
               weight: int | Unset = UNSET,
               flavor: str | None | Unset = UNSET,
               options: dict[str, Any] | Unset = UNSET) -> Pool | None:
        """Change the fields given (``options`` wholesale; ``flavor=None``
        untags the pool); with none, only read the pool.

        Returns:
            The pool as it now is, or None when there is no such pool.

        Raises:
            DuplicateUri: as for :meth:`put`.
            PoolInUse: as for :meth:`put`.
        """
        given = {'uri': uri, 'weight': weight, 'flavor': flavor,
                 'options': options}
        _, pool = self.write(name, False, {
            field: value for field, value in given.items()
            if value is not UNSET})
        return pool

    @abc.abstractmethod
    def write(self, name: str, create: bool, fields: dict[str, Any]
              ) -> tuple[bool, Pool | None]:
        """Set ``fields`` (some of ``uri``, ``weight``, ``flavor``,
        ``options``) of pool ``name``, creating it if ``create``: what
        :meth:`put` and :meth:`update` do, with their errors.

        Returns:
            ``(created, the pool as it now is)``; ``(False, None)`` when
            it does not exist and ``create`` is false.
        """

    @abc.abstractmethod
    def delete(self, name: str) -> bool:
        """Delete a pool that holds no queues (its flavor loses it).

        Returns:
            False when there was no such pool.

        Raises:
            PoolInUse: queues are mapped to it; nothing changed.
        """

    @abc.abstractmethod
    def with_flavor(self, flavor: str | None) -> list[Pool]:
        """The placement candidates of a queue of ``flavor``, by name: the
        pools tagged with it, or for None the pools with no flavor (a
        queue without a flavor never lands on a flavored pool)."""


class FlavorControllerBase(abc.ABC):
    """Flavors, per project.

    A flavor's pools are the pools tagged with its name
    (:attr:`Pool.flavor`): a pool serves one flavor at most, and tagging
    it (through :meth:`PoolControllerBase.put` or :meth:`put` here) moves
    it from the flavor it served.
    """

    def put(self, project: str, name: str, pools: Sequence[str]) -> bool:
        """Create a flavor of ``project`` whose pools are ``pools``, or make
        those the pools of the existing one: they are tagged with ``name``
        and its former pools untagged, all at once.

        ``pools`` may be empty (the API refuses that) or repeat names.

        Returns:
            True when the flavor was created.

        Raises:
            FlavorTaken: another project has a flavor called ``name``.
            PoolNotFound: some of ``pools`` do not exist (it names them);
                nothing changed.
        """
        created, _ = self.write(project, name, pools, create=True)
        return created

    @abc.abstractmethod
    def get(self, project: str, name: str) -> Flavor | None:
        """The flavor of ``project`` called ``name``, or None (also when
        another project has it)."""

    @abc.abstractmethod
    def list(self, project: str, marker: str | None = None,
             limit: int = 10) -> list[Flavor]:
        """Up to ``limit`` flavors of ``project`` with names after
        ``marker``, by name."""

    def update(self, project: str, name: str,
               pools: Sequence[str]) -> Flavor | None:
        """:meth:`put` for a flavor that exists.

        Returns:
            The flavor as it now is, or None when ``project`` has no
            flavor called ``name`` (then nothing changed).

        Raises:
            PoolNotFound: as for :meth:`put`.
        """
        _, flavor = self.write(project, name, pools, create=False)
        return flavor

    @abc.abstractmethod
    def write(self, project: str, name: str, pools: Sequence[str],
              create: bool) -> tuple[bool, Flavor | None]:
        """Make ``pools`` the pools of ``project``'s flavor ``name``,
        creating it if ``create``: what :meth:`put` and :meth:`update`
        do, with their errors.

        Returns:
            ``(created, the flavor as it now is)``; ``(False, None)``
            when it does not exist and ``create`` is false.
        """

    @abc.abstractmethod
    def delete(self, project: str, name: str) -> bool:
        """Delete a flavor of ``project`` and untag its pools.

        Returns:
            False when ``project`` has no flavor called ``name``.
        """


class CatalogueControllerBase(abc.ABC):
    """Which pool holds each queue: ``(project, queue) -> pool name``."""

    @abc.abstractmethod
    def place(self, project: str, queue: str, pool: str) -> str:
        """Map an unmapped queue to ``pool``.

        A mapping that exists wins (whatever ``pool`` is): two processes
        creating one queue at once end up with the same answer.

        Returns:
            The pool the queue is mapped to.

        Raises:
            PoolNotFound: the queue is unmapped and ``pool`` does not
                exist; nothing was written.
        """

    @abc.abstractmethod
    def lookup(self, project: str, queue: str) -> str | None:
        """The pool a queue is mapped to, or None."""

    @abc.abstractmethod
    def move(self, project: str, queue: str, from_pool: str,
             to_pool: str) -> bool:
        """Remap a queue from ``from_pool`` to ``to_pool``, if it is mapped
        to ``from_pool`` (compare and set).

        Returns:
            True when the queue was mapped to ``from_pool`` and now is to
            ``to_pool``; False when it is unmapped or mapped elsewhere
            (then nothing changed).

        Raises:
            PoolNotFound: ``to_pool`` does not exist.
        """

    @abc.abstractmethod
    def remove(self, project: str, queue: str) -> None:
        """Unmap a queue; an unmapped one is fine."""

    @abc.abstractmethod
    def count(self, pool: str) -> int:
        """Number of queues mapped to ``pool``."""

    @abc.abstractmethod
    def placed(self, pool: str, marker: tuple[str, str] | None = None,
               limit: int = 100) -> list[tuple[str, str]]:
        """Up to ``limit`` ``(project, queue)`` pairs mapped to ``pool``,
        after ``marker`` (the last pair of an earlier page), in an order
        of the store's own that pages stably."""
