"""The retry policy: :mod:`zaqar_core.notification.retry`, and its check
in queue metadata. (It lives with the notifier tests because the
notifiers are what it is for.)"""

from __future__ import annotations

import json

import pytest

from zaqar_core.api import errors
from zaqar_core.api.v2 import metadata
from zaqar_core.notification import retry

DEFAULT_DELAYS = [0.0] * 3 + [5.0] * 3 + [5.0, 10.0, 15.0, 20.0, 25.0] + \
    [30.0] * 3


# validate


@pytest.mark.parametrize('policy', [
    None, {}, 0, '', False,
    {'retries_with_no_delay': 0, 'minimum_delay_retries': 5,
     'minimum_delay': 2, 'maximum_delay': 60, 'maximum_delay_retries': 1,
     'retry_backoff_function': 'geometric',
     'ignore_subscription_override': True},
    {'minimum_delay': 0, 'maximum_delay': 10},
    {'minimum_delay': 20},  # 20..30: two backoff steps
    {'maximum_delay': 15},
    {'minimum_delay': None, 'retry_backoff_function': '',
     'ignore_subscription_override': 0},  # falsy: unset, as upstream
    {'retry_backoff_function': 'exponential', 'unknown': object()},
    {'retries_with_no_delay': retry.MAX_RETRIES,
     'maximum_delay': retry.MAX_DELAY},
])
def test_valid_policies(policy):
    retry.validate(policy)


@pytest.mark.parametrize('policy,message', [
    ([1], 'retry_policy must be a dict.'),
    ('linear', 'retry_policy must be a dict.'),
    ({'retries_with_no_delay': '3'},
     'Retry policy: retries_with_no_delay must be an integer.'),
    ({'minimum_delay_retries': 1.5},
     'Retry policy: minimum_delay_retries must be an integer.'),
    ({'maximum_delay_retries': True},
     'Retry policy: maximum_delay_retries must be an integer.'),
    ({'minimum_delay': -1},
     'Retry policy: minimum_delay must not be negative.'),
    ({'retries_with_no_delay': retry.MAX_RETRIES + 1},
     f'Retry policy: retries_with_no_delay can not exceed '
     f'{retry.MAX_RETRIES}.'),
    ({'maximum_delay': retry.MAX_DELAY + 1},
     f'Retry policy: maximum_delay can not exceed {retry.MAX_DELAY}.'),
    ({'retry_backoff_function': 3},
     'retry_backoff_function must be a string.'),
    ({'retry_backoff_function': 'Linear'}, 'invalid retry_backoff_function.'),
    ({'retry_backoff_function': 'quadratic'},
     'invalid retry_backoff_function.'),
    ({'ignore_subscription_override': 'yes'},
     'ignore_subscription_override must be a boolean.'),
    ({'minimum_delay': 40}, 'minimum_delay must be less than maximum_delay.'),
    ({'minimum_delay': 10, 'maximum_delay': 5},
     'minimum_delay must be less than maximum_delay.'),
    ({'minimum_delay': 10, 'maximum_delay': 19},
     'invalid minimum_delay and maximum_delay.'),
    ({'minimum_delay': 21}, 'invalid minimum_delay and maximum_delay.'),
    ({'minimum_delay': 0, 'maximum_delay': 9},
     'invalid minimum_delay and maximum_delay.'),
])
def test_invalid_policies(policy, message):
    with pytest.raises(ValueError) as error:
        retry.validate(policy)

    assert str(error.value) == message


# effective


SUB = {'minimum_delay': 1, 'maximum_delay': 11}
QUEUE = {'retries_with_no_delay': 7}


def sub_options(policy=None, **others):
    return {'_retry_policy': policy, **others} if policy is not None \
        else others


def test_effective_defaults():
    assert retry.effective({}, {}) == retry.DEFAULTS
    assert retry.effective(None, None) == retry.DEFAULTS


def test_subscription_policy_wins():
    policy = retry.effective(sub_options(SUB), {'_retry_policy': QUEUE})

    assert policy == {**retry.DEFAULTS, **SUB}


def test_queue_policy_applies_without_a_subscription_policy():
    for options in ({}, sub_options({}), {'_retry_policy': None}):
        assert retry.effective(options, {'_retry_policy': QUEUE}) == \
            {**retry.DEFAULTS, **QUEUE}


@pytest.mark.parametrize('sub,queue', [
    ({**SUB, 'ignore_subscription_override': True}, QUEUE),
    (SUB, {**QUEUE, 'ignore_subscription_override': True}),
])
def test_ignore_subscription_override_makes_the_queue_win(sub, queue):
    policy = retry.effective(sub_options(sub), {'_retry_policy': queue})

    assert policy['retries_with_no_delay'] == 7
    assert policy['minimum_delay'] == retry.DEFAULTS['minimum_delay']


def test_override_with_no_queue_policy_gives_the_defaults():
    sub = {**SUB, 'ignore_subscription_override': True}

    assert retry.effective(sub_options(sub), {}) == retry.DEFAULTS


def test_effective_is_json_and_independent_of_its_inputs():
    sub = dict(SUB)
    policy = retry.effective(sub_options(sub), {})
    policy['minimum_delay'] = 99

    assert sub == SUB
    assert json.loads(json.dumps(policy)) == policy


@pytest.mark.parametrize('stored,expected', [
    ({'retries_with_no_delay': -4}, {}),
    ({'retries_with_no_delay': 'many', 'minimum_delay_retries': 2},
     {'minimum_delay_retries': 2}),
    ({'retry_backoff_function': ['linear']}, {}),
    ({'retry_backoff_function': 'cubic', 'maximum_delay_retries': 0},
     {'maximum_delay_retries': 0}),
    ({'ignore_subscription_override': 'yes'}, {}),
    ({'minimum_delay': None, 'maximum_delay': 40}, {'maximum_delay': 40}),
    ({'minimum_delay': 40}, {}),  # the pair breaks the rule: both reset
    ({'minimum_delay': 8, 'maximum_delay': 10}, {}),
])
def test_stored_policies_are_completed_not_trusted(stored, expected):
    # Policies stored before validation (or by hand) must not break
    # delivery: what validate() refuses takes its default.
    policy = retry.effective(sub_options(stored), {})

    assert policy == {**retry.DEFAULTS, **expected}


def test_non_dict_policies_are_ignored():
    assert retry.effective({'_retry_policy': 'fast'},
                           {'_retry_policy': [1]}) == retry.DEFAULTS


# delays


def test_default_delays():
    assert retry.delays({}) == DEFAULT_DELAYS
    assert retry.delays(retry.DEFAULTS) == DEFAULT_DELAYS


def test_delays_in_phase_order():
    policy = {'retries_with_no_delay': 1, 'minimum_delay_retries': 2,
              'minimum_delay': 2, 'maximum_delay': 12,
              'maximum_delay_retries': 2, 'retry_backoff_function': 'linear'}

    assert retry.delays(policy) == [0.0, 2.0, 2.0, 2.0, 7.0, 12.0, 12.0]


def test_no_retries_at_all():
    policy = {'retries_with_no_delay': 0, 'minimum_delay_retries': 0,
              'maximum_delay_retries': 0, 'minimum_delay': 0,
              'maximum_delay': 10}

    assert retry.delays(policy) == [0.0, 5.0]  # the backoff phase only


@pytest.mark.parametrize('function,expected', [
    ('linear', [5, 10, 15, 20, 25]),
    ('arithmetic', [5, 7.5, 12.5, 20, 30]),
    ('geometric', [5, 7.825, 12.247, 19.168, 30]),
    ('exponential', [5, 6.667, 10, 16.667, 30]),
])
def test_backoff_between_the_defaults(function, expected):
    assert retry.backoff(function, 5, 30) == expected


@pytest.mark.parametrize('function', sorted(retry.BACKOFF_FUNCTIONS))
@pytest.mark.parametrize('low,high', [(0, 10), (5, 30), (3, 17), (10, 300),
                                      (0, 3600), (60, retry.MAX_DELAY)])
def test_backoff_shape(function, low, high):
    steps = retry.backoff(function, low, high)

    assert steps == sorted(steps)
    assert all(low <= step <= high for step in steps)
    if function == 'linear':
        # Every 5 s from the minimum, below the maximum (upstream's range).
        assert steps == [float(s) for s in range(low, high, 5)]
        return
    assert len(steps) == (high - low) // retry.BACKOFF_STEP
    assert steps[-1] == high
    assert steps[0] == (low if function != 'geometric' else max(low, 1))
    gaps = [b - a for a, b in zip(steps, steps[1:], strict=False)]
    # Every backoff makes the gaps grow (within rounding).
    assert all(later >= earlier - 0.002
               for earlier, later in zip(gaps, gaps[1:], strict=False))


def test_arithmetic_gaps_grow_by_a_constant():
    steps = retry.backoff('arithmetic', 0, 60)
    gaps = [b - a for a, b in zip(steps, steps[1:], strict=False)]

    increments = {round(b - a, 2) for a, b in zip(gaps, gaps[1:],
                                                  strict=False)}
    assert len(increments) == 1


def test_geometric_has_a_constant_ratio():
    steps = retry.backoff('geometric', 4, 64)
    ratios = {round(b / a, 2) for a, b in zip(steps, steps[1:], strict=False)}

    assert len(ratios) == 1


def test_exponential_gaps_double():
    steps = retry.backoff('exponential', 0, 35)  # 7 steps
    gaps = [b - a for a, b in zip(steps, steps[1:], strict=False)]

    assert [round(b / a, 2) for a, b in zip(gaps, gaps[1:], strict=False)] \
        == [2.0] * 5


def test_the_largest_policy_stays_small():
    policy = {'retries_with_no_delay': retry.MAX_RETRIES,
              'minimum_delay_retries': retry.MAX_RETRIES,
              'maximum_delay_retries': retry.MAX_RETRIES,
              'minimum_delay': 0, 'maximum_delay': retry.MAX_DELAY,
              'retry_backoff_function': 'exponential'}

    retry.validate(policy)
    delays = retry.delays(policy)
    assert len(delays) == 3 * retry.MAX_RETRIES + retry.MAX_DELAY // 5
    assert delays[-1] == retry.MAX_DELAY


def test_delays_of_garbage_are_the_defaults():
    assert retry.delays({'minimum_delay': 'soon', 'maximum_delay': -1}) == \
        DEFAULT_DELAYS


# Queue metadata


def test_queue_metadata_checks_the_policy(conf):
    metadata.validate(conf, {'_retry_policy': {'minimum_delay': 10,
                                               'maximum_delay': 60}})
    metadata.validate(conf, {'_retry_policy': None})

    with pytest.raises(errors.BadRequest) as error:
        metadata.validate(conf, {'_retry_policy': {'minimum_delay': 40}})

    assert str(error.value) == \
        'minimum_delay must be less than maximum_delay.'
