"""Messages: post, list (echo, paging, claimed, delayed), get, delete,
pop."""

from tempest.lib import decorators
from tempest.lib import exceptions as lib_exc

from zaqar_tempest_plugin.tests import base


class MessagesTest(base.BaseMessagingTest):

    @decorators.idempotent_id('050694db-7bf4-4039-903c-0c32484250c0')
    def test_post_messages_creates_the_queue(self):
        name = self.queue_name()
        self.addCleanup(self.queues.delete, name)
        resp = self.messages.post(name, [{'body': 'one', 'ttl': 120},
                                         {'body': {'two': [2]}}])
        self.assertEqual(201, resp.response.status)
        self.assertEqual(2, len(resp['resources']))
        ids = ','.join(r.rsplit('/', 1)[-1] for r in resp['resources'])
        self.assertEqual(f'/v2/queues/{name}/messages?ids={ids}',
                         resp.response['location'])
        self.assertIn(name, [q['name'] for q in self.queues.list()['queues']])

    @decorators.idempotent_id('6ed82ed0-f64b-442c-9ad4-fcdf7fadbbf3')
    def test_show_message(self):
        name = self.create_queue()
        [message_id] = self.post_messages(name, ttl=120)
        message = self.messages.show(name, message_id)
        self.assertEqual(message_id, message['id'])
        self.assertEqual({'n': 0}, message['body'])
        self.assertEqual(120, message['ttl'])
        self.assertEqual(f'/v2/queues/{name}/messages/{message_id}',
                         message['href'])

    @decorators.idempotent_id('bcc5c7a2-9eae-4249-bb0a-d4b1d0ec3402')
    def test_default_ttl_comes_from_queue_metadata(self):
        name = self.create_queue({'_default_message_ttl': 90})
        resp = self.messages.post(name, [{'body': 1}])
        [href] = resp['resources']
        self.assertEqual(90, self.messages.show_href(href)['ttl'])

    @decorators.idempotent_id('6994e75f-4a77-4a3c-81fe-c21d32b3a614')
    def test_show_messages_by_ids_skips_missing_ones(self):
        name = self.create_queue()
        ids = self.post_messages(name, 3)
        found = self.messages.show_many(name, [ids[0], ids[2], 'nope'])
        self.assertEqual({ids[0], ids[2]},
                         {m['id'] for m in found['messages']})

    @decorators.idempotent_id('35c18b9a-8f27-47eb-984c-303320877b31')
    def test_list_hides_own_messages_unless_echo(self):
        name = self.create_queue()
        self.post_messages(name, 2)
        self.assertEqual([], self.messages.list(name)['messages'])
        self.assertEqual(2, len(self.messages.list(name, echo=True)
                                ['messages']))
        # Another client (Client-ID) of the same project sees them.
        other = self.clients.MessagesClient()
        self.assertEqual(2, len(other.list(name)['messages']))

    @decorators.idempotent_id('efbf1a2f-85bf-408b-a6bf-64120a0de05f')
    def test_list_messages_follows_next_links(self):
        name = self.create_queue()
        ids = self.post_messages(name, 5)
        seen = []
        page = self.messages.list(name, echo=True, limit=2)
        while page['messages']:
            self.assertLessEqual(len(page['messages']), 2)
            seen += [m['id'] for m in page['messages']]
            page = self.messages.list_href(page['links'][0]['href'])
        self.assertEqual(ids, seen)
        self.assertEqual([], page['links'])

    @decorators.idempotent_id('1262b5fb-4715-4940-a8be-321a4f793f4c')
    def test_list_missing_queue_is_empty(self):
        page = self.messages.list(self.queue_name(), echo=True)
        self.assertEqual({'messages': [], 'links': []}, dict(page))

    @decorators.idempotent_id('eeae9387-f347-4ebe-81cb-85a8e1a13c18')
    def test_claimed_messages_listed_only_when_asked(self):
        name = self.create_queue()
        self.post_messages(name, 2)
        self.claim(name, limit=1)
        self.assertEqual(1, len(self.messages.list(name, echo=True)
                                ['messages']))
        listed = self.messages.list(name, echo=True, include_claimed=True)
        self.assertEqual(2, len(listed['messages']))
        claimed = [m for m in listed['messages'] if 'claim_id=' in m['href']]
        self.assertEqual(1, len(claimed))

    @decorators.idempotent_id('cd866d44-9ea3-4ba1-8e49-872960dbcbb4')
    def test_delayed_queue_hides_messages_until_due(self):
        name = self.create_queue({'_default_message_delay': 600})
        [delayed] = self.post_messages(name)
        [due] = self.post_messages(name, delay=0)
        listed = self.messages.list(name, echo=True)['messages']
        self.assertEqual([due], [m['id'] for m in listed])
        listed = self.messages.list(name, echo=True,
                                    include_delayed=True)['messages']
        self.assertEqual({due, delayed}, {m['id'] for m in listed})
        _, claimed = self.claim(name)
        self.assertEqual([due], [m['id'] for m in claimed])

    @decorators.idempotent_id('ff76161d-edb8-450e-87af-6042db2679f1')
    def test_delete_message_is_idempotent(self):
        name = self.create_queue()
        [message_id] = self.post_messages(name)
        self.messages.delete(name, message_id)
        self.assertRaises(lib_exc.NotFound, self.messages.show, name,
                          message_id)
        self.messages.delete(name, message_id)

    @decorators.idempotent_id('86d4b511-576e-4093-975b-e7108a8f5c37')
    def test_delete_messages_by_ids(self):
        name = self.create_queue()
        ids = self.post_messages(name, 3)
        self.messages.delete_many(name, ids=ids[:2])
        left = self.messages.list(name, echo=True)['messages']
        self.assertEqual([ids[2]], [m['id'] for m in left])

    @decorators.idempotent_id('b3726235-cc51-4104-b672-fe3766c1fd63')
    def test_pop_messages(self):
        name = self.create_queue()
        ids = self.post_messages(name, 3)
        popped = self.messages.delete_many(name, pop=2)['messages']
        self.assertEqual(ids[:2], [m['id'] for m in popped])
        self.assertEqual(1, self.queues.stats(name)['messages']['total'])
        self.messages.delete_many(name, pop=5)
        self.assertEqual([], self.messages.delete_many(name, pop=1)
                         ['messages'])

    @decorators.idempotent_id('95f17aa3-29ad-409f-821e-f77c6beadcbb')
    def test_message_bodies_of_any_json_type(self):
        name = self.create_queue()
        bodies = ['text', 42, 1.5, True, None, [1, 'two'],
                  {'nested': {'deep': ['x']}}, '\u00fcnicode \u2603']
        self.messages.post(name, [{'body': b} for b in bodies])
        listed = self.messages.list(name, echo=True, limit=20)['messages']
        self.assertEqual(bodies, [m['body'] for m in listed])

    @decorators.idempotent_id('4412f018-41b9-40a3-9d48-785cdd928a25')
    def test_encrypted_queue_returns_bodies_as_posted(self):
        name = self.create_queue({'_enable_encrypt_messages': True})
        bodies = ['text', {'k': ['v', 1]}, 7]
        resp = self.messages.post(name, [{'body': b} for b in bodies])
        ids = [href.rsplit('/', 1)[-1] for href in resp['resources']]
        listed = self.messages.list(name, echo=True)['messages']
        self.assertEqual(bodies, [m['body'] for m in listed])
        self.assertEqual(bodies[0], self.messages.show(name, ids[0])['body'])
        _, claimed = self.claim(name, limit=1)
        self.assertEqual(bodies[:1], [m['body'] for m in claimed])
        popped = self.messages.delete_many(name, pop=2)['messages']
        self.assertEqual(bodies[1:], [m['body'] for m in popped])
