"""The self-check: the trivial server, and both measurements."""

import asyncio
import json
import shutil

import pytest

from zaqar_bench import selfcheck
from zaqar_bench.api import HttpApi
from zaqar_bench.config import BenchConfig
from zaqar_bench.http import Connection
from zaqar_bench.http import Endpoint
from zaqar_bench.http import ResponseParser
from zaqar_testing.ci import unavailable


def test_the_trivial_server_answers_each_request_even_pipelined(
        trivial_server: selfcheck.TrivialServer) -> None:
    api = HttpApi(Endpoint.from_url(trivial_server.url), 'p')
    post = api.post_messages('q', 3, 60, 100)

    async def scenario() -> list[int]:
        reader, writer = await asyncio.open_connection(
            trivial_server.host, trivial_server.port)
        # Three requests in one write, the last split in two.
        writer.write(post * 2 + post[:50])
        await asyncio.sleep(0.05)
        writer.write(post[50:])
        parser = ResponseParser()
        statuses: list[int] = []
        while len(statuses) < 3:
            statuses += [r.status for r in parser.feed(await reader.read(
                65536))]
        writer.close()
        return statuses

    assert asyncio.run(scenario()) == [201, 201, 201]


def test_the_bench_client_works_against_it(
        trivial_server: selfcheck.TrivialServer) -> None:
    async def scenario() -> None:
        conn = Connection(Endpoint.from_url(trivial_server.url))
        response = await conn.request(HttpApi(conn.endpoint, 'p').ping())
        assert response.status == 201
        assert json.loads(response.body)['resources']
        conn.close()

    asyncio.run(scenario())


def test_the_wrk_script_sends_the_bench_request() -> None:
    config = BenchConfig(url='http://127.0.0.1:9', batch=2, message_size=7)
    script = selfcheck._wrk_script(config)
    assert 'wrk.method = "POST"' in script
    assert ('wrk.body = [==[{"messages":[{"ttl":300,"body":{"padding":'
            '"xxxxxxx"}},{"ttl":300,"body":{"padding":"xxxxxxx"}}]}]==]'
            in script)
    for header in ('Client-ID', 'X-Project-Id', 'Content-Type'):
        assert f'wrk.headers["{header}"]' in script
    assert 'Content-Length' not in script  # wrk adds its own


def test_bench_measurement_counts_cpu_per_request() -> None:
    check = selfcheck.self_check(duration=0.5, connections=2,
                                 use_wrk=False, rounds=1)
    bench = check['bench']
    assert bench['requests'] > 0 and bench['errors'] == 0
    assert bench['requests_per_s'] > 0
    assert 0 < bench['cpu_us_per_request'] < 10000
    assert check['wrk'] is None and check['bench_vs_wrk'] is None


def test_wrk_measurement_against_the_same_server() -> None:
    if shutil.which('wrk') is None:
        unavailable('wrk is not installed (apt-get install wrk)')
    check = selfcheck.self_check(duration=1, connections=2, rounds=2)
    wrk = check['wrk']
    assert wrk['requests'] > 0 and wrk['requests_per_s'] > 0
    assert wrk['cpu_us_per_request'] > 0
    assert check['bench_vs_wrk'] > 0
    # Medians of the two rounds.
    rates = sorted(r['wrk']['requests_per_s'] for r in check['rounds'])
    assert wrk['requests_per_s'] == pytest.approx(sum(rates) / 2)
