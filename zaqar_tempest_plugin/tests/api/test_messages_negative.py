"""Messages: requests the API refuses."""

import uuid

from tempest.lib import decorators
from tempest.lib import exceptions as lib_exc

from zaqar_tempest_plugin.tests import base


class MessagesNegativeTest(base.BaseMessagingTest):

    @classmethod
    def resource_setup(cls):
        super().resource_setup()
        cls.queue = cls.queue_name()
        cls.messages.post(cls.queue, [{'body': 'seed'}])
        cls.addClassResourceCleanup(cls.queues.delete, cls.queue)

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('0e1d6e04-3bf0-49ff-afdd-51ec53bfe2fa')
    def test_post_to_invalid_queue_name(self):
        self.assertRaises(lib_exc.BadRequest, self.messages.post,
                          'bad$queue', [{'body': 1}])

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('f9edb66a-2c5d-4b7c-bf49-17330dd50f5d')
    def test_post_malformed_batches(self):
        for body in ({}, {'messages': []}, {'messages': {'body': 1}},
                     [{'body': 1}], {'messages': [{'ttl': 60}]}):
            self.assertRaises(lib_exc.BadRequest, self.messages.post_body,
                              self.queue, body)

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('a7e9e1a9-ddc0-405d-a84b-ad69264655b3')
    def test_post_with_ttl_out_of_range(self):
        for ttl in (59, self.limits().max_message_ttl + 1, 'sixty'):
            self.assertRaises(lib_exc.BadRequest, self.messages.post,
                              self.queue, [{'body': 1, 'ttl': ttl}])

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('44d39a9a-5b0f-4eaf-a06c-902b56beebd0')
    def test_post_too_large(self):
        size = self.limits().max_messages_post_size
        self.assertRaises(lib_exc.BadRequest, self.messages.post,
                          self.queue, [{'body': 'x' * size}])

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('70fb4b9e-322f-4287-b277-5122176019db')
    def test_list_with_limit_out_of_range(self):
        for limit in (0, self.limits().max_messages_per_page + 1):
            self.assertRaises(lib_exc.BadRequest, self.messages.list,
                              self.queue, limit=limit)

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('26c57a3b-3f9b-4078-9092-2b1e336a0f63')
    def test_show_missing_message(self):
        self.assertRaises(lib_exc.NotFound, self.messages.show, self.queue,
                          'doesnotexist')
        self.assertRaises(lib_exc.NotFound, self.messages.show,
                          self.queue_name(), 'doesnotexist')

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('9dc5aad9-920c-4648-a8eb-6aca9395e06d')
    def test_show_by_ids_none_found(self):
        self.assertRaises(lib_exc.NotFound, self.messages.show_many,
                          self.queue, ['nope1', 'nope2'])

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('83f69c6f-d03f-4634-80c0-9a7aa5e7d2e2')
    def test_too_many_ids(self):
        ids = [uuid.uuid4().hex
               for _ in range(self.limits().max_messages_per_page + 1)]
        self.assertRaises(lib_exc.BadRequest, self.messages.show_many,
                          self.queue, ids)
        self.assertRaises(lib_exc.BadRequest, self.messages.delete_many,
                          self.queue, ids=ids)

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('153d118c-1710-43e8-9bd4-f4c617a811c7')
    def test_bulk_delete_needs_ids_or_pop_not_both(self):
        self.assertRaises(lib_exc.BadRequest, self.messages.delete_many,
                          self.queue)
        self.assertRaises(lib_exc.BadRequest, self.messages.delete_many,
                          self.queue, ids=['a'], pop=1)

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('1f456c18-50bf-4ca8-8d17-9b1ad718996f')
    def test_pop_out_of_range(self):
        for pop in (0, self.limits().max_messages_per_claim_or_pop + 1):
            self.assertRaises(lib_exc.BadRequest, self.messages.delete_many,
                              self.queue, pop=pop)

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('83d31168-44aa-4f4e-acf7-6e000c3b4d3e')
    def test_delete_claimed_message_without_its_claim(self):
        name = self.create_queue()
        [message_id] = self.post_messages(name)
        claim_id, _ = self.claim(name)
        self.assertRaises(lib_exc.Forbidden, self.messages.delete, name,
                          message_id)
        self.assertRaises(lib_exc.BadRequest, self.messages.delete, name,
                          message_id, claim_id='0' * 32)
        self.messages.delete(name, message_id, claim_id=claim_id)

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('a72eed2d-c210-442c-a6e0-42a3fcf40f98')
    def test_delete_unclaimed_message_with_a_claim_id(self):
        name = self.create_queue()
        [message_id] = self.post_messages(name)
        self.assertRaises(lib_exc.BadRequest, self.messages.delete, name,
                          message_id, claim_id='0' * 32)

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('efe31141-f783-4cb9-a0d4-eb196590802e')
    def test_request_without_client_id(self):
        self.assertRaises(lib_exc.BadRequest, self.messages.call, 'GET',
                          self.messages.path(self.queue),
                          headers={'Client-ID': ''})
        self.assertRaises(lib_exc.BadRequest, self.messages.call, 'GET',
                          self.messages.path(self.queue),
                          headers={'Client-ID': 'not-a-uuid'})
