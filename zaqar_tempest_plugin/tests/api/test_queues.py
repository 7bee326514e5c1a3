"""Queues: create, metadata, list and paging, stats, purge, delete."""

from tempest.lib import decorators

from zaqar_tempest_plugin.tests import base


class QueuesTest(base.BaseMessagingTest):

    @decorators.idempotent_id('18f2a211-0aab-41b5-917c-bd0ff240c9fe')
    def test_create_queue_then_again(self):
        name = self.queue_name()
        self.addCleanup(self.queues.delete, name)
        created = self.queues.create(name)
        self.assertEqual(201, created.response.status)
        self.assertEqual(f'/v2/queues/{name}', created.response['location'])
        again = self.queues.create(name, {'other': 1})
        self.assertEqual(204, again.response.status)

    @decorators.idempotent_id('c99af52b-ac56-4be5-819b-f7fe8facd359')
    def test_show_queue_metadata_with_reserved_defaults(self):
        name = self.create_queue({'color': 'blue',
                                  '_default_message_ttl': 120})
        metadata = self.queues.show(name)
        self.assertEqual('blue', metadata['color'])
        self.assertEqual(120, metadata['_default_message_ttl'])
        self.assertEqual(self.limits().max_messages_post_size,
                         metadata['_max_messages_post_size'])
        self.assertEqual(0, metadata['_default_message_delay'])

    @decorators.idempotent_id('97a71924-b629-4363-b2fb-6919479027b8')
    def test_show_missing_queue_gives_defaults(self):
        # Queues are lazy: a queue that was never made reads as empty.
        metadata = self.queues.show(self.queue_name())
        self.assertEqual(3600, metadata['_default_message_ttl'])
        self.assertNotIn('color', metadata)

    @decorators.idempotent_id('19896d90-d07b-46d0-baee-f1d446c6a2d5')
    def test_list_queues_follows_next_links(self):
        names = sorted(self.create_queue() for _ in range(3))
        seen = []
        page = self.queues.list(limit=2)
        while page['queues']:
            self.assertLessEqual(len(page['queues']), 2)
            seen += [queue['name'] for queue in page['queues']]
            page = self.queues.list_href(page['links'][0]['href'])
        self.assertEqual(names, seen)
        self.assertEqual([], page['links'])

    @decorators.idempotent_id('7d88437b-e364-46aa-a31d-3f00042fde2c')
    def test_list_queues_detailed_with_count(self):
        name = self.create_queue({'color': 'green'})
        page = self.queues.list(detailed=True, with_count=True)
        self.assertEqual(1, page['count'])
        [queue] = page['queues']
        self.assertEqual(name, queue['name'])
        self.assertEqual(f'/v2/queues/{name}', queue['href'])
        self.assertEqual('green', queue['metadata']['color'])

    @decorators.idempotent_id('a8d6c4c4-ebfe-4941-ac48-864bc6957dd6')
    def test_update_queue_metadata_with_json_patch(self):
        name = self.create_queue({'keep': 1, 'drop': 2, 'change': 3})
        metadata = self.queues.update(name, [
            {'op': 'add', 'path': '/metadata/new', 'value': 'x'},
            {'op': 'remove', 'path': '/metadata/drop'},
            {'op': 'replace', 'path': '/metadata/change', 'value': 30},
            {'op': 'replace', 'path': '/metadata/_default_message_ttl',
             'value': 300},
        ])
        self.assertEqual('x', metadata['new'])
        self.assertNotIn('drop', metadata)
        self.assertEqual(30, metadata['change'])
        self.assertEqual(1, metadata['keep'])
        self.assertEqual(300, metadata['_default_message_ttl'])
        self.assertEqual(metadata, self.queues.show(name))

    @decorators.idempotent_id('1c1a3ede-cde3-4eee-b178-8714c4d22891')
    def test_queue_stats_count_free_and_claimed(self):
        name = self.create_queue()
        empty = self.queues.stats(name)['messages']
        self.assertEqual({'claimed': 0, 'free': 0, 'total': 0}, empty)
        ids = self.post_messages(name, 3)
        self.claim(name, limit=1)
        stats = self.queues.stats(name)['messages']
        self.assertEqual(1, stats['claimed'])
        self.assertEqual(2, stats['free'])
        self.assertEqual(3, stats['total'])
        self.assertTrue(stats['oldest']['href'].endswith(ids[0]))
        self.assertTrue(stats['newest']['href'].endswith(ids[-1]))

    @decorators.idempotent_id('a160bce1-468d-42f0-8f6a-000f2709ab58')
    def test_stats_of_missing_queue_are_zero(self):
        stats = self.queues.stats(self.queue_name())['messages']
        self.assertEqual({'claimed': 0, 'free': 0, 'total': 0}, stats)

    @decorators.idempotent_id('64cd3b39-5542-41ea-b27f-5695671e0082')
    def test_purge_messages_keeps_subscriptions_and_metadata(self):
        name = self.create_queue({'color': 'red'})
        self.post_messages(name, 2)
        self.subscriptions.create(name, {'subscriber': 'http://127.0.0.1:9/x'})
        self.queues.purge(name, ['messages'])
        self.assertEqual(0, self.queues.stats(name)['messages']['total'])
        self.assertEqual(1, len(self.subscriptions.list(name)
                                ['subscriptions']))
        self.assertEqual('red', self.queues.show(name)['color'])
        self.queues.purge(name)  # both kinds
        self.assertEqual([], self.subscriptions.list(name)['subscriptions'])

    @decorators.idempotent_id('8eecae01-6ad1-4eeb-9212-1f8c7afcfcc7')
    def test_delete_queue_is_idempotent(self):
        name = self.create_queue()
        self.post_messages(name)
        self.queues.delete(name)
        self.assertEqual([], self.queues.list()['queues'])
        self.assertEqual(0, self.queues.stats(name)['messages']['total'])
        self.queues.delete(name)

    @decorators.idempotent_id('33a6221f-7b81-43fa-92e7-7db88915907c')
    def test_queue_name_with_dots_dashes_and_underscores(self):
        name = self.create_queue(name='tempest.a-b_c.' + self.queue_name())
        self.post_messages(name)
        [queue] = self.queues.list()['queues']
        self.assertEqual(name, queue['name'])
        self.assertEqual(1, self.queues.stats(name)['messages']['total'])
