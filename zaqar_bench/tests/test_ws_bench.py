"""The bench over WebSocket: roles, the real command and the self-check,
against the fake WebSocket Zaqar (pushes, fragments, pings and all)."""

import asyncio
import json
import uuid
from collections.abc import Iterator

import msgpack
import pytest

from zaqar_bench import roles
from zaqar_bench import selfcheck
from zaqar_bench.api import WsApi
from zaqar_bench.api import make_api
from zaqar_bench.config import BenchConfig
from zaqar_bench.stats import OpStats
from zaqar_bench.tests.conftest import run_bench
from zaqar_bench.tests.fake_ws_zaqar import FakeZaqarWs
from zaqar_bench.tests.fake_ws_zaqar import serving
from zaqar_bench.tests.fake_ws_zaqar import serving_in_thread
from zaqar_bench.ws import WsEndpoint
from zaqar_bench.ws import classify
from zaqar_testing.ports import free_port


async def run_role(fake: FakeZaqarWs, role: str, seconds: float = 0.3,
                   lanes: int = 1, encoding: str = 'json',
                   backlog: int = 0) -> dict[str, OpStats]:
    """``lanes`` loops of ``role`` sharing one connection (pipelining)."""
    ops = {op: OpStats() for op in roles.ROLE_OPS[role]}
    async with serving(fake) as url:
        config = BenchConfig(transport='ws', ws_url=url, batch=2,
                             ws_encoding=encoding, pipeline=lanes)
        api = make_api(config)
        conn = api.connection()
        if backlog:
            await conn.request(api.post_messages('q', backlog, 300, 1))
        clock = roles.Clock(seconds)
        try:
            await asyncio.gather(*(roles.ROLE_LOOPS[role](
                conn, api, 'q', config, ops, clock) for _ in range(lanes)))
        finally:
            await conn.wait_closed()
    return ops


@pytest.mark.parametrize('lanes', [1, 4])
def test_consumer_deletes_each_claimed_message_with_its_claim(
        lanes: int) -> None:
    fake = FakeZaqarWs()
    ops = asyncio.run(run_role(fake, 'consumer', lanes=lanes, backlog=7))
    claims, deletes = ops['claim'], ops['delete']
    # Every message claimed (batch 2) was deleted, none refused.
    assert claims.messages == deletes.messages == 7
    assert deletes.requests == deletes.ok == 7
    assert claims.errors == {} and deletes.errors == {}
    # Then empty claims (204) until the clock stops: successes.
    assert claims.empty == claims.requests - 4 > 0
    assert fake.queues[('zaqar-bench', 'q')] == {}
    assert fake.stats.pushes > 0 and fake.stats.fragmented > 0


def test_producer_posts_whole_batches_even_pipelined() -> None:
    fake = FakeZaqarWs()
    ops = asyncio.run(run_role(fake, 'producer', seconds=0.2, lanes=3,
                               encoding='msgpack'))
    post = ops['post']
    assert post.requests == post.ok > 0 and post.errors == {}
    assert post.messages == 2 * post.ok
    assert len(fake.queues[('zaqar-bench', 'q')]) == post.messages
    assert fake.stats.encodings == {'msgpack'}


def test_observer_lists_the_first_page_every_time() -> None:
    fake = FakeZaqarWs()
    ops = asyncio.run(run_role(fake, 'observer', backlog=3))
    listing = ops['list']
    assert listing.requests == listing.ok > 0
    # batch 2: each list shows 2 of the 3 messages; there is no next page.
    assert listing.messages == 2 * listing.requests
    assert set(fake.stats.actions) == {'message_post', 'message_list'}


def test_a_stopped_clock_sends_nothing() -> None:
    fake = FakeZaqarWs()
    ops = asyncio.run(run_role(fake, 'consumer', seconds=0))
    assert ops['claim'].requests == 0
    assert fake.stats.actions == []


# --- the real command --------------------------------------------------


@pytest.fixture
def fake_url() -> Iterator[tuple[FakeZaqarWs, str]]:
    fake = FakeZaqarWs()
    with serving_in_thread(fake) as url:
        yield fake, url


ALL_ROLES = ('--producer-processes', '1', '--producer-workers', '2',
             '--consumer-processes', '1', '--consumer-workers', '2',
             '--observer-processes', '1', '--observer-workers', '1')


@pytest.mark.parametrize('extra', [(), ('--ws-encoding', 'msgpack',
                                        '--pipeline', '3')])
def test_all_roles_over_websocket_and_the_server_agrees(
        fake_url: tuple[FakeZaqarWs, str], extra: tuple[str, ...]) -> None:
    fake, url = fake_url
    project = f'bench-{uuid.uuid4().hex[:8]}'
    run = run_bench('--transport', 'ws', '--ws-url', url,
                    '--project', project, '--time', '1.5', '--queues', '2',
                    '--prefill', '30', '--batch', '5',
                    '--message-size', '50', *ALL_ROLES, *extra, '--json')
    assert run.returncode == 0, run.stderr
    result = run.json()
    ops = result['ops']
    assert result['transport'] == 'ws' and result['url'] == url
    assert result['pipeline'] == (3 if extra else 1)
    assert result['ws_encoding'] == ('msgpack' if extra else 'json')
    assert result['prefill']['messages'] == 60
    for name, op in ops.items():
        assert op['requests'] == op['ok'] > 0, (name, op['errors'])
        lat = op['latency_ms']
        assert 0 < lat['p50'] <= lat['p99'] <= lat['max'], (name, lat)
    assert ops['post']['messages'] == 5 * ops['post']['ok']
    assert ops['delete']['messages'] > 0 and ops['list']['messages'] > 0
    assert result['client']['cpu_us_per_request'] > 0

    # Pushes, fragments and pings came and did not disturb anything.
    stats = fake.stats
    assert stats.pushes > 0 and stats.fragmented > 0
    # (A connection may close before its ping is answered.)
    assert stats.pongs > 0
    assert stats.encodings == {'msgpack' if extra else 'json'}
    # Every connection (setup, prefill, 5 workers) was closed cleanly.
    assert set(stats.close_codes) == {1000}
    # Exactly what the bench says it left behind.
    posted = 60 + ops['post']['messages']
    deleted = ops['delete']['messages']
    assert fake.totals(project) == (posted - deleted,
                                    ops['claim']['messages'] - deleted)


def test_the_table_names_the_transport(
        fake_url: tuple[FakeZaqarWs, str]) -> None:
    fake, url = fake_url
    run = run_bench('--transport', 'ws', '--ws-url', url, '--time', '1',
                    '--pipeline', '2', '--quiet',
                    '--consumer-processes', '0', '--observer-processes', '0')
    assert run.returncode == 0, run.stderr
    assert f'against {url} over WebSocket (json, pipeline 2)' in run.stdout
    assert run.stderr == ''


def test_token_authenticates_each_connection() -> None:
    fake = FakeZaqarWs(token='s3cret')
    with serving_in_thread(fake) as url:
        run = run_bench('--transport', 'ws', '--ws-url', url, '--time',
                        '0.5', '--token', 's3cret', '--json',
                        '--producer-workers', '2',
                        '--consumer-processes', '0',
                        '--observer-processes', '0')
        assert run.returncode == 0, run.stderr
        assert run.json()['ops']['post']['errors']['4xx'] == 0
        refused = run_bench('--transport', 'ws', '--ws-url', url,
                            '--time', '1', '--token', 'wrong')
    assert refused.returncode == 1
    assert 'authenticate: status 401' in refused.stderr
    # setup + 2 producers, then the refused setup.
    assert fake.stats.actions.count('authenticate') == 4


def test_a_refused_setup_names_the_action(
        fake_url: tuple[FakeZaqarWs, str]) -> None:
    fake, url = fake_url
    run = run_bench('--transport', 'ws', '--ws-url', url,
                    '--queue-prefix', 'bad name!', '--time', '5')
    assert run.returncode == 1
    assert 'queue_create: status 400' in run.stderr


def test_an_unreachable_websocket_server_fails_at_once() -> None:
    url = f'ws://127.0.0.1:{free_port()}'
    run = run_bench('--transport', 'ws', '--ws-url', url, '--time', '5')
    assert run.returncode == 1
    assert 'cannot reach' in run.stderr and url in run.stderr


@pytest.mark.parametrize(('args', 'message'), [
    (['--pipeline', '2'], '--pipeline needs --transport ws'),
    (['--transport', 'ws', '--ws-url', 'http://h:9000'],
     'not a ws(s) URL'),
    (['--url', 'ws://h:9000'], '--transport ws --ws-url'),
])
def test_bad_transport_options_exit_2(args: list[str], message: str,
                                      capsys: pytest.CaptureFixture) -> None:
    from zaqar_bench import cli
    assert cli.main(args) == 2
    assert message in capsys.readouterr().err


# --- the self-check ---------------------------------------------------------


def test_the_trivial_ws_reply_echoes_the_request_in_its_framing() -> None:
    for encoding in ('json', 'msgpack'):
        api = WsApi(WsEndpoint.from_url('ws://h:1'), 'p', encoding=encoding)
        request = api.post_messages('q', 2, 60, 5)
        raw = request.payload if api.binary else request.payload.decode()
        reply = selfcheck.ws_reply(raw)
        data = reply if isinstance(reply, bytes) else reply.encode()
        found = classify(data, api.binary)
        assert found.status == 201
        assert found.body == {'message_ids': ['1']}
        sent = (msgpack.unpackb(request.payload) if api.binary
                else json.loads(request.payload))
        assert found.document()['request'] == sent


@pytest.mark.parametrize('pipeline', [1, 2])
def test_ws_self_check_measures_the_client(pipeline: int) -> None:
    check = selfcheck.self_check(duration=0.5, connections=2, rounds=1,
                                 transport='ws', pipeline=pipeline)
    bench = check['bench']
    assert bench['requests'] > 0 and bench['errors'] == 0
    assert 0 < bench['cpu_us_per_request'] < 10000
    assert check['wrk'] is None
    ref = check['websockets_client']
    assert ref['requests'] > 0 and ref['cpu_us_per_request'] > 0
    assert check['cpu_vs_reference'] > 0
    assert 'websockets' in selfcheck._describe(check)
