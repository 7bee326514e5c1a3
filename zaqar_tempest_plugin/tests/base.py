"""The base class of the messaging API tests: clients for the primary
(dynamic) credentials, resource helpers that clean up after themselves,
and polling."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tempest import config
from tempest import test
from tempest.lib.common.utils import data_utils
from tempest.lib.common.utils import test_utils

from zaqar_tempest_plugin.services.messaging import claims_client
from zaqar_tempest_plugin.services.messaging import messages_client

CONF = config.CONF


class BaseMessagingTest(test.BaseTestCase):
    """Every test class gets its own project and user (tempest's dynamic
    credentials), so queue lists start empty."""

    credentials = ['primary']

    @classmethod
    def skip_checks(cls) -> None:
        super().skip_checks()
        if not CONF.service_available.zaqar:
            raise cls.skipException('Zaqar is not available')

    @classmethod
    def setup_clients(cls) -> None:
        super().setup_clients()
        cls.clients = cls.messaging_clients(cls.os_primary)
        cls.queues = cls.clients.QueuesClient()
        cls.messages = cls.clients.MessagesClient()
        cls.claims = cls.clients.ClaimsClient()
        cls.subscriptions = cls.clients.SubscriptionsClient()
        cls.topics = cls.clients.TopicsClient()
        cls.signed = cls.clients.SignedUrlClient()
        cls.system = cls.clients.SystemClient()

    @staticmethod
    def messaging_clients(credentials: Any) -> Any:
        """The messaging client factory of one set of credentials."""
        return credentials.messaging_v2

    @classmethod
    def limits(cls) -> Any:
        return CONF.messaging

    # -- resources ---------------------------------------------------------

    @classmethod
    def queue_name(cls, prefix: str = 'q') -> str:
        return data_utils.rand_name(name=prefix, prefix='tempest')

    def create_queue(self, metadata: dict[str, Any] | None = None,
                     name: str | None = None) -> str:
        """A new queue, deleted after the test."""
        name = name or self.queue_name()
        self.queues.create(name, metadata)
        self.addCleanup(test_utils.call_and_ignore_notfound_exc,
                        self.queues.delete, name)
        return name

    def post_messages(self, queue: str, count: int = 1, ttl: int = 300,
                      client: Any = None, **extra: Any) -> list[str]:
        """Posts ``count`` messages with bodies ``{"n": i}``; their ids."""
        client = client or self.messages
        resp = client.post(queue, [{'body': {'n': i}, 'ttl': ttl, **extra}
                                   for i in range(count)])
        return messages_client.ids_of(resp['resources'])

    def claim(self, queue: str, ttl: int = 60, grace: int = 60,
              limit: int | None = None) -> tuple[str, list[dict]]:
        """Claims messages; the claim id and the claimed messages."""
        resp = self.claims.claim(queue, {'ttl': ttl, 'grace': grace}, limit)
        self.assertEqual(201, resp.response.status)
        return (claims_client.claim_id_of(resp.response['location']),
                resp['messages'])

    # -- assertions --------------------------------------------------------

    def wait_for(self, check: Callable[[], Any], what: str,
                 timeout: float | None = None) -> Any:
        """Polls ``check`` until it returns something true; returns it."""
        timeout = timeout or CONF.messaging.notification_timeout
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result:
                return result
            if time.monotonic() > deadline:
                self.fail(f'{what}: not within {timeout} s')
            time.sleep(0.5)
