"""Subscriptions: requests the API refuses."""

from tempest.lib import decorators
from tempest.lib import exceptions as lib_exc

from zaqar_tempest_plugin.tests import base

SUBSCRIBER = 'http://127.0.0.1:9/hook'


class SubscriptionsNegativeTest(base.BaseMessagingTest):

    @classmethod
    def resource_setup(cls):
        super().resource_setup()
        cls.queue = cls.queue_name()
        cls.queues.create(cls.queue)
        cls.addClassResourceCleanup(cls.queues.delete, cls.queue)
        cls.sub_id = cls.subscriptions.create(
            cls.queue, {'subscriber': SUBSCRIBER})['subscription_id']
        cls.addClassResourceCleanup(cls.subscriptions.delete, cls.queue,
                                    cls.sub_id)

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('37148927-3961-4cea-a073-4ce3e924e326')
    def test_create_with_invalid_bodies(self):
        for body in ({}, {'ttl': 600},
                     {'subscriber': 'ftp://127.0.0.1/x'},
                     {'subscriber': 'not a uri'},
                     {'subscriber': SUBSCRIBER + '/2', 'ttl': 59},
                     {'subscriber': SUBSCRIBER + '/2', 'ttl': 'long'},
                     {'subscriber': SUBSCRIBER + '/2', 'options': []}):
            self.assertRaises(lib_exc.BadRequest, self.subscriptions.create,
                              self.queue, body)

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('aeacb1cb-9ef4-46bc-a049-8e22171546bf')
    def test_create_on_invalid_queue_name(self):
        self.assertRaises(lib_exc.BadRequest, self.subscriptions.create,
                          'bad$queue', {'subscriber': SUBSCRIBER})

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('36a18486-b6cf-4581-9668-e33dd4bdf90b')
    def test_create_with_confirmed_duplicate_subscriber(self):
        name = self.create_queue()
        sub_id = self.subscriptions.create(
            name, {'subscriber': SUBSCRIBER})['subscription_id']
        self.subscriptions.confirm(name, sub_id, True)
        self.assertRaises(lib_exc.Conflict, self.subscriptions.create, name,
                          {'subscriber': SUBSCRIBER})

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('36ea2d68-271b-4759-9bb2-29c1c04e36a3')
    def test_show_unknown_subscription(self):
        self.assertRaises(lib_exc.NotFound, self.subscriptions.show,
                          self.queue, 'a' * 32)

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('790c781c-74d5-44a1-a2c1-f12d099f0bf5')
    def test_show_subscription_under_another_queue(self):
        self.assertRaises(lib_exc.NotFound, self.subscriptions.show,
                          self.queue_name(), self.sub_id)

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('99559cd5-4747-4bc2-971b-30d6e790569d')
    def test_update_unknown_subscription(self):
        self.assertRaises(lib_exc.NotFound, self.subscriptions.update,
                          self.queue, 'a' * 32, {'ttl': 600})

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('2276944f-6e1a-4fbb-b2ae-d4d89b8458fa')
    def test_update_with_invalid_bodies(self):
        for body in ({}, [{'ttl': 600}], {'ttl': 10},
                     {'subscriber': 'ftp://127.0.0.1/x'}):
            self.assertRaises(lib_exc.BadRequest, self.subscriptions.update,
                              self.queue, self.sub_id, body)

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('87b6f8c0-3e29-46e7-b899-a504f978aac6')
    def test_update_to_a_subscriber_already_used(self):
        other = SUBSCRIBER + '/other'
        other_id = self.subscriptions.create(
            self.queue, {'subscriber': other})['subscription_id']
        self.addCleanup(self.subscriptions.delete, self.queue, other_id)
        self.assertRaises(lib_exc.Conflict, self.subscriptions.update,
                          self.queue, self.sub_id, {'subscriber': other})

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('f0b51d12-e6e1-4646-8cf9-2debfd878e1b')
    def test_list_with_limit_out_of_range(self):
        for limit in (0, self.limits().max_subscriptions_per_page + 1):
            self.assertRaises(lib_exc.BadRequest, self.subscriptions.list,
                              self.queue, limit=limit)

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('7f5665b8-230c-4e4c-a8b5-2f79aa583c78')
    def test_confirm_with_non_boolean(self):
        self.assertRaises(lib_exc.BadRequest, self.subscriptions.confirm,
                          self.queue, self.sub_id, 'yes')

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('7b22bb18-638b-4bb6-8de1-f25ef4508594')
    def test_confirm_unknown_subscription(self):
        self.assertRaises(lib_exc.NotFound, self.subscriptions.confirm,
                          self.queue, 'a' * 32, True)
