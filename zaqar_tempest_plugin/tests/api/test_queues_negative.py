"""Queues: requests the API refuses."""

import json

from tempest.lib import decorators
from tempest.lib import exceptions as lib_exc

from zaqar_tempest_plugin.tests import base


class QueuesNegativeTest(base.BaseMessagingTest):

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('ecdf7d60-90c0-4daa-8c93-1ea048e4b66b')
    def test_create_queue_with_name_too_long(self):
        self.assertRaises(lib_exc.BadRequest, self.queues.create, 'q' * 65)

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('2ec77c84-ce6f-4a24-8518-3ad43b5031e1')
    def test_create_queue_with_invalid_characters(self):
        for name in ('bad$name', 'bad name', 'caf\u00e9'):
            self.assertRaises(lib_exc.BadRequest, self.queues.create, name)

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('d8ba07ce-e625-4c40-a373-d4f922abc015')
    def test_create_queue_with_invalid_reserved_metadata(self):
        for metadata in ({'_default_message_ttl': 59},
                         {'_default_message_delay':
                          self.limits().max_message_delay + 1},
                         {'_max_messages_post_size': 0},
                         {'_enable_encrypt_messages': 'yes'}):
            self.assertRaises(lib_exc.BadRequest, self.queues.create,
                              self.queue_name(), metadata)

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('3af209cd-2b07-40fd-b234-2175054aba99')
    def test_create_queue_with_metadata_too_large(self):
        size = self.limits().max_queue_metadata
        metadata = {'blob': 'x' * size}
        self.assertGreater(len(json.dumps(metadata)), size)
        self.assertRaises(lib_exc.BadRequest, self.queues.create,
                          self.queue_name(), metadata)

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('270bd1e2-87fd-40e9-9a74-c4b142c12e1c')
    def test_list_queues_with_limit_out_of_range(self):
        for limit in (0, self.limits().max_queues_per_page + 1):
            self.assertRaises(lib_exc.BadRequest, self.queues.list,
                              limit=limit)

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('cc56e085-96f2-4b65-84d7-a426b3da54c4')
    def test_list_queues_with_non_boolean_detailed(self):
        self.assertRaises(lib_exc.BadRequest, self.queues.list,
                          detailed='maybe')

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('d0ea0ba1-e433-4f91-89fb-69f3bbb80fd5')
    def test_update_queue_with_wrong_media_type(self):
        name = self.create_queue()
        self.assertRaises(
            lib_exc.InvalidContentType, self.queues.update, name,
            [{'op': 'add', 'path': '/metadata/a', 'value': 1}],
            content_type='application/json')

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('0c0c1042-2aaf-46ae-872d-a14158312e21')
    def test_update_queue_with_invalid_operations(self):
        name = self.create_queue()
        for operations in ([{'op': 'move', 'path': '/metadata/a'}],
                           [{'op': 'add', 'path': '/a', 'value': 1}],
                           [{'op': 'add', 'path': '/metadata/a'}],
                           {'op': 'add', 'path': '/metadata/a', 'value': 1},
                           []):
            self.assertRaises(lib_exc.BadRequest, self.queues.update, name,
                              operations)

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('89437506-c0be-4b5f-a5f8-582edff7f784')
    def test_replace_or_remove_missing_metadata_key(self):
        name = self.create_queue()
        for operation in ({'op': 'replace', 'path': '/metadata/nope',
                           'value': 1},
                          {'op': 'remove', 'path': '/metadata/nope'}):
            self.assertRaises(lib_exc.Conflict, self.queues.update, name,
                              [operation])

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('2391c6db-1aed-45a8-b5bd-e4c5fdc8ce44')
    def test_update_missing_queue(self):
        self.assertRaises(
            lib_exc.NotFound, self.queues.update, self.queue_name(),
            [{'op': 'add', 'path': '/metadata/a', 'value': 1}])

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('5fd27c77-2fea-4b6f-ae49-49f36cb2eb9c')
    def test_purge_with_unknown_resource_type(self):
        name = self.create_queue()
        self.assertRaises(lib_exc.BadRequest, self.queues.purge, name,
                          ['claims'])
