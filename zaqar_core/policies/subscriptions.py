"""Subscriptions: policy rules (upstream names and defaults)."""

from zaqar_core.policies import base

_SUBSCRIPTIONS = '/v2/queues/{queue_name}/subscriptions'
_SUBSCRIPTION = _SUBSCRIPTIONS + '/{subscription_id}'

rules = [
    base.rule('subscription:get_all', 'GET', _SUBSCRIPTIONS,
              'List subscriptions.'),
    base.rule('subscription:create', 'POST', _SUBSCRIPTIONS,
              'Create a subscription.'),
    base.rule('subscription:get', 'GET', _SUBSCRIPTION,
              'Show a subscription.'),
    base.rule('subscription:delete', 'DELETE', _SUBSCRIPTION,
              'Delete a subscription.'),
    base.rule('subscription:update', 'PATCH', _SUBSCRIPTION,
              'Update a subscription.'),
    base.rule('subscription:confirm', 'PUT', _SUBSCRIPTION + '/confirm',
              'Confirm a subscription.'),
]


def list_rules() -> list:
    return rules
