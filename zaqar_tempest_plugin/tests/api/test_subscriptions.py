"""Subscriptions: create, list, show, update, confirm, delete, and a
trust+http subscription delivering into another queue."""

import json

from tempest import config
from tempest.lib import decorators

from zaqar_tempest_plugin.tests import base

CONF = config.CONF

#: Nothing listens there: deliveries fail, which these tests ignore.
SUBSCRIBER = 'http://127.0.0.1:9/hook'


class SubscriptionsTest(base.BaseMessagingTest):

    def create_subscription(self, queue, subscriber=SUBSCRIBER, **extra):
        resp = self.subscriptions.create(queue, {'subscriber': subscriber,
                                                 **extra})
        self.addCleanup(self.subscriptions.delete, queue,
                        resp['subscription_id'])
        return resp

    @decorators.idempotent_id('a5fa731f-1936-4217-bbc2-0dd96b0a7d4c')
    def test_create_and_show_subscription(self):
        name = self.create_queue()
        resp = self.create_subscription(name, ttl=600,
                                        options={'post_headers': {'A': 'b'}})
        self.assertEqual(f'/v2/queues/{name}/subscriptions',
                         resp.response['location'])
        subscription = self.subscriptions.show(name, resp['subscription_id'])
        self.assertEqual(resp['subscription_id'], subscription['id'])
        self.assertEqual(name, subscription['source'])
        self.assertEqual(SUBSCRIBER, subscription['subscriber'])
        self.assertEqual(600, subscription['ttl'])
        self.assertEqual({'post_headers': {'A': 'b'}},
                         subscription['options'])
        self.assertFalse(subscription['confirmed'])

    @decorators.idempotent_id('5aee068c-6624-445d-bb29-6cad74be798d')
    def test_create_subscription_creates_the_queue(self):
        name = self.queue_name()
        self.addCleanup(self.queues.delete, name)
        self.create_subscription(name)
        self.assertIn(name, [q['name'] for q in self.queues.list()['queues']])

    @decorators.idempotent_id('e75f7999-2a93-4f16-bbf1-73fa234fcf14')
    def test_default_ttl(self):
        name = self.create_queue()
        resp = self.create_subscription(name)
        self.assertEqual(3600, self.subscriptions.show(
            name, resp['subscription_id'])['ttl'])

    @decorators.idempotent_id('a06d71bc-3bdd-4046-8471-07c5ec70a130')
    def test_duplicate_unconfirmed_subscriber_gives_same_id(self):
        name = self.create_queue()
        first = self.create_subscription(name)
        again = self.subscriptions.create(name, {'subscriber': SUBSCRIBER})
        self.assertEqual(201, again.response.status)
        self.assertEqual(first['subscription_id'], again['subscription_id'])

    @decorators.idempotent_id('c4995f00-4f06-42a1-ac48-33a0dde2c6c1')
    def test_list_subscriptions_follows_next_links(self):
        name = self.create_queue()
        ids = {self.create_subscription(name, subscriber=f'{SUBSCRIBER}/{i}')
               ['subscription_id'] for i in range(3)}
        seen = []
        page = self.subscriptions.list(name, limit=2)
        while page['subscriptions']:
            self.assertLessEqual(len(page['subscriptions']), 2)
            seen += [s['id'] for s in page['subscriptions']]
            page = self.subscriptions.list_href(page['links'][0]['href'])
        self.assertEqual(ids, set(seen))
        self.assertEqual(3, len(seen))

    @decorators.idempotent_id('2ec20c62-c005-4bf0-88ed-eed3b198f469')
    def test_list_subscriptions_of_missing_queue(self):
        page = self.subscriptions.list(self.queue_name())
        self.assertEqual([], page['subscriptions'])

    @decorators.idempotent_id('283071af-cca2-4396-a0fa-edf211fc7f4d')
    def test_update_subscription(self):
        name = self.create_queue()
        sub_id = self.create_subscription(name)['subscription_id']
        resp = self.subscriptions.update(name, sub_id, {
            'subscriber': 'mailto:ops@example.com', 'ttl': 900,
            'options': {'subject': 'hi'}})
        self.assertEqual(204, resp.response.status)
        subscription = self.subscriptions.show(name, sub_id)
        self.assertEqual('mailto:ops@example.com', subscription['subscriber'])
        self.assertEqual(900, subscription['ttl'])
        self.assertEqual({'subject': 'hi'}, subscription['options'])

    @decorators.idempotent_id('81b2efa9-1908-47ef-8369-1d60cc42007c')
    def test_confirm_and_unconfirm_subscription(self):
        name = self.create_queue()
        sub_id = self.create_subscription(name)['subscription_id']
        self.subscriptions.confirm(name, sub_id, True)
        self.assertTrue(self.subscriptions.show(name, sub_id)['confirmed'])
        self.subscriptions.confirm(name, sub_id, False)
        self.assertFalse(self.subscriptions.show(name, sub_id)['confirmed'])

    @decorators.idempotent_id('ece088d4-b2a1-412d-89f5-43b9448043d0')
    def test_delete_subscription_is_idempotent(self):
        name = self.create_queue()
        sub_id = self.subscriptions.create(
            name, {'subscriber': SUBSCRIBER})['subscription_id']
        self.subscriptions.delete(name, sub_id)
        self.assertEqual([], self.subscriptions.list(name)['subscriptions'])
        self.subscriptions.delete(name, sub_id)

    @decorators.idempotent_id('48dfac3b-c2a1-4854-a2c1-561fe8cb0114')
    def test_subscriptions_survive_their_queue(self):
        name = self.create_queue()
        sub_id = self.create_subscription(name)['subscription_id']
        self.queues.delete(name)
        self.assertEqual(sub_id, self.subscriptions.show(name, sub_id)['id'])


class TrustSubscriptionTest(base.BaseMessagingTest):

    @classmethod
    def skip_checks(cls):
        super().skip_checks()
        if not CONF.messaging.trust_notifications:
            raise cls.skipException('[messaging] trust_notifications is off')

    @decorators.idempotent_id('48284ab6-230a-42a4-8411-65b7a4e8524d')
    def test_trust_subscription_posts_into_another_queue(self):
        # Posting to the source queue makes the server post, with a token
        # of a trust to its trustee, to the target queue of the same user.
        source, target = self.create_queue(), self.create_queue()
        url = self.messages.url_for(f'/v2/queues/{target}/messages')
        post_data = json.dumps({'messages': [
            {'body': '$zaqar_message$', 'ttl': 60}]})
        resp = self.subscriptions.create(source, {
            'subscriber': f'trust+{url}', 'ttl': 600,
            'options': {'post_data': post_data, 'post_headers': {
                'Client-ID': self.messages.client_id,
                'Content-Type': 'application/json'}}})
        sub_id = resp['subscription_id']
        self.addCleanup(self.subscriptions.delete, source, sub_id)
        self.assertIn('trust_id',
                      self.subscriptions.show(source, sub_id)['options'])
        self.messages.post(source, [{'body': {'event': 'BackupStarted'},
                                     'ttl': 120}])
        delivered = self.wait_for(
            lambda: self.messages.list(target, echo=True)['messages'],
            'the notification in the target queue')
        body = delivered[0]['body']
        self.assertEqual({'event': 'BackupStarted'}, body['body'])
        self.assertEqual(source, body['queue_name'])
        self.assertEqual('Notification', body['Message_Type'])
