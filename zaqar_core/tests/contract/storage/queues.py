"""The queue catalogue contract."""

from __future__ import annotations

import pytest

from zaqar_core.storage import errors
from zaqar_core.storage.stores import Stores
from zaqar_core.tests.contract.storage.helpers import OTHER_PROJECT
from zaqar_core.tests.contract.storage.helpers import PROJECT
from zaqar_core.tests.contract.storage.helpers import QUEUE


class QueueControllerContract:
    def test_create_tells_whether_it_created(self, stores: Stores) -> None:
        assert stores.queues.create(PROJECT, QUEUE) is True
        assert stores.queues.create(PROJECT, QUEUE) is False

    def test_create_never_changes_an_existing_queue(self, stores: Stores
                                                    ) -> None:
        stores.queues.create(PROJECT, QUEUE, {'colour': 'red'})
        stores.queues.create(PROJECT, QUEUE, {'colour': 'blue'})
        assert stores.queues.get_metadata(PROJECT, QUEUE) == {
            'colour': 'red'}

    def test_metadata_round_trips(self, stores: Stores) -> None:
        metadata = {'_default_message_ttl': 300, 'ünïcode': '✓',
                    'nested': {'list': [1, 'two', None, True, 2.5]}}
        stores.queues.create(PROJECT, QUEUE, metadata)
        assert stores.queues.get_metadata(PROJECT, QUEUE) == metadata

    def test_create_without_metadata_stores_an_empty_document(
            self, stores: Stores) -> None:
        stores.queues.create(PROJECT, QUEUE)
        assert stores.queues.get_metadata(PROJECT, QUEUE) == {}

    def test_get_metadata_of_a_missing_queue_raises(self, stores: Stores
                                                    ) -> None:
        with pytest.raises(errors.QueueDoesNotExist):
            stores.queues.get_metadata(PROJECT, QUEUE)

    def test_set_metadata_replaces_the_whole_document(self, stores: Stores
                                                      ) -> None:
        stores.queues.create(PROJECT, QUEUE, {'a': 1, 'b': 2})
        stores.queues.set_metadata(PROJECT, QUEUE, {'c': 3})
        assert stores.queues.get_metadata(PROJECT, QUEUE) == {'c': 3}

    def test_set_metadata_of_a_missing_queue_raises(self, stores: Stores
                                                    ) -> None:
        with pytest.raises(errors.QueueDoesNotExist):
            stores.queues.set_metadata(PROJECT, QUEUE, {'a': 1})
        assert stores.queues.count(PROJECT) == 0

    def test_delete_removes_the_queue(self, stores: Stores) -> None:
        stores.queues.create(PROJECT, QUEUE)
        stores.queues.delete(PROJECT, QUEUE)
        with pytest.raises(errors.QueueDoesNotExist):
            stores.queues.get_metadata(PROJECT, QUEUE)
        assert stores.queues.create(PROJECT, QUEUE) is True

    def test_delete_of_a_missing_queue_is_fine(self, stores: Stores) -> None:
        stores.queues.delete(PROJECT, QUEUE)
        assert stores.queues.count(PROJECT) == 0

    def test_list_is_sorted_by_name(self, stores: Stores) -> None:
        for name in ('charlie', 'alpha', 'delta', 'bravo'):
            stores.queues.create(PROJECT, name)
        assert [q['name'] for q in stores.queues.list(PROJECT)] == [
            'alpha', 'bravo', 'charlie', 'delta']

    def test_list_pages_after_the_marker(self, stores: Stores) -> None:
        for name in ('alpha', 'bravo', 'charlie', 'delta', 'echo'):
            stores.queues.create(PROJECT, name)
        first = stores.queues.list(PROJECT, limit=2)
        second = stores.queues.list(PROJECT, first[-1]['name'], limit=2)
        third = stores.queues.list(PROJECT, second[-1]['name'], limit=2)
        assert [q['name'] for q in first + second + third] == [
            'alpha', 'bravo', 'charlie', 'delta', 'echo']
        assert stores.queues.list(PROJECT, 'echo') == []

    def test_list_marker_need_not_name_a_queue(self, stores: Stores) -> None:
        for name in ('alpha', 'charlie'):
            stores.queues.create(PROJECT, name)
        assert stores.queues.list(PROJECT, 'bravo') == [{'name': 'charlie'}]

    def test_list_gives_names_only_unless_detailed(self, stores: Stores
                                                   ) -> None:
        stores.queues.create(PROJECT, QUEUE, {'a': 1})
        assert stores.queues.list(PROJECT) == [{'name': QUEUE}]
        assert stores.queues.list(PROJECT, detailed=True) == [
            {'name': QUEUE, 'metadata': {'a': 1}}]

    def test_count_counts_the_queues(self, stores: Stores) -> None:
        for name in ('alpha', 'bravo', 'charlie'):
            stores.queues.create(PROJECT, name)
        stores.queues.delete(PROJECT, 'bravo')
        assert stores.queues.count(PROJECT) == 2

    def test_names_are_case_sensitive(self, stores: Stores) -> None:
        assert stores.queues.create(PROJECT, 'jobs', {'v': 'lower'})
        assert stores.queues.create(PROJECT, 'Jobs', {'v': 'upper'})
        assert stores.queues.get_metadata(PROJECT, 'jobs') == {'v': 'lower'}

    def test_same_name_in_two_projects_is_two_queues(self, stores: Stores
                                                     ) -> None:
        assert stores.queues.create(PROJECT, QUEUE, {'owner': 'a'})
        assert stores.queues.create(OTHER_PROJECT, QUEUE, {'owner': 'b'})
        stores.queues.delete(OTHER_PROJECT, QUEUE)
        assert stores.queues.get_metadata(PROJECT, QUEUE) == {'owner': 'a'}

    def test_list_and_count_see_one_project(self, stores: Stores) -> None:
        stores.queues.create(PROJECT, 'alpha')
        stores.queues.create(OTHER_PROJECT, 'bravo')
        assert stores.queues.list(PROJECT) == [{'name': 'alpha'}]
        assert stores.queues.count(OTHER_PROJECT) == 1
