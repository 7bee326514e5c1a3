"""Posts made once (``post_counting_subscriptions(..., once=key)``) and
what an import carries per message.

Part of :class:`MessageControllerContract`.
"""

from __future__ import annotations

from zaqar_core.storage.stores import Stores
from zaqar_core.tests.contract.storage.helpers import CLIENT
from zaqar_core.tests.contract.storage.helpers import OTHER_CLIENT
from zaqar_core.tests.contract.storage.helpers import OTHER_PROJECT
from zaqar_core.tests.contract.storage.helpers import OTHER_QUEUE
from zaqar_core.tests.contract.storage.helpers import PROJECT
from zaqar_core.tests.contract.storage.helpers import QUEUE
from zaqar_core.tests.contract.storage.helpers import new_message


def bodies(stores: Stores) -> list:
    found, _ = stores.messages.list(PROJECT, QUEUE, limit=100, echo=True,
                                    include_claimed=True,
                                    include_delayed=True)
    return [m['body'] for m in found]


def post_once(stores: Stores, key: str, bodies: list, *,
              project: str = PROJECT, queue: str = QUEUE):
    return stores.messages.post_counting_subscriptions(
        project, queue, [new_message(b) for b in bodies], CLIENT, once=key)


class PostOnceContract:
    def test_a_key_is_posted_once(self, stores: Stores) -> None:
        first = post_once(stores, 'batch-1', [1, 2])
        assert first is not None and len(first.ids) == 2
        assert post_once(stores, 'batch-1', [1, 2]) is None
        assert bodies(stores) == [1, 2]

    def test_other_keys_queues_and_projects_are_apart(
            self, stores: Stores) -> None:
        post_once(stores, 'batch-1', [1])
        assert post_once(stores, 'batch-2', [2]) is not None
        assert post_once(stores, 'batch-1', [3],
                         queue=OTHER_QUEUE) is not None
        assert post_once(stores, 'batch-1', [4],
                         project=OTHER_PROJECT) is not None
        assert bodies(stores) == [1, 2]

    def test_a_key_outlives_purges(self, stores: Stores) -> None:
        post_once(stores, 'batch-1', [1])
        stores.messages.purge(PROJECT, QUEUE)
        assert post_once(stores, 'batch-1', [1]) is None
        assert bodies(stores) == []

    def test_a_key_alone_is_recorded(self, stores: Stores) -> None:
        assert post_once(stores, 'queue-made', []) is not None
        assert post_once(stores, 'queue-made', []) is None
        assert bodies(stores) == []

    def test_each_message_may_carry_its_poster(self, stores: Stores
                                               ) -> None:
        own = new_message('theirs')
        own['client_uuid'] = OTHER_CLIENT
        stores.messages.post(PROJECT, QUEUE, [own, new_message('mine')],
                             CLIENT)
        # Without echo, a client does not see what it posted.
        seen, _ = stores.messages.list(PROJECT, QUEUE, client_uuid=CLIENT)
        assert [m['body'] for m in seen] == ['theirs']
        seen, _ = stores.messages.list(PROJECT, QUEUE,
                                       client_uuid=OTHER_CLIENT)
        assert [m['body'] for m in seen] == ['mine']
