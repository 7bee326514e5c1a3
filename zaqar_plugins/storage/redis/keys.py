"""Key names.

Every key of a project carries the hash tag ``{p:<project>}``, so that a
project's queues, its catalogue and its id counter live in one Redis
Cluster slot: a script touching a queue and its dead-letter queue stays
on one node and runs atomically. Projects spread over the cluster; one
project is bounded by one node.

Per queue (prefix ``z:{p:<project>}:<queue>``; names hold no ``:``):

========  =====  ==========================================================
suffix    type   holds
========  =====  ==========================================================
msgs      hash   id -> record (see :mod:`.records`)
all       zset   every message id, scored by id (FIFO)
exp       zset   id by expiry time
avail     zset   ids a claim may take (unclaimed, undelayed), by id
delayed   zset   id by the time its delay ends
claimed   zset   id by the expiry of the claim that holds it
cid       hash   id -> id of the claim that holds (or held) it
count     hash   id -> claim count (absent while 0)
claims    hash   claim id -> "ttl grace created expires"
cexp      zset   claim id by expiry time
cmsg      zset   "<claim id>:<message id>", for a claim's messages
========  =====  ==========================================================

Beside them, ``once`` (set): the keys of the queue's posts made with
``once`` (see ``MessageControllerBase.post_counting_subscriptions``); not
a queue key, so it outlives purges and deletes.

Per source of subscriptions (a queue or topic name; same prefix as a
queue of that name, other suffixes, so that subscriptions outlive the
queue's data):

===========  =====  =======================================================
suffix       type   holds
===========  =====  =======================================================
subs         hash   id -> record (see :mod:`.subscriptions`)
subids       zset   every subscription id, score 0 (paging by id, lex)
subexp       zset   id by expiry time
subscribers  hash   subscriber URI -> id of the subscription holding it
===========  =====  =======================================================

Per project: ``seq`` (the message number counter, shared by the
project's queues so that a message keeps its id when it moves to a
dead-letter queue), ``idkey`` (the key through which clients see those
numbers, see :mod:`zaqar_core.storage.ids`; made by the project's first
post, and in its slot so that the post script can read it), ``queues``
(zset of queue names, for paging by name) and ``qmeta`` (hash name ->
metadata JSON). Within this driver a message id is its number; clients
only ever see it permuted.

The project may hold any character (``:``, ``}``, the ``\\x1f`` of topic
projects...): a ``}`` in it only shortens the hash tag, which stays the
same for all of the project's keys. Keys are only split at their last
two colons (queue and source names hold none, suffixes are fixed), so a
key names one queue or source, and each GC pattern matches one kind of
key.
"""

from __future__ import annotations

PREFIX = 'z:'

#: Suffixes of a queue's keys, in the order scripts receive them.
QUEUE_KEYS = ('msgs', 'all', 'exp', 'avail', 'delayed', 'claimed', 'cid',
              'count', 'claims', 'cexp', 'cmsg')

#: Suffixes of a source's subscription keys, in the order scripts
#: receive them.
SUBSCRIPTION_KEYS = ('subs', 'subids', 'subexp', 'subscribers')

#: SCAN patterns that find every queue holding data and every source
#: holding subscriptions (for the GC). ``*:exp`` cannot match ``:subexp``.
GC_PATTERNS = (f'{PREFIX}*:exp', f'{PREFIX}*:cexp', f'{PREFIX}*:subexp')


def project_prefix(project: str) -> str:
    return f'{PREFIX}{{p:{project}}}'


def queue_prefix(project: str, queue: str) -> str:
    return f'{project_prefix(project)}:{queue}'


def queue_keys(prefix: str) -> list[str]:
    """The keys of the queue at ``prefix``, in QUEUE_KEYS order."""
    return [f'{prefix}:{suffix}' for suffix in QUEUE_KEYS]


def subscription_keys(prefix: str) -> list[str]:
    """The subscription keys of the source at ``prefix`` (a queue
    prefix), in SUBSCRIPTION_KEYS order."""
    return [f'{prefix}:{suffix}' for suffix in SUBSCRIPTION_KEYS]


def subscription_ids_key(prefix: str) -> str:
    """The ``subids`` key of the source at ``prefix`` (a message post
    counts the queue's subscriptions there)."""
    return f'{prefix}:subids'


def once_key(prefix: str) -> str:
    """The set of keys of the posts made once in the queue at
    ``prefix``."""
    return f'{prefix}:once'


def seq_key(project_prefix_: str) -> str:
    return f'{project_prefix_}:seq'


def id_key(project_prefix_: str) -> str:
    return f'{project_prefix_}:idkey'


def catalogue_keys(project: str) -> list[str]:
    """``[queues, qmeta]`` of a project."""
    base = project_prefix(project)
    return [f'{base}:queues', f'{base}:qmeta']


def _prefix_before(key: str, suffixes: tuple[str, ...]) -> str | None:
    """``key`` without the first of ``suffixes`` it ends with, if what is
    left is a ``z:{p:<project>}:<name>`` prefix; else None."""
    for suffix in suffixes:
        if key.endswith(suffix):
            prefix = key[:-len(suffix)]
            # The name part holds no ":", so "}:" ends the project part.
            return prefix if '}:' in prefix else None
    return None


def queue_prefix_of(key: str) -> str | None:
    """The queue prefix of a key found by a GC pattern, or None."""
    return _prefix_before(key, (':exp', ':cexp'))


def source_prefix_of(key: str) -> str | None:
    """The source prefix of a key found by a GC pattern, or None."""
    return _prefix_before(key, (':subexp',))


def names_of_queue_prefix(prefix: str) -> tuple[str, str]:
    """``(project, queue)`` from ``z:{p:<project>}:<queue>``."""
    head, _, queue = prefix.rpartition(':')
    return head[len(PREFIX) + 3:-1], queue


def project_of_queue_prefix(prefix: str) -> str:
    """``z:{p:<project>}`` from ``z:{p:<project>}:<queue>``."""
    return prefix.rpartition(':')[0]


# -- pooling ---------------------------------------------------------------
#
# Pools, flavors and the queue catalogue (see zaqar_core.storage.pools)
# live under one hash tag, ``{pools}`` (no project's: those are
# ``{p:...}``), so that one script changes them atomically on Redis
# Cluster as well. Prefix ``z:{pools}:``; none of them ends like a GC
# pattern.
#
# A "pair" joins two strings as ``<bytes of the first>:<first><second>``:
# pairs of one first string share a prefix and sort by the second.
#
# =========  =====  =========================================================
# suffix     type   holds
# =========  =====  =========================================================
# pools      zset   every pool name, score 0 (paging by name, lex)
# uri        hash   pool name -> URI
# weight     hash   pool name -> weight
# flavor     hash   pool name -> flavor name (absent: no flavor)
# options    hash   pool name -> options JSON
# uris       hash   URI -> name of the pool that has it
# tagged     zset   pair (flavor name or '', pool name), score 0
# flavors    hash   flavor name -> project that owns it
# owned      zset   pair (project, flavor name), score 0
# catalogue  hash   pair (project, queue) -> pool name
# placed     zset   pair (pool name, pair (project, queue)), score 0
# =========  =====  =========================================================

#: The hash tag of every pooling key.
POOLING_TAG = '{pools}'

#: Suffixes of the pooling keys, in the order the script receives them.
POOLING_KEYS = ('pools', 'uri', 'weight', 'flavor', 'options', 'uris',
                'tagged', 'flavors', 'owned', 'catalogue', 'placed')


def pooling_keys() -> list[str]:
    """The pooling keys, in POOLING_KEYS order."""
    return [f'{PREFIX}{POOLING_TAG}:{suffix}' for suffix in POOLING_KEYS]
