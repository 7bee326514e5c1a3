"""The delivery retry policy (``_retry_policy``).

A policy is a JSON object that a queue keeps in its metadata and a
subscription in its options. Its keys (defaults in :data:`DEFAULTS`):

* ``retries_with_no_delay`` (3): phase 1, retries right away;
* ``minimum_delay_retries`` (3): phase 2, retries ``minimum_delay`` apart;
* ``minimum_delay`` (5 s), ``maximum_delay`` (30 s): phase 3 backs off
  from one to the other as ``retry_backoff_function`` (``linear``,
  ``arithmetic``, ``geometric`` or ``exponential``; see :func:`backoff`)
  says;
* ``maximum_delay_retries`` (3): phase 4, retries ``maximum_delay`` apart;
* ``ignore_subscription_override`` (false): the queue's policy wins over
  the subscription's.

:func:`validate` checks a policy as the API receives it,
:func:`effective` picks and completes the policy of one subscription when
a notification is queued, and :func:`delays` turns it into the sleeps
before each retry.

Where this differs from upstream Zaqar on purpose:

* negative numbers, and numbers over :data:`MAX_RETRIES` /
  :data:`MAX_DELAY`, are refused: upstream crashes on negative sleeps and
  would build a list of millions of retries for a huge ``maximum_delay``;
* ``true`` is not an integer;
* ``exponential`` differs from ``geometric`` (upstream computes the same
  sleeps for both), and the sleeps are not truncated to whole seconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from collections.abc import Mapping
from typing import Any

KEY = '_retry_policy'

DEFAULTS: dict[str, Any] = {
    'retries_with_no_delay': 3,
    'minimum_delay_retries': 3,
    'minimum_delay': 5,
    'maximum_delay': 30,
    'maximum_delay_retries': 3,
    'retry_backoff_function': 'linear',
    'ignore_subscription_override': False,
}

COUNT_KEYS = ('retries_with_no_delay', 'minimum_delay_retries',
              'maximum_delay_retries')
DELAY_KEYS = ('minimum_delay', 'maximum_delay')

#: Seconds between two linear backoff sleeps; also sets how many sleeps
#: the other backoff functions take (upstream's ``LINEAR_INTERVAL``).
BACKOFF_STEP = 5

#: Bounds that keep :func:`delays` small (at most ~20,000 sleeps).
MAX_RETRIES = 1000
MAX_DELAY = 86400


def _linear(low: int, high: int) -> list[float]:
    """``low``, ``low + 5``, ``low + 10``... while below ``high``."""
    count = max(0, math.ceil((high - low) / BACKOFF_STEP))
    return [float(low + BACKOFF_STEP * i) for i in range(count)]


def _points(low: int, high: int,
            point: Callable[[int, int], float]) -> list[float]:
    """``(high - low) // 5`` sleeps; ``point(i, last)`` is sleep ``i`` of
    ``0..last`` and must give ``low`` for 0 and ``high`` for ``last``."""
    count = max(0, math.floor((high - low) / BACKOFF_STEP))
    if count < 2:  # validate() rules this out; stay defined anyway
        return [float(high)] * count
    return [float(point(i, count - 1)) for i in range(count)]


def _arithmetic(low: int, high: int) -> list[float]:
    """Gaps grow by a constant amount: d, 2d, 3d..."""
    span = high - low
    return _points(low, high, lambda i, last:
                   low + span * i * (i + 1) / (last * (last + 1)))


def _geometric(low: int, high: int) -> list[float]:
    """Each sleep is the previous one times a constant ratio.

    A ratio cannot grow from zero, so a ``minimum_delay`` of 0 starts the
    progression at 1 second.
    """
    start = max(low, 1)
    return _points(low, high, lambda i, last:
                   start * (high / start) ** (i / last))


def _exponential(low: int, high: int) -> list[float]:
    """Gaps double: d, 2d, 4d, 8d..."""
    span = high - low
    # Integer powers: exact even for thousands of steps.
    return _points(low, high, lambda i, last:
                   low + span * (2 ** i - 1) / (2 ** last - 1))


BACKOFF_FUNCTIONS: dict[str, Callable[[int, int], list[float]]] = {
    'linear': _linear,
    'arithmetic': _arithmetic,
    'geometric': _geometric,
    'exponential': _exponential,
}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_number(key: str, value: Any, limit: int) -> None:
    if not _is_int(value):
        raise ValueError(f'Retry policy: {key} must be an integer.')
    if value < 0:
        raise ValueError(f'Retry policy: {key} must not be negative.')
    if value > limit:
        raise ValueError(f'Retry policy: {key} can not exceed {limit}.')


def validate(policy: object) -> None:
    """Check a ``_retry_policy`` value as a client sent it.

    Like upstream, a falsy value (``null``, ``0``, ``""``...) leaves a key
    (or the whole policy) unset, and unknown keys are ignored.

    Raises:
        ValueError: with the message for the client.
    """
    if not policy:
        return
    if not isinstance(policy, dict):
        raise ValueError('retry_policy must be a dict.')
    for key in COUNT_KEYS:
        if policy.get(key):
            _check_number(key, policy[key], MAX_RETRIES)
    for key in DELAY_KEYS:
        if policy.get(key):
            _check_number(key, policy[key], MAX_DELAY)
    function = policy.get('retry_backoff_function')
    if function:
        if not isinstance(function, str):
            raise ValueError('retry_backoff_function must be a string.')
        if function not in BACKOFF_FUNCTIONS:
            raise ValueError('invalid retry_backoff_function.')
    override = policy.get('ignore_subscription_override')
    if override and not isinstance(override, bool):
        raise ValueError('ignore_subscription_override must be a boolean.')
    # An explicit 0 counts here; null and the like mean the default.
    low, high = (policy[key] if _is_int(policy.get(key)) else DEFAULTS[key]
                 for key in DELAY_KEYS)
    if high < low:
        raise ValueError('minimum_delay must be less than maximum_delay.')
    # At least two backoff sleeps (upstream's rule).
    if high - low < 2 * BACKOFF_STEP:
        raise ValueError('invalid minimum_delay and maximum_delay.')


def _valid_value(key: str, value: Any) -> bool:
    """Whether ``value`` may stand for ``key`` in a complete policy."""
    if key in COUNT_KEYS or key in DELAY_KEYS:
        limit = MAX_RETRIES if key in COUNT_KEYS else MAX_DELAY
        return _is_int(value) and 0 <= value <= limit
    if key == 'retry_backoff_function':
        return isinstance(value, str) and value in BACKOFF_FUNCTIONS
    return isinstance(value, bool)


def complete(policy: object) -> dict[str, Any]:
    """``policy`` with every key set: what :func:`validate` would refuse
    or leave unset takes the default.

    Policies stored before validation existed, or by other means, may be
    anything: this never raises.
    """
    given = policy if isinstance(policy, Mapping) else {}
    result = {key: given[key] if _valid_value(key, given.get(key))
              else default for key, default in DEFAULTS.items()}
    try:
        validate(result)
    except ValueError:
        for key in DELAY_KEYS:  # only the pair can still be wrong
            result[key] = DEFAULTS[key]
    return result


def _policy_of(document: object) -> Mapping[str, Any]:
    policy = document.get(KEY) if isinstance(document, Mapping) else None
    return policy if isinstance(policy, Mapping) else {}


def effective(subscription_options: dict | None,
              queue_metadata: dict | None) -> dict[str, Any]:
    """The complete policy that applies to one subscription.

    The subscription's ``_retry_policy`` (in its options) wins over the
    queue's (in its metadata), unless either sets
    ``ignore_subscription_override``; then the queue's applies. An empty
    or missing policy counts as unset. Missing keys take their defaults.

    Returns:
        a JSON-serializable dict with every key of :data:`DEFAULTS`.
    """
    own = _policy_of(subscription_options)
    queue = _policy_of(queue_metadata)
    if own.get('ignore_subscription_override') is True or \
            queue.get('ignore_subscription_override') is True:
        chosen = queue
    else:
        chosen = own or queue
    return complete(chosen)


def backoff(function: str, minimum_delay: int,
            maximum_delay: int) -> list[float]:
    """The phase-3 sleeps of ``function`` between the two delays.

    ``linear`` sleeps ``minimum_delay``, then 5 s more each time while
    below ``maximum_delay``. The others take ``(maximum - minimum) // 5``
    sleeps that start at ``minimum_delay`` and end at ``maximum_delay``;
    they differ in how the gaps between sleeps grow: ``arithmetic`` by a
    constant amount (d, 2d, 3d...), ``geometric`` by a constant ratio
    (each sleep is the previous one times k), ``exponential`` by doubling
    (d, 2d, 4d...). With the defaults (5 s to 30 s):

    ===========  ==============================
    linear       5, 10, 15, 20, 25
    arithmetic   5, 7.5, 12.5, 20, 30
    geometric    5, 7.825, 12.247, 19.168, 30
    exponential  5, 6.667, 10, 16.667, 30
    ===========  ==============================

    Raises:
        KeyError: ``function`` is not one of :data:`BACKOFF_FUNCTIONS`.
    """
    steps = BACKOFF_FUNCTIONS[function](minimum_delay, maximum_delay)
    return [round(step, 3) for step in steps]


def delays(policy: Mapping[str, Any]) -> list[float]:
    """Seconds to sleep before each retry, in order; the first attempt is
    not counted, so a delivery is tried at most ``len(delays) + 1`` times.

    ``policy`` is completed as by :func:`complete` first (``{}`` gives the
    default policy): 3 × 0 s, 3 × 5 s, then 5, 10, 15, 20, 25 s, then
    3 × 30 s.
    """
    full = complete(policy)
    low, high = full['minimum_delay'], full['maximum_delay']
    return ([0.0] * full['retries_with_no_delay'] +
            [float(low)] * full['minimum_delay_retries'] +
            backoff(full['retry_backoff_function'], low, high) +
            [float(high)] * full['maximum_delay_retries'])
