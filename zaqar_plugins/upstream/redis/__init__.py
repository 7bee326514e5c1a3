"""Readers of upstream Zaqar's Redis stores (``redis`` in both of
upstream's ``[drivers]`` namespaces), in upstream's own layout.

Upstream keeps everything in one Redis database, under keys built by
joining names with ``.`` (a project stored as none is ``''``).

The management store (:class:`.management.RedisManagement`):

* ``<project>.queues_set``: sorted set of ``<project>.<queue>``, one per
  queue of the project; ``<project>.<queue>``: hash whose ``m`` is the
  queue's metadata (msgpack).
* ``pools``: sorted set of ``<pool>.pools``; each a hash: ``pl`` name,
  ``u`` URI, ``w`` weight, ``o`` options (msgpack), ``f`` flavor.
* ``flavors``: sorted set of ``<flavor>.flavors``; each a hash: ``f``
  name, ``p`` project, ``c`` capabilities (msgpack).
* ``catalogue.<project>.<queue>``: hash: ``p`` project, ``p_q`` queue,
  ``p_p`` pool (``catalogue.<project>`` indexes them by project).

The message store, or a pool's (:class:`.messages.RedisMessages`):

* ``<project>.<queue>.messages``: sorted set of the queue's message ids,
  each scored by its rank (from the counter
  ``<project>.<queue>.rank_counter``; the first rank is 1), so FIFO.
  ``msgset_index`` is the sorted set of those keys.
* ``<message id>``: hash of the message (see
  :data:`.layout.MESSAGE_FIELDS`) that expires with the message; its id
  stays in the queue's set until upstream's garbage collector removes it.
* ``<project>.<queue>.subscriptions``: sorted set of the ids of the
  queue's subscriptions; ``<subscription id>``: hash of the subscription
  (see :data:`.layout.SUBSCRIPTION_FIELDS`) that expires with it.

Upstream's URIs are accepted as upstream parses them (see
:func:`.connection.parse_uri`).
"""
