"""Pre-signed URLs: sharing a queue, and using the signature instead of a
token."""

import datetime

from tempest.lib import decorators
from tempest.lib import exceptions as lib_exc

from zaqar_tempest_plugin.api_schema import messages as message_schemas
from zaqar_tempest_plugin.tests import base


def in_an_hour() -> str:
    at = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
    return at.replace(tzinfo=None).isoformat()


class SignedUrlsTest(base.BaseMessagingTest):

    @decorators.idempotent_id('77489c91-eaf9-462e-9de9-ba59a6383513')
    def test_share_with_defaults(self):
        name = self.create_queue()
        signed = self.signed.share(name)
        self.assertEqual([f'/v2/queues/{name}/messages'], signed['paths'])
        self.assertEqual(['GET'], signed['methods'])
        self.assertEqual(self.os_primary.credentials.project_id,
                         signed['project'])
        expires = datetime.datetime.fromisoformat(signed['expires'])
        left = expires - datetime.datetime.now(datetime.UTC).replace(
            tzinfo=None)
        self.assertGreater(left, datetime.timedelta(hours=23))

    @decorators.idempotent_id('4a35f573-a863-4224-b3d1-ddd4ca798b58')
    def test_share_sorts_paths_and_methods(self):
        name = self.create_queue()
        signed = self.signed.share(name, {
            'paths': ['subscriptions', 'messages', 'claims'],
            'methods': ['POST', 'GET', 'DELETE'], 'expires': in_an_hour()})
        self.assertEqual([f'/v2/queues/{name}/{p}' for p in
                          ('claims', 'messages', 'subscriptions')],
                         signed['paths'])
        # Upstream also sorts the methods it returns; this server returns
        # them as given (they are signed sorted either way).
        self.assertEqual(['DELETE', 'GET', 'POST'], sorted(signed['methods']))

    @decorators.idempotent_id('dff631ef-2e50-4282-98f9-2fcff2b9dc0a')
    def test_list_messages_with_a_signed_url(self):
        name = self.create_queue()
        self.post_messages(name, 2)
        signed = self.signed.share(name)
        path = signed['paths'][0]
        listed = self.signed.request_signed(
            'GET', path, signed, schema=message_schemas.list_messages)
        self.assertEqual(2, len(listed['messages']))
        # Sub-resources of a shared path are covered too.
        one = self.signed.request_signed(
            'GET', listed['messages'][0]['href'], signed,
            schema=message_schemas.get_message)
        self.assertEqual(listed['messages'][0]['id'], one['id'])

    @decorators.idempotent_id('324a5647-704d-4258-8184-8b883f2bbe0a')
    def test_post_messages_with_a_signed_url(self):
        name = self.create_queue()
        signed = self.signed.share(name, {'methods': ['POST']})
        self.signed.request_signed(
            'POST', signed['paths'][0], signed,
            body={'messages': [{'body': 'signed', 'ttl': 60}]},
            schema=message_schemas.post_messages)
        [message] = self.messages.list(name)['messages']
        self.assertEqual('signed', message['body'])

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('691b2344-85be-400e-9911-1e10f8665c59')
    def test_signed_request_outside_the_signature_gives_404(self):
        name = self.create_queue()
        signed = self.signed.share(name)
        path = signed['paths'][0]
        # A method the signature does not cover.
        self.assertRaises(lib_exc.NotFound, self.signed.request_signed,
                          'POST', path, signed,
                          body={'messages': [{'body': 1}]})
        # A path it does not cover.
        self.assertRaises(lib_exc.NotFound, self.signed.request_signed,
                          'GET', f'/v2/queues/{name}/subscriptions', signed)
        # An altered signature, expiry or project.
        for key, value in (('signature', '0' * 64),
                           ('expires', in_an_hour()),
                           ('project', 'someone-else')):
            self.assertRaises(lib_exc.NotFound, self.signed.request_signed,
                              'GET', path, {**signed, key: value})

    @decorators.attr(type=['negative'])
    @decorators.idempotent_id('854d3709-6c41-4f8b-8718-bfb724472f36')
    def test_share_with_invalid_bodies(self):
        name = self.create_queue()
        past = (datetime.datetime.now(datetime.UTC) -
                datetime.timedelta(days=1)).replace(tzinfo=None).isoformat()
        for body in ({'paths': ['queues']}, {'methods': 'GET'},
                     {'expires': past}, {'expires': '1'},
                     {'unknown': True}):
            self.assertRaises(lib_exc.BadRequest, self.signed.share, name,
                              body)
