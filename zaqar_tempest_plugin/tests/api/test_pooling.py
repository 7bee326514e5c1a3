"""Pools and flavors (``/v2/pools``, ``/v2/flavors``): the admin API of a
server with ``[DEFAULT] admin_mode`` and ``pooling``, on the stores
``[messaging] pool_uris`` names (skipped when it names none)."""

from tempest import config
from tempest.lib import decorators
from tempest.lib import exceptions as lib_exc
from tempest.lib.common.utils import data_utils
from tempest.lib.common.utils import test_utils

from zaqar_tempest_plugin.tests import base

CONF = config.CONF


class PoolingTest(base.BaseMessagingTest):

    credentials = ['primary', 'admin']

    @classmethod
    def skip_checks(cls):
        super().skip_checks()
        if len(CONF.messaging.pool_uris) < 2:
            raise cls.skipException('[messaging] pool_uris names fewer '
                                    'than two stores')

    @classmethod
    def setup_clients(cls):
        super().setup_clients()
        admin = cls.messaging_clients(cls.os_admin)
        cls.admin = admin.PoolingClient()
        cls.admin_queues = admin.QueuesClient()
        cls.admin_messages = admin.MessagesClient()
        cls.member = cls.clients.PoolingClient()

    @staticmethod
    def uri(index: int) -> str:
        """The ``index``-th of ``[messaging] pool_uris``, cycling. A URI
        serves one pool at a time, so each test that registers a pool has
        its own: with three URIs, tests run in parallel never collide."""
        uris = CONF.messaging.pool_uris
        return uris[index % len(uris)]

    def pool(self, uri: str, weight: int = 10, **fields) -> str:
        """A new pool at ``uri``, deleted after the test. It serves a
        flavor of its own, so that no other test's queue is placed on it
        (a pool holding queues cannot be deleted)."""
        name = data_utils.rand_name(name='pool', prefix='tempest')
        fields.setdefault('flavor', name)
        self.admin.create_pool(name, uri, weight, **fields)
        self.addCleanup(self.admin.delete_pool, name)
        return name

    @decorators.idempotent_id('5b0c7a43-1d6e-4f2a-9c8b-0e7d3f6a2b91')
    def test_pool_lifecycle(self):
        uri = self.uri(0)
        name = self.pool(uri, options={'max_reconnect_attempts': 1})
        shown = self.admin.show_pool(name)
        self.assertEqual((name, uri, 10, name),
                         (shown['name'], shown['uri'], shown['weight'],
                          shown['flavor']))
        self.assertNotIn('options', shown)
        detailed = self.admin.show_pool(name, detailed=True)
        self.assertEqual({'max_reconnect_attempts': 1},
                         detailed['options'])
        updated = self.admin.update_pool(name, weight=20)
        self.assertEqual(20, updated['weight'])
        listed = []
        marker = None
        while True:
            page = self.admin.list_pools(marker=marker, limit=5)
            if not page['pools']:
                break
            listed += [pool['name'] for pool in page['pools']]
            marker = listed[-1]
        self.assertIn(name, listed)
        self.assertEqual(sorted(listed), listed)
        self.admin.delete_pool(name)
        self.assertRaises(lib_exc.NotFound, self.admin.show_pool, name)
        # Deleting it again is no error (upstream's answer).
        self.admin.delete_pool(name)

    @decorators.idempotent_id('8e4d2f10-6b3a-4c7e-a1d5-9f0b2c4e6a73')
    def test_flavor_lifecycle(self):
        # Weight 0: once the flavor is deleted the pool serves none, and
        # no queue may land on it before the cleanup deletes it.
        pool = self.pool(self.uri(1), weight=0)
        name = data_utils.rand_name(name='flavor', prefix='tempest')
        self.admin.create_flavor(name, [pool])
        self.addCleanup(test_utils.call_and_ignore_notfound_exc,
                        self.admin.delete_flavor, name)
        shown = self.admin.show_flavor(name)
        self.assertEqual([pool], shown['pool_list'])
        self.assertEqual(name, self.admin.show_pool(pool)['flavor'])
        listed = self.admin.list_flavors()['flavors']
        self.assertIn(name, [f['name'] for f in listed])
        # Flavors are per project: the member's has none of the admin's.
        self.assertEqual([], self.member.list_flavors()['flavors'])
        self.admin.delete_flavor(name)
        self.assertRaises(lib_exc.NotFound, self.admin.show_flavor, name)
        self.assertIsNone(self.admin.show_pool(pool)['flavor'])

    @decorators.idempotent_id('0b7e3c59-4d2a-4f8e-9a61-c3d5e7f9a1b2')
    def test_a_queue_of_a_flavor_lives_on_its_pool(self):
        pool = self.pool(self.uri(2))
        # The pool serves the flavor named after it (see pool()).
        self.admin.create_flavor(pool, [pool])
        self.addCleanup(test_utils.call_and_ignore_notfound_exc,
                        self.admin.delete_flavor, pool)
        queue = data_utils.rand_name(name='queue', prefix='tempest')
        self.admin_queues.create(queue, {'_flavor': pool})
        self.addCleanup(self.admin_queues.delete, queue)
        self.admin_messages.post(queue, [{'body': {'on': pool}}])
        listed = self.admin_messages.list(queue, echo=True)['messages']
        self.assertEqual([{'on': pool}], [m['body'] for m in listed])
        # The pool holds the queue: it stays until the queue goes (the
        # cleanups delete the queue first).
        self.assertRaises(lib_exc.Conflict, self.admin.delete_pool, pool)

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('2c9f6e31-7a4b-4d8e-b0c2-5e1f3a7d9b64')
    def test_an_unreachable_pool_is_refused_and_not_stored(self):
        name = data_utils.rand_name(name='pool', prefix='tempest')
        self.assertRaises(lib_exc.BadRequest, self.admin.create_pool,
                          name, 'redis://127.0.0.1:1', 10)
        self.assertRaises(lib_exc.NotFound, self.admin.show_pool, name)

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('d4a7b2c8-3e5f-4a1b-8c6d-0f9e2b7a4c15')
    def test_a_flavor_of_a_missing_pool_is_refused(self):
        name = data_utils.rand_name(name='flavor', prefix='tempest')
        self.assertRaises(lib_exc.BadRequest, self.admin.create_flavor,
                          name, ['tempest-no-such-pool'])
        self.assertRaises(lib_exc.NotFound, self.admin.show_flavor, name)

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('f1b3c5d7-9e2a-4b6c-8d0e-a2c4e6f8b0d3')
    def test_members_cannot_manage_pools_or_flavors(self):
        self.assertRaises(lib_exc.Forbidden, self.member.list_pools)
        self.assertRaises(lib_exc.Forbidden, self.member.create_pool,
                          'tempest-member-pool',
                          CONF.messaging.pool_uris[0], 10)
        self.assertRaises(lib_exc.Forbidden, self.member.create_flavor,
                          'tempest-member-flavor', ['any'])
