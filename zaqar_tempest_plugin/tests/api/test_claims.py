"""Claims: claim, query, renew, release, and deleting claimed messages."""

from tempest.lib import decorators
from tempest.lib import exceptions as lib_exc

from zaqar_tempest_plugin.tests import base


class ClaimsTest(base.BaseMessagingTest):

    @decorators.idempotent_id('03cd7ef3-72b1-4536-acb0-59301c97a5fc')
    def test_claim_takes_oldest_free_messages(self):
        name = self.create_queue()
        ids = self.post_messages(name, 4)
        claim_id, claimed = self.claim(name, limit=3)
        self.assertEqual(ids[:3], [m['id'] for m in claimed])
        for message in claimed:
            self.assertTrue(message['href'].endswith(f'claim_id={claim_id}'))
        _, rest = self.claim(name)
        self.assertEqual(ids[3:], [m['id'] for m in rest])

    @decorators.idempotent_id('604a7f5d-44b5-4552-b616-d0430a89f40e')
    def test_claim_with_defaults(self):
        name = self.create_queue()
        self.post_messages(name, 12)
        resp = self.claims.claim(name)
        self.assertEqual(201, resp.response.status)
        self.assertEqual(10, len(resp['messages']))  # the default limit

    @decorators.idempotent_id('9361787a-6458-4fa7-bf68-0d86e9d6c25c')
    def test_claim_empty_or_missing_queue_gives_204(self):
        name = self.create_queue()
        for queue in (name, self.queue_name()):
            resp = self.claims.claim(queue, {'ttl': 60})
            self.assertEqual(204, resp.response.status)

    @decorators.idempotent_id('f0a7abd0-aa1f-486e-bfa1-4e9ea3bb2978')
    def test_query_claim(self):
        name = self.create_queue()
        ids = self.post_messages(name, 2)
        claim_id, _ = self.claim(name, ttl=120)
        claim = self.claims.show(name, claim_id)
        self.assertEqual(120, claim['ttl'])
        self.assertEqual(f'/v2/queues/{name}/claims/{claim_id}',
                         claim['href'])
        self.assertEqual(ids, [m['id'] for m in claim['messages']])

    @decorators.idempotent_id('726771ff-224c-46ea-a2ec-1310fb99e10c')
    def test_update_claim_sets_new_ttl(self):
        name = self.create_queue()
        self.post_messages(name)
        claim_id, _ = self.claim(name, ttl=60)
        resp = self.claims.update(name, claim_id, {'ttl': 600,
                                                   'grace': 120})
        self.assertEqual(204, resp.response.status)
        claim = self.claims.show(name, claim_id)
        self.assertEqual(600, claim['ttl'])
        self.assertLessEqual(claim['age'], 5)

    @decorators.idempotent_id('af9de7c2-decc-4b75-a676-0569443600db')
    def test_claim_raises_short_message_ttl(self):
        # A message must outlive its claim plus grace.
        name = self.create_queue()
        [message_id] = self.post_messages(name, ttl=60)
        self.claim(name, ttl=300, grace=60)
        self.assertGreaterEqual(self.messages.show(name, message_id)['ttl'],
                                360)

    @decorators.idempotent_id('5f0d608f-a2f6-4468-b3f7-6c573570d4d1')
    def test_release_claim_frees_messages(self):
        name = self.create_queue()
        ids = self.post_messages(name, 2)
        claim_id, _ = self.claim(name)
        self.assertEqual(204, self.claims.claim(name).response.status)
        self.claims.release(name, claim_id)
        self.assertRaises(lib_exc.NotFound, self.claims.show, name,
                          claim_id)
        _, again = self.claim(name)
        self.assertEqual(ids, [m['id'] for m in again])
        self.claims.release(name, claim_id)  # idempotent

    @decorators.idempotent_id('2eb1e2ab-3c07-4d38-a1d6-168d095dcc9d')
    def test_delete_claimed_messages_by_their_hrefs(self):
        name = self.create_queue()
        self.post_messages(name, 2)
        claim_id, claimed = self.claim(name)
        for message in claimed:
            self.messages.delete_href(message['href'])
        self.assertEqual(0, self.queues.stats(name)['messages']['total'])
        self.assertEqual([], self.claims.show(name, claim_id)['messages'])

    @decorators.idempotent_id('4acd2429-f5e2-4b59-a6c2-3bebd0f40194')
    def test_claims_are_not_listed_to_other_projects_queues(self):
        name = self.create_queue()
        self.post_messages(name)
        claim_id, _ = self.claim(name)
        self.assertRaises(lib_exc.NotFound, self.claims.show,
                          self.queue_name(), claim_id)

    @decorators.idempotent_id('05abe389-94b5-4a10-8b15-08d4b217cce4')
    def test_dead_letter_queue_takes_messages_claimed_too_often(self):
        dead = self.create_queue()
        name = self.create_queue({'_max_claim_count': 2,
                                  '_dead_letter_queue': dead,
                                  '_dead_letter_queue_messages_ttl': 600})
        [message_id] = self.post_messages(name)
        for _ in range(2):
            claim_id, claimed = self.claim(name)
            self.assertEqual([message_id], [m['id'] for m in claimed])
            self.claims.release(name, claim_id)
        self.assertEqual(204, self.claims.claim(name).response.status)
        self.assertEqual(0, self.queues.stats(name)['messages']['total'])
        [moved] = self.messages.list(dead, echo=True)['messages']
        self.assertEqual({'n': 0}, moved['body'])
        self.assertEqual(600, moved['ttl'])
