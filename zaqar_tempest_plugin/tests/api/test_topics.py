"""Topics: the queue operations on /v2/topics, and fan-out to their
subscribers."""

from tempest.lib import decorators
from tempest.lib.common.utils import test_utils

from zaqar_tempest_plugin.tests import base


class TopicsTest(base.BaseMessagingTest):

    def create_topic(self, metadata=None):
        name = self.queue_name('topic')
        created = self.topics.create(name, metadata)
        self.assertEqual(201, created.response.status)
        self.assertEqual(f'/v2/topics/{name}', created.response['location'])
        self.addCleanup(test_utils.call_and_ignore_notfound_exc,
                        self.topics.delete, name)
        return name

    @decorators.idempotent_id('f6fd499e-8cf7-440b-ba52-638e6b8f4780')
    def test_create_list_and_show_topic(self):
        name = self.create_topic({'team': 'ops'})
        self.assertEqual(204, self.topics.create(name).response.status)
        page = self.topics.list()
        self.assertEqual([name], [t['name'] for t in page['topics']])
        self.assertEqual('ops', self.topics.show(name)['team'])

    @decorators.idempotent_id('74421e48-3128-4ee1-a557-ed07a7d24ec7')
    def test_topics_and_queues_are_separate(self):
        name = self.create_topic()
        self.assertEqual([], self.queues.list()['queues'])
        self.assertEqual(0, self.queues.stats(name)['messages']['total'])

    @decorators.idempotent_id('e6cfa768-3cc0-4414-8d70-785dd37ff379')
    def test_update_topic_metadata(self):
        name = self.create_topic({'a': 1})
        metadata = self.topics.update(name, [
            {'op': 'replace', 'path': '/metadata/a', 'value': 2},
            {'op': 'add', 'path': '/metadata/b', 'value': 'x'}])
        self.assertEqual(2, metadata['a'])
        self.assertEqual('x', metadata['b'])

    @decorators.idempotent_id('e589f544-d8f0-4230-9214-8a32166275d9')
    def test_post_and_list_topic_messages(self):
        name = self.create_topic()
        resp = self.topics.post_messages(name, [{'body': {'n': 1}},
                                                {'body': {'n': 2}}])
        self.assertEqual(2, len(resp['resources']))
        listed = self.topics.list_messages(name, echo=True)['messages']
        self.assertEqual([{'n': 1}, {'n': 2}], [m['body'] for m in listed])
        self.assertEqual(2, self.topics.stats(name)['messages']['total'])
        self.topics.purge(name, ['messages'])
        self.assertEqual(0, self.topics.stats(name)['messages']['total'])

    @decorators.idempotent_id('d3a690ac-8bd4-4f79-94b9-931bc63b536f')
    def test_topic_subscriptions(self):
        name = self.create_topic()
        resp = self.topics.create_subscription(name,
                                               'http://127.0.0.1:9/hook')
        [subscription] = self.topics.list_subscriptions(name)[
            'subscriptions']
        self.assertEqual(resp['subscription_id'], subscription['id'])
        self.assertEqual(name, subscription['source'])

    @decorators.idempotent_id('e3bacc7c-36ca-413b-a61b-106dcc9d380f')
    def test_delete_topic(self):
        name = self.create_topic()
        self.topics.delete(name)
        self.assertEqual([], self.topics.list()['topics'])
        self.topics.delete(name)
