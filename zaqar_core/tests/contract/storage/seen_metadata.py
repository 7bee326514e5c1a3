"""Posts and claims on the condition that the queue's metadata is what the
caller read (``post_counting_subscriptions(..., seen_metadata=text)``,
``claims.create(..., seen_metadata=text)``), where the data store holds
the queue catalogue too.

Part of :class:`MessageControllerContract`.
"""

from __future__ import annotations

import json

import pytest

from zaqar_core.storage import errors
from zaqar_core.storage.stores import Stores
from zaqar_core.tests.contract.storage.helpers import CLIENT
from zaqar_core.tests.contract.storage.helpers import PROJECT
from zaqar_core.tests.contract.storage.helpers import QUEUE
from zaqar_core.tests.contract.storage.helpers import new_message
from zaqar_core.tests.contract.storage.post_once import bodies


def post_seen(stores: Stores, text: str, body: object):
    return stores.messages.post_counting_subscriptions(
        PROJECT, QUEUE, [new_message(body)], CLIENT, seen_metadata=text)


class SeenMetadataContract:
    def test_the_store_checks_its_own_catalogue(self, stores: Stores
                                                ) -> None:
        # Every store of the contract keeps both in one place.
        assert stores.data.checks_metadata_of(stores.control)

    def test_a_post_on_the_metadata_read_is_stored(self, stores: Stores
                                                   ) -> None:
        stores.queues.create(PROJECT, QUEUE, {'_default_message_ttl': 60})
        text = stores.queues.get_metadata_text(PROJECT, QUEUE)
        assert json.loads(text) == {'_default_message_ttl': 60}
        assert len(post_seen(stores, text, 1).ids) == 1
        assert len(post_seen(stores, text, 2).ids) == 1
        assert bodies(stores) == [1, 2]

    def test_a_post_on_changed_metadata_stores_nothing(
            self, stores: Stores) -> None:
        stores.queues.create(PROJECT, QUEUE, {'a': 1})
        text = stores.queues.get_metadata_text(PROJECT, QUEUE)
        stores.queues.set_metadata(PROJECT, QUEUE, {'a': 2})
        with pytest.raises(errors.MetadataChanged) as raised:
            post_seen(stores, text, 1)
        assert raised.value.text == stores.queues.get_metadata_text(
            PROJECT, QUEUE)
        assert json.loads(raised.value.text) == {'a': 2}
        assert bodies(stores) == []
        assert len(post_seen(stores, raised.value.text, 2).ids) == 1
        assert bodies(stores) == [2]

    def test_a_post_to_a_deleted_queue_stores_nothing(
            self, stores: Stores) -> None:
        stores.queues.create(PROJECT, QUEUE)
        text = stores.queues.get_metadata_text(PROJECT, QUEUE)
        stores.queues.delete(PROJECT, QUEUE)
        with pytest.raises(errors.MetadataChanged) as raised:
            post_seen(stores, text, 1)
        assert raised.value.text is None
        assert bodies(stores) == []

    def test_a_claim_on_changed_metadata_takes_nothing(
            self, stores: Stores) -> None:
        stores.queues.create(PROJECT, QUEUE, {'a': 1})
        text = stores.queues.get_metadata_text(PROJECT, QUEUE)
        post_seen(stores, text, 1)
        stores.queues.set_metadata(PROJECT, QUEUE, {'a': 2})
        with pytest.raises(errors.MetadataChanged) as raised:
            stores.claims.create(PROJECT, QUEUE, 60, 60, 10,
                                 seen_metadata=text)
        assert json.loads(raised.value.text) == {'a': 2}
        claim_id, claimed, _ = stores.claims.create(
            PROJECT, QUEUE, 60, 60, 10, seen_metadata=raised.value.text)
        assert claim_id is not None
        assert [m['body'] for m in claimed] == [1]

    def test_a_claim_on_a_deleted_queue_takes_nothing(
            self, stores: Stores) -> None:
        stores.queues.create(PROJECT, QUEUE)
        text = stores.queues.get_metadata_text(PROJECT, QUEUE)
        post_seen(stores, text, 1)
        stores.queues.delete(PROJECT, QUEUE)
        with pytest.raises(errors.MetadataChanged) as raised:
            stores.claims.create(PROJECT, QUEUE, 60, 60, 10,
                                 seen_metadata=text)
        assert raised.value.text is None
