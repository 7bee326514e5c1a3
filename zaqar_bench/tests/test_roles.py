"""The role loops against a scripted Zaqar: what they send, what they count."""

import asyncio
import json

from zaqar_bench import roles
from zaqar_bench.api import HttpApi
from zaqar_bench.config import BenchConfig
from zaqar_bench.http import Connection
from zaqar_bench.http import Endpoint
from zaqar_bench.stats import OpStats

CLAIM_ID = 'c0ffee'


def reply(status: int, doc: object | None = None) -> bytes:
    body = b'' if doc is None else json.dumps(doc).encode()
    reason = {200: 'OK', 201: 'Created', 204: 'No Content'}[status]
    head = f'HTTP/1.1 {status} {reason}\r\n'
    if status != 204:
        head += f'Content-Length: {len(body)}\r\n'
    return head.encode() + b'\r\n' + body


class ScriptedZaqar:
    """Answers claims (one with two messages, then empty), deletes and
    message lists (one page, then an empty one); logs request lines."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.claims = 0

    def answer(self, method: str, target: str) -> bytes:
        if method == 'POST' and '/claims?' in target:
            self.claims += 1
            if self.claims > 1:
                return reply(204)
            return reply(201, {'messages': [
                {'id': i, 'href': f'/v2/queues/q/messages/{i}'
                                  f'?claim_id={CLAIM_ID}',
                 'ttl': 60, 'age': 0, 'body': {}} for i in ('1', '2')]})
        if method == 'DELETE':
            return reply(204)
        if method == 'GET' and 'marker=' not in target:
            return reply(200, {
                'messages': [{'id': '1'}, {'id': '2'}],
                'links': [{'rel': 'next', 'href': '/v2/queues/q/messages'
                           '?limit=2&echo=true&marker=2'}]})
        return reply(200, {'messages': [], 'links': []})

    async def handle(self, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head = await reader.readuntil(b'\r\n\r\n')
            except asyncio.IncompleteReadError:
                break
            length = 0
            for line in head.split(b'\r\n'):
                if line.lower().startswith(b'content-length:'):
                    length = int(line.split(b':')[1])
            await reader.readexactly(length)
            method, target = head.split(b' ', 2)[:2]
            self.requests.append(f'{method.decode()} {target.decode()}')
            writer.write(self.answer(method.decode(), target.decode()))
        writer.close()


async def run_role(role: str, seconds: float = 0.3
                   ) -> tuple[ScriptedZaqar, dict[str, OpStats]]:
    zaqar = ScriptedZaqar()
    server = await asyncio.start_server(zaqar.handle, '127.0.0.1', 0)
    url = f'http://127.0.0.1:{server.sockets[0].getsockname()[1]}'
    config = BenchConfig(url=url, batch=2)
    ops = {op: OpStats() for op in roles.ROLE_OPS[role]}
    conn = Connection(Endpoint.from_url(url))
    try:
        await roles.ROLE_LOOPS[role](conn, HttpApi(conn.endpoint, 'p'), 'q',
                                     config, ops, roles.Clock(seconds))
    finally:
        conn.close()
        server.close()
        await server.wait_closed()
    return zaqar, ops


def test_consumer_deletes_each_claimed_message_then_keeps_polling() -> None:
    zaqar, ops = asyncio.run(run_role('consumer'))
    assert zaqar.requests[:4] == [
        'POST /v2/queues/q/claims?limit=2',
        f'DELETE /v2/queues/q/messages/1?claim_id={CLAIM_ID}',
        f'DELETE /v2/queues/q/messages/2?claim_id={CLAIM_ID}',
        'POST /v2/queues/q/claims?limit=2']
    claims, deletes = ops['claim'], ops['delete']
    # Every 204 after the first claim is an empty claim, not an error.
    assert claims.requests == zaqar.claims > 2
    assert (claims.messages, claims.empty, claims.errors) == \
        (2, zaqar.claims - 1, {})
    assert (deletes.requests, deletes.messages, deletes.errors) == (2, 2, {})


def test_observer_follows_next_to_an_empty_page_then_starts_over() -> None:
    zaqar, ops = asyncio.run(run_role('observer'))
    first = 'GET /v2/queues/q/messages?limit=2&echo=true'
    second = 'GET /v2/queues/q/messages?limit=2&echo=true&marker=2'
    assert zaqar.requests[:4] == [first, second, first, second]
    listing = ops['list']
    assert listing.requests == len(zaqar.requests)
    assert listing.messages == 2 * zaqar.requests.count(first)
    assert listing.empty == zaqar.requests.count(second)
    assert listing.errors == {}


def test_producer_posts_whole_batches_until_the_clock_stops() -> None:
    zaqar, ops = asyncio.run(run_role('producer', seconds=0.2))
    assert zaqar.requests and set(zaqar.requests) == {
        'POST /v2/queues/q/messages'}
    post = ops['post']
    # The scripted server answers a post like an empty list (200): 2xx.
    assert post.requests == post.ok == len(zaqar.requests)
    assert post.messages == 2 * post.ok


def test_a_stopped_clock_sends_nothing() -> None:
    zaqar, ops = asyncio.run(run_role('consumer', seconds=0))
    assert zaqar.requests == []
    assert ops['claim'].requests == 0
