"""Round trips to storage per API operation, counted exactly: Redis
requests sent (a pipeline or a script is one) and SQL statements
executed. A change that adds one fails here; one that removes one updates
:data:`ROUND_TRIPS`, so the figures only go down (issue 16)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis.connection
import sqlalchemy as sa
from oslo_config import cfg

from zaqar_core import bootstrap
from zaqar_core.api.request import Request
from zaqar_core.api.service import Api

PROJECT = 'p'
QUEUE = 'q'
CLIENT_ID = '3381af92-2b9e-11e3-b191-71861300734c'
OTHER_CLIENT = '5d8e2f1a-3b4c-4d5e-8f6a-7b8c9d0e1f2a'

#: Round trips of each operation, by backend. Lower them as the paths
#: get leaner; never raise them without a reason written here.
ROUND_TRIPS = {
    # Statements (SQLite is in-process: each is work, not a trip),
    # BEGINs included. A post inserts its messages, then counts
    # subscriptions and checks the queue's metadata is what an earlier
    # post saw, in one transaction (post-10 took 14 while each message had
    # an INSERT of its own, 5 while the metadata had a read of its own); a
    # claim checks the metadata, selects, inserts the claim and marks the
    # messages in one UPDATE, in one transaction (8 while it extended them
    # in a second UPDATE and read them back, 6 while it read the metadata
    # before); a delete is one DELETE (it read the row first).
    # While some process has requests waiting for messages (long
    # polling), a post signals its queue's waiters: through the listeners'
    # sockets on SQLite, no statement.
    'sqlite': {'post-1': 3, 'post-10': 3, 'list-10': 4, 'claim-10': 5,
               'delete-by-claim': 2, 'pop-10': 3, 'post-1 waited for': 3},
    # Requests. A listing reads the queue's metadata, then runs its
    # script; a post and a claim run their script only, which checks the
    # metadata is what an earlier one saw; a delete and a pop run theirs
    # only; a ping checks each of the two stores. While requests wait
    # somewhere, a post publishes to its queue's waiters.
    'redis': {'post-1': 1, 'post-10': 1, 'list-10': 2, 'claim-10': 1,
              'delete-by-claim': 1, 'pop-10': 1, 'ping': 2,
              'post-1 waited for': 2},
}

class Counter:
    """Round trips since :meth:`reset`."""

    def __init__(self) -> None:
        self.count = 0

    def reset(self) -> None:
        self.count = 0


@pytest.fixture(params=['sqlite', 'redis'])
def counted(request: pytest.FixtureRequest,
            monkeypatch: pytest.MonkeyPatch
            ) -> Iterator[tuple[str, Api, Counter]]:
    backend = request.param
    conf: cfg.ConfigOpts = request.getfixturevalue(f'{backend}_conf')
    api = bootstrap.make_api(conf)
    # As in a serving process: hearing of waiters elsewhere costs a post
    # nothing while there are none.
    api.arrivals.start()
    counter = Counter()
    if backend == 'redis':
        sent = redis.connection.AbstractConnection.send_packed_command

        def send(self: Any, command: Any, check_health: bool = True
                 ) -> None:
            counter.count += 1
            sent(self, command, check_health)
        monkeypatch.setattr(redis.connection.AbstractConnection,
                            'send_packed_command', send)
    else:
        def executed(*args: Any) -> None:
            counter.count += 1
        for engine in {driver.engine for driver in
                       (api.stores.control, api.stores.home)}:
            sa.event.listen(engine, 'before_cursor_execute', executed)
    yield backend, api, counter
    api.arrivals.stop()
    api.stores.close()


def call(api: Api, action: str, body: Any = None, *,
         client: str = CLIENT_ID, **params: Any) -> Any:
    req = Request(project_id=PROJECT, client_id=client,
                  params={'queue_name': QUEUE, **params}, body=body,
                  body_size=256)
    return api.call(action, req)


def post(api: Api, count: int) -> Any:
    return call(api, 'message_post', {'messages': [
        {'body': {'n': n}, 'ttl': 300} for n in range(count)]})


def test_round_trips_per_operation(
        counted: tuple[str, Api, Counter]) -> None:
    backend, api, counter = counted
    post(api, 40)
    found: dict[str, int] = {}

    def measure(name: str, operation: Any) -> Any:
        # Once to warm (scripts loaded, keys and statements cached), then
        # counted: the steady state is what every request pays.
        operation()
        counter.reset()
        result = operation()
        found[name] = counter.count
        return result

    measure('post-1', lambda: post(api, 1))
    measure('post-10', lambda: post(api, 10))
    measure('list-10', lambda: call(api, 'message_list',
                                    client=OTHER_CLIENT, limit=10))
    claimed = measure('claim-10', lambda: call(
        api, 'claim_create', {'ttl': 60, 'grace': 60}, limit=10))
    assert claimed.status == 201
    held = iter(claimed.body['messages'])
    measure('delete-by-claim', lambda: call(
        api, 'message_delete', message_id=next(held)['id'],
        claim_id=claimed.body['claim_id']))
    measure('pop-10', lambda: call(api, 'message_delete_many', pop=10))
    api.arrivals.say_waiting()
    measure('post-1 waited for', lambda: post(api, 1))
    if backend == 'redis':
        # Load balancers ping often; the check of each store (and of
        # upstream's keys beside the message store) is one request.
        measure('ping', lambda: call(api, 'ping_node'))
    assert found == ROUND_TRIPS[backend]
