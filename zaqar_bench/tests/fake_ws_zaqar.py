"""A small WebSocket Zaqar for the bench's tests (``websockets`` library).

It speaks Zaqar v2 over WebSocket as upstream 23.0.1 does for the
actions the bench sends: the same envelope (``{"request", "body",
"headers": {"status"}}``, the request echoed), the same statuses and body
shapes, a reply in the request's framing (JSON text or MessagePack
binary). Messages live in dicts, claims never expire. To prove the client
copes, it also

* sends an unsolicited push notification frame before every
  ``push_every``-th reply (``{"body","ttl","queue_name","Message_Type"}``,
  no ``headers``: not a reply);
* fragments every ``fragment_every``-th reply into continuation frames;
* puts ``headers`` first in every other reply, so clients cannot count on
  the member order;
* pings each client after its ``ping_after``-th request, and counts pongs;
* with ``token`` set, answers only ``authenticate`` (200 with that token,
  401 otherwise) until a connection has authenticated, like Keystone auth.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import msgpack
from websockets.asyncio.server import ServerConnection
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed


@dataclass
class Message:
    id: str
    body: Any
    ttl: int
    client_id: str
    claim_id: str | None = None


@dataclass
class Stats:
    """What the server saw, for the tests to check."""

    actions: list[str] = field(default_factory=list)
    pushes: int = 0
    fragmented: int = 0
    pings: int = 0
    pongs: int = 0
    connections: int = 0
    # Close codes the clients sent (None: no close frame).
    close_codes: list[int | None] = field(default_factory=list)
    # Encodings of the requests: 'json' or 'msgpack'.
    encodings: set[str] = field(default_factory=set)


class FakeZaqarWs:
    def __init__(self, token: str | None = None, push_every: int = 3,
                 fragment_every: int = 4, ping_after: int = 2) -> None:
        self.token = token
        self.push_every = push_every
        self.fragment_every = fragment_every
        self.ping_after = ping_after
        # (project, queue) -> message id -> Message (insertion order).
        self.queues: dict[tuple[str, str], dict[str, Message]] = {}
        self.stats = Stats()
        self._replies = itertools.count(1)

    # --- the protocol -----------------------------------------------------

    async def handle(self, connection: ServerConnection) -> None:
        self.stats.connections += 1
        authenticated = self.token is None
        requests = 0
        try:
            async for raw in connection:
                binary = isinstance(raw, bytes)
                self.stats.encodings.add('msgpack' if binary else 'json')
                try:
                    request = msgpack.unpackb(raw) if binary \
                        else json.loads(raw)
                except ValueError:
                    request = None
                if not isinstance(request, dict):
                    await self._send(connection, binary, {
                        'action': None, 'body': {}, 'headers': {}}, 400,
                        {'error': "Can't decode request."})
                    continue
                action = request.get('action')
                self.stats.actions.append(str(action))
                headers = request.get('headers') or {}
                body = request.get('body') or {}
                if action == 'authenticate':
                    status, answer = self._authenticate(headers)
                    authenticated = authenticated or status == 200
                elif not authenticated:
                    status, answer = 403, {'error': 'Not authentified.'}
                else:
                    status, answer = self.answer(action, headers, body)
                n = next(self._replies)
                if self.push_every and n % self.push_every == 0:
                    await self._push(connection, binary, body)
                await self._send(connection, binary, request, status,
                                 answer, fragment=self.fragment_every and
                                 n % self.fragment_every == 0,
                                 headers_first=n % 2 == 0)
                requests += 1
                if requests == self.ping_after:
                    asyncio.ensure_future(self._ping(connection))
        except ConnectionClosed:
            pass
        finally:
            received = connection.protocol.close_rcvd
            self.stats.close_codes.append(
                None if received is None else received.code)

    async def _ping(self, connection: ServerConnection) -> None:
        self.stats.pings += 1
        with contextlib.suppress(ConnectionClosed, asyncio.TimeoutError):
            await asyncio.wait_for(await connection.ping(b'bench?'), 5)
            self.stats.pongs += 1

    async def _push(self, connection: ServerConnection, binary: bool,
                    body: dict[str, Any]) -> None:
        self.stats.pushes += 1
        push = {'body': {'event': 'pushed'}, 'ttl': 300,
                'queue_name': body.get('queue_name', 'q'),
                'Message_Type': 'Notification'}
        await connection.send(msgpack.packb(push) if binary
                              else json.dumps(push))

    async def _send(self, connection: ServerConnection, binary: bool,
                    request: dict[str, Any], status: int, body: Any,
                    fragment: bool = False,
                    headers_first: bool = False) -> None:
        echo = {'action': request.get('action'),
                'body': request.get('body', {}),
                'headers': request.get('headers', {}), 'api': 'v2'}
        reply: dict[str, Any] = {'request': echo, 'body': body}
        if headers_first:
            reply = {'headers': {'status': status}, **reply}
        else:
            reply['headers'] = {'status': status}
        data: str | bytes = msgpack.packb(reply) if binary \
            else json.dumps(reply)
        if fragment and len(data) >= 3:
            self.stats.fragmented += 1
            third = len(data) // 3
            await connection.send([data[:third], data[third:2 * third],
                                   data[2 * third:]])
        else:
            await connection.send(data)

    def _authenticate(self, headers: dict[str, Any]) -> tuple[int, Any]:
        if not headers.get('X-Project-ID'):
            return 400, {'error': 'Schema validation failed.'}
        if self.token is not None and \
                headers.get('X-Auth-Token') != self.token:
            return 401, 'Authentication failed.'
        return 200, {'message': 'Authentified.'}

    # --- the actions --------------------------------------------------------

    def answer(self, action: Any, headers: dict[str, Any],
               body: dict[str, Any]) -> tuple[int, Any]:
        handler = getattr(self, f'_do_{action}', None)
        if handler is None:
            return 400, {'error': f'{action} is not a valid action'}
        project = headers.get('X-Project-ID')
        client_id = headers.get('Client-ID')
        if not isinstance(project, str) or not isinstance(client_id, str):
            return 400, {'error': 'Missing header Client-ID or '
                                  'X-Project-ID.'}
        if action != 'queue_list' and not isinstance(
                body.get('queue_name'), str):
            return 400, {'error': 'Schema validation failed.'}
        return handler(project, client_id, body)

    def _queue(self, project: str, body: dict[str, Any]
               ) -> dict[str, Message] | None:
        return self.queues.get((project, body['queue_name']))

    def _do_queue_list(self, project: str, client_id: str,
                       body: dict[str, Any]) -> tuple[int, Any]:
        names = sorted(name for p, name in self.queues if p == project)
        return 200, {'queues': [{'name': n}
                                for n in names[:body.get('limit', 10)]]}

    def _do_queue_create(self, project: str, client_id: str,
                         body: dict[str, Any]) -> tuple[int, Any]:
        name = body['queue_name']
        if not name.replace('-', '').replace('_', '').isalnum():
            return 400, {'exception': f'Queue name {name!r} is invalid.',
                         'error': None}
        if (project, name) in self.queues:
            return 204, f'Queue {name} created.'
        self.queues[(project, name)] = {}
        return 201, f'Queue {name} created.'

    def _do_queue_delete(self, project: str, client_id: str,
                         body: dict[str, Any]) -> tuple[int, Any]:
        self.queues.pop((project, body['queue_name']), None)
        return 204, f"Queue {body['queue_name']} removed."

    def _do_queue_get_stats(self, project: str, client_id: str,
                            body: dict[str, Any]) -> tuple[int, Any]:
        queue = self._queue(project, body)
        messages = list((queue or {}).values())
        claimed = sum(1 for m in messages if m.claim_id)
        counts = {'claimed': claimed, 'free': len(messages) - claimed,
                  'total': len(messages)}
        return (200 if queue is not None else 404), {'messages': counts}

    def _do_message_post(self, project: str, client_id: str,
                         body: dict[str, Any]) -> tuple[int, Any]:
        posted = body.get('messages')
        if not isinstance(posted, list) or not posted:
            return 400, {'error': 'Schema validation failed.'}
        queue = self.queues.setdefault((project, body['queue_name']), {})
        ids = []
        for item in posted:
            message = Message(str(uuid.uuid4()), item.get('body'),
                              item.get('ttl', 3600), client_id)
            queue[message.id] = message
            ids.append(message.id)
        return 201, {'message_ids': ids}

    def _do_claim_create(self, project: str, client_id: str,
                         body: dict[str, Any]) -> tuple[int, Any]:
        ttl, grace = body.get('ttl', 60), body.get('grace', 60)
        if not (60 <= ttl <= 43200 and 60 <= grace <= 43200):
            return 400, {'exception': 'ttl and grace must be 60..43200',
                         'error': None}
        claim_id = str(uuid.uuid4())
        free = [m for m in (self._queue(project, body) or {}).values()
                if m.claim_id is None][:body.get('limit', 10)]
        if not free:
            return 204, {'claim_id': claim_id}
        for m in free:
            m.claim_id = claim_id
        return 201, {'claim_id': claim_id, 'messages': [
            {'id': m.id, 'claim_id': claim_id, 'ttl': m.ttl, 'age': 0,
             'body': m.body} for m in free]}

    def _do_message_delete(self, project: str, client_id: str,
                           body: dict[str, Any]) -> tuple[int, Any]:
        queue = self._queue(project, body) or {}
        message = queue.get(body.get('message_id'))
        if message is None:
            return 204, {}
        claim_id = body.get('claim_id')
        if message.claim_id and not claim_id:
            return 403, {'exception': 'A claimed message needs its '
                                      'claim id.', 'error': None}
        if claim_id and claim_id != message.claim_id:
            return 400, {'exception': 'Not the claim of this message.',
                         'error': None}
        del queue[message.id]
        return 204, {}

    def _do_message_list(self, project: str, client_id: str,
                         body: dict[str, Any]) -> tuple[int, Any]:
        echo = body.get('echo', False)
        found = [m for m in (self._queue(project, body) or {}).values()
                 if m.claim_id is None and (echo or m.client_id != client_id)
                 ][:body.get('limit', 10)]
        return 200, {'messages': [
            {'id': m.id, 'claim_id': None, 'ttl': m.ttl, 'age': 0,
             'body': m.body} for m in found]}

    # --- for the tests ------------------------------------------------------

    def totals(self, project: str, prefix: str = 'bench'
               ) -> tuple[int, int]:
        """(total, claimed) over a project's queues named PREFIX-*."""
        total = claimed = 0
        for (p, name), queue in self.queues.items():
            if p == project and name.startswith(prefix + '-'):
                total += len(queue)
                claimed += sum(1 for m in queue.values() if m.claim_id)
        return total, claimed


@contextlib.asynccontextmanager
async def serving(fake: FakeZaqarWs):
    """The fake on a free port of this event loop; yields its ws:// URL."""
    async with serve(fake.handle, '127.0.0.1', 0, compression=None,
                     ping_interval=None, max_size=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f'ws://127.0.0.1:{port}/'


@contextlib.contextmanager
def serving_in_thread(fake: FakeZaqarWs) -> Iterator[str]:
    """The fake in an event loop of its own thread (for the real command,
    whose processes connect from outside); yields its ws:// URL."""
    ready = threading.Event()
    found: dict[str, Any] = {}

    async def main() -> None:
        found['loop'] = asyncio.get_running_loop()
        found['stop'] = stop = asyncio.Event()
        async with serving(fake) as url:
            found['url'] = url
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=asyncio.run, args=(main(),),
                              daemon=True)
    thread.start()
    try:
        assert ready.wait(30), 'the fake WebSocket Zaqar did not start'
        yield found['url']
    finally:
        if 'stop' in found:
            found['loop'].call_soon_threadsafe(found['stop'].set)
        thread.join(30)
