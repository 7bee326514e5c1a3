"""The command line: output formats and exit status.

Runs the real command against the self-check's trivial server, which
answers every request (ping, queue creation, posts) with a 201: enough
for producers, and fast, so these runs are short.
"""

import pytest

from zaqar_bench import cli
from zaqar_bench import runner
from zaqar_bench.selfcheck import TrivialServer
from zaqar_bench.tests.conftest import run_bench
from zaqar_testing.ports import free_port

PRODUCERS_ONLY = ('--producer-processes', '2', '--producer-workers', '2',
                  '--consumer-processes', '0', '--observer-processes', '0')


def test_json_is_one_line_with_every_number(
        trivial_server: TrivialServer) -> None:
    run = run_bench('--url', trivial_server.url, '--time', '1', '--json',
                    *PRODUCERS_ONLY)
    assert run.returncode == 0, run.stderr
    result = run.json()
    post = result['ops']['post']
    assert set(result['ops']) == {'post'}
    assert post['requests'] > 0 and post['requests'] == post['ok']
    assert post['messages'] == 10 * post['ok']
    assert post['errors'] == {'4xx': 0, '5xx': 0, 'connection': 0,
                              'other': 0, 'by_status': {}}
    assert set(post['latency_ms']) == {'p50', 'p95', 'p99', 'mean', 'max'}
    producer = result['roles']['producer']
    assert (producer['processes'], producer['workers']) == (2, 2)
    assert producer['requests'] == post['requests']
    # Rates are over the measured window: from the common start to the
    # last recorded request, which ends after the deadline (workers send
    # until then) and within the drain limit (later ones are dropped;
    # +1 s for the tick that enforces it).
    assert result['nominal_duration_s'] == 1.0
    assert 1.0 <= result['duration_s'] <= 1.0 + runner.DRAIN_SECONDS + 1
    assert post['requests_per_s'] == pytest.approx(
        post['requests'] / result['duration_s'], rel=0.01)


def test_the_table_and_the_progress_lines(
        trivial_server: TrivialServer) -> None:
    run = run_bench('--url', trivial_server.url, '--time', '2.2',
                    *PRODUCERS_ONLY)
    assert run.returncode == 0, run.stderr
    rows = {line.split()[0]: line.split() for line in run.stdout.splitlines()
            if line.strip()}
    assert rows['op'][:4] == ['op', 'requests', 'req/s', 'msg/s']
    assert int(rows['post'][1]) > 0
    assert rows['producer'][1:3] == ['2', '2']
    assert 'bench CPU' in run.stdout
    progress = [line for line in run.stderr.splitlines()
                if line.startswith('[')]
    # About one a second within the 2.2 s run: never more than two; a
    # slow machine may report less often.
    assert 1 <= len(progress) <= 2
    assert all('producer' in line and 'errors 0' in line
               for line in progress)


def test_quiet_prints_no_progress(trivial_server: TrivialServer) -> None:
    run = run_bench('--url', trivial_server.url, '--time', '1.2', '--quiet',
                    '--json', *PRODUCERS_ONLY)
    assert run.returncode == 0
    assert run.stderr == ''


def test_an_unreachable_server_fails_at_once() -> None:
    url = f'http://127.0.0.1:{free_port()}'
    run = run_bench('--url', url, '--time', '5', '--json')
    assert run.returncode == 1
    assert run.stdout == ''
    assert 'cannot reach' in run.stderr and url in run.stderr


def test_a_server_refusing_the_setup_fails_at_once(
        zaqar_server) -> None:
    # An invalid queue name: the server answers 400 to the PUT.
    run = run_bench('--url', zaqar_server.url, '--queue-prefix', 'bad name!',
                    '--time', '5')
    assert run.returncode == 1
    assert 'HTTP 400' in run.stderr


@pytest.mark.parametrize('args', [['--batch', '0'], ['--time', '-1'],
                                  ['--producer-workers', '-2']])
def test_bad_options_exit_2(args: list[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.build_parser().parse_args(args)
    assert caught.value.code == 2


def test_a_bad_url_exits_2(capsys: pytest.CaptureFixture) -> None:
    assert cli.main(['--url', 'localhost:8888']) == 2
    assert 'not an http(s) URL' in capsys.readouterr().err


def test_options_reach_the_config() -> None:
    args = cli.build_parser().parse_args([
        '--url', 'http://h:1', '--time', '3', '--queues', '4',
        '--consumer-processes', '2', '--consumer-workers', '16',
        '--observer-processes', '0', '--token', 't'])
    config = cli.config_from_args(args)
    assert config.duration == 3.0 and config.token == 't'
    assert config.roles['consumer'].processes == 2
    assert config.roles['consumer'].workers == 16
    assert config.enabled_roles() == ['producer', 'consumer']
    # Workers spread over the queues, in step across roles.
    assert [config.queue_for(w) for w in range(5)] == [
        'bench-0', 'bench-1', 'bench-2', 'bench-3', 'bench-0']
