"""The real ``zaqar-bench`` against a real Zaqar server.

The bench's own counts are checked against what the server ends up
holding: every message posted (prefill included) and not deleted must
still be in the queues, and every message claimed and not deleted must
still be claimed.
"""

import uuid

from zaqar_bench.tests.conftest import ZaqarServer
from zaqar_bench.tests.conftest import run_bench

PREFILL = 40
QUEUES = 2


def queue_totals(server: ZaqarServer, project: str,
                 prefix: str) -> tuple[int, int]:
    """(total, claimed) messages over the bench's queues."""
    total = claimed = 0
    for i in range(QUEUES):
        found = server.get_json(f'/v2/queues/{prefix}-{i}/stats',
                                project)['messages']
        total += found['total']
        claimed += found['claimed']
    return total, claimed


def test_all_roles_move_messages_and_the_server_agrees(
        zaqar_server: ZaqarServer) -> None:
    project = f'bench-{uuid.uuid4().hex[:8]}'
    run = run_bench(
        '--url', zaqar_server.url, '--project', project, '--time', '2',
        '--queues', str(QUEUES), '--prefill', str(PREFILL),
        '--batch', '5', '--message-size', '100',
        '--producer-processes', '1', '--producer-workers', '2',
        '--consumer-processes', '1', '--consumer-workers', '2',
        '--observer-processes', '1', '--observer-workers', '1',
        '--json')
    assert run.returncode == 0, run.stderr
    result = run.json()
    ops = result['ops']

    assert result['prefill']['messages'] == PREFILL * QUEUES
    assert ops['post']['messages'] > 0
    assert ops['post']['messages'] == 5 * ops['post']['ok']
    assert ops['claim']['messages'] > 0
    assert ops['delete']['messages'] > 0
    assert ops['list']['requests'] > 0 and ops['list']['messages'] > 0
    assert result['roles']['consumer']['messages'] == \
        ops['delete']['messages']
    for name, op in ops.items():
        assert op['errors']['5xx'] == 0, (name, op['errors'])
        assert op['errors']['connection'] == 0, (name, op['errors'])
        assert op['requests'] == op['ok'], (name, op['errors'])
        lat = op['latency_ms']
        assert 0 < lat['p50'] <= lat['p95'] <= lat['p99'] <= lat['max'], \
            (name, lat)
        assert op['requests_per_s'] > 0
    assert 0 < result['duration_s'] < 2 + 5
    assert result['client']['cpu_us_per_request'] > 0

    # The server holds exactly what the bench says it left behind.
    posted = PREFILL * QUEUES + ops['post']['messages']
    deleted = ops['delete']['messages']
    still_claimed = ops['claim']['messages'] - deleted
    assert queue_totals(zaqar_server, project, 'bench') == \
        (posted - deleted, still_claimed)

    # Progress went to stderr while it ran, and nothing else to stdout.
    progress = [line for line in run.stderr.splitlines()
                if line.startswith('[')]
    # A role shows once it has answers: on a busy machine the first line
    # may come before the first post does.
    assert progress and any('producer' in line for line in progress) \
        and 'errors 0' in progress[-1]


def test_prefill_alone_builds_an_exact_backlog(
        zaqar_server: ZaqarServer) -> None:
    project = f'bench-{uuid.uuid4().hex[:8]}'
    run = run_bench('--url', zaqar_server.url, '--project', project,
                    '--queues', str(QUEUES), '--queue-prefix', 'backlog',
                    '--prefill', '45', '--prefill-batch', '20',
                    '--time', '0', '--json')
    assert run.returncode == 0, run.stderr
    assert run.json()['prefill']['messages'] == 45 * QUEUES
    assert run.json()['ops'] == {}
    assert queue_totals(zaqar_server, project, 'backlog') == (45 * QUEUES, 0)
