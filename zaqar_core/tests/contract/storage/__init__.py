"""The storage contract (:mod:`zaqar_core.storage.base`) as tests.

A driver's test module runs it by subclassing each ``*Contract`` class as
a ``Test*`` class and supplying two fixtures:

* ``stores``: a :class:`~zaqar_core.storage.stores.Stores` whose stores
  hold nothing yet (a fresh one for each test: ``gc`` counts every row);
* ``clock``: a :class:`FrozenClock` that the driver reads the time from
  for as long as the test runs, so expiry is tested without sleeping.

One test (``test_claim_expires_in_real_time``) sleeps instead, so that a
driver whose fake clock hides a second time source still fails.

:class:`SignalContract` and :class:`MessageControllerContract` (its
message id tests, :mod:`.message_ids`) need a third fixture,
``stores_elsewhere``: the pair ``(make_stores, uri)`` with which another
process opens the same stores (``make_stores`` picklable, as
:mod:`.processes` uses it).
"""

from zaqar_core.tests.contract.storage.claims import ClaimControllerContract
from zaqar_core.tests.contract.storage.claims import DeadLetterContract
from zaqar_core.tests.contract.storage.claims import claim_and_release
from zaqar_core.tests.contract.storage.claims import dead_letter
from zaqar_core.tests.contract.storage.concurrency import ConcurrencyContract
from zaqar_core.tests.contract.storage.concurrency import run_together
from zaqar_core.tests.contract.storage.gc import GarbageCollectionContract
from zaqar_core.tests.contract.storage.helpers import CLIENT
from zaqar_core.tests.contract.storage.helpers import DEAD_QUEUE
from zaqar_core.tests.contract.storage.helpers import LONG_TTL
from zaqar_core.tests.contract.storage.helpers import MALFORMED_IDS
from zaqar_core.tests.contract.storage.helpers import MALFORMED_MARKERS
from zaqar_core.tests.contract.storage.helpers import OTHER_CLIENT
from zaqar_core.tests.contract.storage.helpers import OTHER_PROJECT
from zaqar_core.tests.contract.storage.helpers import OTHER_QUEUE
from zaqar_core.tests.contract.storage.helpers import PROJECT
from zaqar_core.tests.contract.storage.helpers import QUEUE
from zaqar_core.tests.contract.storage.helpers import UNKNOWN_CLAIM_IDS
from zaqar_core.tests.contract.storage.helpers import FrozenClock
from zaqar_core.tests.contract.storage.helpers import claim
from zaqar_core.tests.contract.storage.helpers import drain
from zaqar_core.tests.contract.storage.helpers import everything
from zaqar_core.tests.contract.storage.helpers import exists
from zaqar_core.tests.contract.storage.helpers import listed
from zaqar_core.tests.contract.storage.helpers import new_message
from zaqar_core.tests.contract.storage.helpers import post
from zaqar_core.tests.contract.storage.messages import (
    MessageControllerContract,
)
from zaqar_core.tests.contract.storage.queues import QueueControllerContract
from zaqar_core.tests.contract.storage.signals import SignalContract
from zaqar_core.tests.contract.storage.subscriptions import (
    SubscriptionControllerContract,
)

__all__ = [
    'CLIENT',
    'ClaimControllerContract',
    'ConcurrencyContract',
    'DEAD_QUEUE',
    'DeadLetterContract',
    'FrozenClock',
    'GarbageCollectionContract',
    'LONG_TTL',
    'MALFORMED_IDS',
    'MALFORMED_MARKERS',
    'MessageControllerContract',
    'OTHER_CLIENT',
    'OTHER_PROJECT',
    'OTHER_QUEUE',
    'PROJECT',
    'QUEUE',
    'QueueControllerContract',
    'SignalContract',
    'SubscriptionControllerContract',
    'UNKNOWN_CLAIM_IDS',
    'claim',
    'claim_and_release',
    'dead_letter',
    'drain',
    'everything',
    'exists',
    'listed',
    'new_message',
    'post',
    'run_together',
]
