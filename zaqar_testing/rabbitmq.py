"""A RabbitMQ broker for the tests that need one.

Environment: ``ZAQAR_TEST_RABBIT_URL`` (default
``rabbit://guest:guest@127.0.0.1:5672/``).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote
from urllib.parse import urlsplit

import amqp

from zaqar_testing.ci import unavailable

RABBIT_URL = os.environ.get('ZAQAR_TEST_RABBIT_URL',
                            'rabbit://guest:guest@127.0.0.1:5672/')


class Broker:
    """Direct AMQP access, for what oslo.messaging does not offer:
    whether the bridge consumes yet, and deleting what a test made."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host = f'{parts.hostname or "127.0.0.1"}:{parts.port or 5672}'
        self.userid = unquote(parts.username or 'guest')
        self.password = unquote(parts.password or 'guest')
        self.vhost = unquote(parts.path[1:]) or '/'

    @contextlib.contextmanager
    def channel(self) -> Iterator[Any]:
        conn = amqp.Connection(self.host, userid=self.userid,
                               password=self.password,
                               virtual_host=self.vhost, connect_timeout=5)
        conn.connect()
        try:
            yield conn.channel()
        finally:
            with contextlib.suppress(Exception):
                conn.close()

    def check(self) -> None:
        try:
            with self.channel():
                pass
        except Exception as exc:
            unavailable(f'RabbitMQ not reachable at {self.host}: {exc}')

    def consumers(self, queue: str) -> int:
        try:
            with self.channel() as channel:
                return channel.queue_declare(queue=queue,
                                             passive=True).consumer_count
        except amqp.exceptions.NotFound:
            return 0

    def delete(self, queues: list[str], exchanges: list[str]) -> None:
        # One channel each: deleting what does not exist closes it.
        for name in queues:
            with contextlib.suppress(Exception), self.channel() as channel:
                channel.queue_delete(name)
        for name in exchanges:
            with contextlib.suppress(Exception), self.channel() as channel:
                channel.exchange_delete(name)


class Received:
    """A notification endpoint that keeps what it gets."""

    def __init__(self, expected: int) -> None:
        self.got: list[dict[str, Any]] = []
        self.expected = expected
        self.done = threading.Event()

    def info(self, ctxt: dict, publisher_id: str, event_type: str,
             payload: dict, metadata: dict) -> None:
        self.got.append({'ctxt': ctxt, 'publisher_id': publisher_id,
                         'event_type': event_type, 'payload': payload})
        if len(self.got) >= self.expected:
            self.done.set()
