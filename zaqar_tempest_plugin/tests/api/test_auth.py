"""Authentication, policy, project isolation, and the unprotected
resources (versions, home document, ping)."""

from tempest.lib import decorators
from tempest.lib import exceptions as lib_exc

from zaqar_tempest_plugin.tests import base


class SystemTest(base.BaseMessagingTest):

    @decorators.idempotent_id('dcfc5804-9f4e-415d-8798-312b916aa33f')
    def test_list_versions_without_token(self):
        versions = self.system.list_versions()['versions']
        self.assertIn('2', [v['id'] for v in versions])

    @decorators.idempotent_id('8f6799d9-1809-40d5-a2a2-6c85c85d1157')
    def test_home_document(self):
        resources = self.system.show_home_document()['resources']
        self.assertIn('rel/queues', resources)
        self.assertIn('rel/post_messages', resources)

    @decorators.idempotent_id('0ec67fba-083c-4d7b-ac30-217a0f3fa04a')
    def test_ping(self):
        self.assertEqual(204, self.system.ping().response.status)
        self.assertEqual(204, self.system.ping('HEAD').response.status)


class AuthTest(base.BaseMessagingTest):

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('0f1aaa44-eaa6-4f86-90aa-46809fb1e66d')
    def test_request_without_token_gives_401(self):
        error = self.assertRaises(lib_exc.Unauthorized,
                                  self.system.request_with_token,
                                  'GET', '/v2/queues', None)
        self.assertIn('www-authenticate', error.resp)

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('0d0fe800-1f0f-4509-bbf9-5630c24734eb')
    def test_request_with_invalid_token_gives_401(self):
        self.assertRaises(lib_exc.Unauthorized,
                          self.system.request_with_token,
                          'PUT', f'/v2/queues/{self.queue_name()}',
                          'not-a-token')

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('c25b4a08-16f9-4326-8de1-4d3dcdc536b3')
    def test_health_is_forbidden_to_members(self):
        # health:get is role:admin by default.
        self.assertRaises(lib_exc.Forbidden, self.system.show_health)


class AdminTest(base.BaseMessagingTest):

    credentials = ['primary', 'admin']

    @classmethod
    def setup_clients(cls):
        super().setup_clients()
        cls.admin_system = cls.messaging_clients(cls.os_admin).SystemClient()

    @decorators.idempotent_id('135a0a39-cd89-4bc0-b414-5dd43dfd70ca')
    def test_health_for_admins(self):
        health = self.admin_system.show_health()
        self.assertTrue(health['storage_reachable'])
        for operation in health['operation_status'].values():
            self.assertTrue(operation['succeeded'])


class ProjectIsolationTest(base.BaseMessagingTest):

    credentials = ['primary', 'alt']

    @classmethod
    def setup_clients(cls):
        super().setup_clients()
        alt = cls.messaging_clients(cls.os_alt)
        cls.alt_queues = alt.QueuesClient()
        cls.alt_messages = alt.MessagesClient()
        cls.alt_claims = alt.ClaimsClient()

    @decorators.idempotent_id('cace3b76-8a3b-41c8-9e5a-360e2582d664')
    def test_projects_see_only_their_own_queues(self):
        name = self.create_queue({'owner': 'primary'})
        self.post_messages(name, 2)
        self.assertEqual([], self.alt_queues.list()['queues'])
        self.assertNotIn('owner', self.alt_queues.show(name))
        self.assertEqual(0, self.alt_queues.stats(name)['messages']['total'])
        self.assertEqual([], self.alt_messages.list(name)['messages'])
        self.assertEqual(204, self.alt_claims.claim(name).response.status)

    @decorators.idempotent_id('7cab068a-fab3-4d86-80dd-a58e6cfb46fa')
    def test_same_queue_name_in_two_projects(self):
        name = self.create_queue()
        self.alt_queues.create(name)
        self.addCleanup(self.alt_queues.delete, name)
        [mine] = self.post_messages(name)
        self.alt_messages.post(name, [{'body': 'alt'}])
        self.assertRaises(lib_exc.NotFound, self.alt_messages.show, name,
                          mine)
        self.alt_messages.delete(name, mine)  # not theirs: nothing happens
        self.assertEqual(mine, self.messages.show(name, mine)['id'])
        self.alt_queues.delete(name)
        self.assertEqual(1, self.queues.stats(name)['messages']['total'])
