"""Shared data and helpers of the storage contract."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from zaqar_core.storage import base
from zaqar_core.storage.stores import Stores

PROJECT = 'project-a'
OTHER_PROJECT = 'project-b'
QUEUE = 'jobs'
OTHER_QUEUE = 'other-jobs'
DEAD_QUEUE = 'dead'
CLIENT = '3b7a8c0e-1111-4bb5-9a3c-7a0f1e2d3c4b'
OTHER_CLIENT = '9f1c2e44-2222-4d7e-8b1a-5c3d2e1f0a9b'
LONG_TTL = 3600

# Markers no driver can have issued: they must list from the start.
MALFORMED_MARKERS = ['not-a-marker', '-1', '1.5', '0x10', '１２', '²',
                     '9' * 40, ' 1', 'null']
MALFORMED_IDS = ['not-an-id', '-1', '0x10', '１２', '9' * 40, '']
UNKNOWN_CLAIM_IDS = ['not-a-claim', '', 'f' * 32,
                     'b8194e69-5c0f-447b-9075-22bd56fbf56d']


class FrozenClock:
    """A time source that stands still until told to move."""

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def new_message(body: Any = None, ttl: int = LONG_TTL, delay: int = 0,
                checksum: str | None = None) -> base.NewMessage:
    message: base.NewMessage = {'body': body, 'ttl': ttl, 'delay': delay}
    if checksum is not None:
        message['checksum'] = checksum
    return message


def post(stores: Stores, count: int = 1, *, queue: str = QUEUE,
         project: str = PROJECT, ttl: int = LONG_TTL, delay: int = 0,
         client: str = CLIENT) -> list[str]:
    """Post ``count`` messages with bodies ``{"n": 0}``, ``{"n": 1}``..."""
    return stores.messages.post(
        project, queue, [new_message({'n': n}, ttl, delay)
                         for n in range(count)], client)


def listed(stores: Stores, *, queue: str = QUEUE, project: str = PROJECT,
           **kwargs: Any) -> list[str]:
    """Ids of one big page of ``messages.list``."""
    kwargs.setdefault('limit', 1000)
    found, _ = stores.messages.list(project, queue, **kwargs)
    return [m['id'] for m in found]


def everything(stores: Stores, queue: str = QUEUE,
               project: str = PROJECT) -> list[str]:
    """Ids of every live message of a queue, claimed or delayed."""
    return listed(stores, queue=queue, project=project,
                  include_claimed=True, include_delayed=True)


def claim(stores: Stores, limit: int = 10, *, ttl: int = 60,
          grace: int = 60, queue: str = QUEUE, project: str = PROJECT,
          dead_letter: base.DeadLetter | None = None
          ) -> tuple[str | None, list[str]]:
    """``claims.create``: the claim id and the ids it took."""
    claim_id, messages, _ = stores.claims.create(
        project, queue, ttl, grace, limit, dead_letter)
    return claim_id, [m['id'] for m in messages]


def drain(take: Callable[[], list[str]], most: int = 100) -> list[str]:
    """Call ``take`` until it returns nothing; everything it returned.

    Gives up after ``most`` calls, so that a driver handing out the same
    messages again and again fails the test instead of hanging it.
    """
    taken: list[str] = []
    for _ in range(most):
        found = take()
        if not found:
            return taken
        taken += found
    pytest.fail(f'still taking messages after {most} calls')


def exists(stores: Stores, message_id: str, queue: str = QUEUE) -> bool:
    return bool(stores.messages.bulk_get(PROJECT, queue, [message_id]))
