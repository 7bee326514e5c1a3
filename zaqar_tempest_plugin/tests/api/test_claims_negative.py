"""Claims: requests the API refuses."""

from tempest.lib import decorators
from tempest.lib import exceptions as lib_exc

from zaqar_tempest_plugin.tests import base


class ClaimsNegativeTest(base.BaseMessagingTest):

    @classmethod
    def resource_setup(cls):
        super().resource_setup()
        cls.queue = cls.queue_name()
        cls.messages.post(cls.queue, [{'body': i} for i in range(3)])
        cls.addClassResourceCleanup(cls.queues.delete, cls.queue)

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('3948b7ed-87ed-45cf-8c33-f473a8385aa2')
    def test_claim_with_ttl_out_of_range(self):
        for ttl in (59, self.limits().max_claim_ttl + 1, 'long'):
            self.assertRaises(lib_exc.BadRequest, self.claims.claim,
                              self.queue, {'ttl': ttl, 'grace': 60})

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('d50b88e6-078b-4639-b3e6-961616aadf78')
    def test_claim_with_grace_out_of_range(self):
        for grace in (59, self.limits().max_claim_grace + 1):
            self.assertRaises(lib_exc.BadRequest, self.claims.claim,
                              self.queue, {'ttl': 60, 'grace': grace})

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('eea20a72-477f-42ec-b241-93d79bd8148f')
    def test_claim_with_limit_out_of_range(self):
        for limit in (0, self.limits().max_messages_per_claim_or_pop + 1):
            self.assertRaises(lib_exc.BadRequest, self.claims.claim,
                              self.queue, {'ttl': 60}, limit)

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('54239e85-52a4-4742-a7d8-9f805de3e117')
    def test_claim_with_non_object_body(self):
        self.assertRaises(lib_exc.BadRequest, self.claims.claim,
                          self.queue, [{'ttl': 60}])

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('b3a757de-9c50-4f4a-a47a-1ae8651b9f55')
    def test_query_unknown_claim(self):
        self.assertRaises(lib_exc.NotFound, self.claims.show, self.queue,
                          'a' * 32)

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('9a6ce513-7c3a-478e-b4dd-84c2de021149')
    def test_update_unknown_claim(self):
        self.assertRaises(lib_exc.NotFound, self.claims.update, self.queue,
                          'a' * 32, {'ttl': 100})

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('6f32b50c-5a78-4d6d-af7f-938452eb6f05')
    def test_update_claim_with_invalid_ttl(self):
        name = self.create_queue()
        self.post_messages(name)
        claim_id, _ = self.claim(name)
        for body in ({'ttl': 59}, {'ttl': self.limits().max_claim_ttl + 1}):
            self.assertRaises(lib_exc.BadRequest, self.claims.update, name,
                              claim_id, body)
