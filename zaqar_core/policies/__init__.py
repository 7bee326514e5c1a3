"""Policy rules in code, one module per resource (upstream rule names and
defaults, so existing policy.yaml files keep working); the
``oslo.policy.policies`` entry point lists them all."""

import itertools

from zaqar_core.policies import base
from zaqar_core.policies import claims
from zaqar_core.policies import flavors
from zaqar_core.policies import health
from zaqar_core.policies import messages
from zaqar_core.policies import pools
from zaqar_core.policies import queues
from zaqar_core.policies import subscriptions
from zaqar_core.policies import topics


def list_rules() -> list:
    return list(itertools.chain(
        base.list_rules(), queues.list_rules(), messages.list_rules(),
        claims.list_rules(), subscriptions.list_rules(),
        topics.list_rules(), pools.list_rules(), flavors.list_rules(),
        health.list_rules()))
