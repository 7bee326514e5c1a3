"""policy.yaml overrides, enforced on the roles of real Keystone tokens.

A zaqar-server of its own (see ``make_keystone_server``) so that its
policy file can be edited without touching the stack's.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from zaqar_core.policy import RELOAD_CHECK_INTERVAL
from zaqar_core.tests.functional.helpers import assert_error

from .conftest import KeystoneServer
from .conftest import Stack
from .conftest import unique

POLICY = '''\
"queues:delete": "role:admin"
'''
#: The enforcer looks at the file at most once a second (per process).
RELOAD_WITHIN = 5.0


@pytest.fixture(scope='session')
def policy_server(make_keystone_server) -> KeystoneServer:
    return make_keystone_server(POLICY)


def rewrite(path: Path, text: str) -> None:
    """Replaces the policy file, with an mtime no earlier version had (an
    edit within the same clock tick must still look changed)."""
    before = path.stat().st_mtime_ns
    tmp = path.with_name(path.name + '.tmp')
    tmp.write_text(text)
    os.replace(tmp, path)
    mtime = max(time.time_ns(), before + 1_000_000_000)
    os.utime(path, ns=(mtime, mtime))


def stats_status(stack: Stack, server: KeystoneServer, user: str,
                 queue: str) -> int:
    # A new connection each time, so that every server worker answers
    # sooner or later.
    resp = stack.api(user, url=server.url).get(
        f'/v2/queues/{queue}/stats', headers={'Connection': 'close'})
    return resp.status_code


def wait_for_status(stack: Stack, server: KeystoneServer, user: str,
                    queue: str, expected: int) -> float:
    """Seconds until ``expected`` is the steady answer: six in a row, over
    longer than an enforcer waits between looks at the file, so that every
    worker process (each looks on its own) has seen the change."""
    started = time.monotonic()
    streak = 0
    steady_since = started
    while streak < 6 or \
            time.monotonic() - steady_since <= RELOAD_CHECK_INTERVAL:
        elapsed = time.monotonic() - started
        status = stats_status(stack, server, user, queue)
        assert status in (200, 403), status
        if status == expected:
            if streak == 0:
                steady_since = time.monotonic()
            streak += 1
        else:
            streak = 0
            assert elapsed < RELOAD_WITHIN, \
                f'still {status} after {elapsed:.1f} s, not {expected}'
        time.sleep(0.1)
    return steady_since - started


def test_overridden_rule_refuses_a_member(stack: Stack,
                                          policy_server: KeystoneServer
                                          ) -> None:
    name = unique('policy')
    demo = stack.api('demo', url=policy_server.url)
    demo.create_queue(name)
    resp = demo.delete(f'/v2/queues/{name}')
    assert_error(resp, 403, 'Not authorized',
                 'not authorized to complete this action')
    # Nothing happened.
    resp = demo.get('/v2/queues')
    assert name in [q['name'] for q in resp.json()['queues']]


def test_overridden_rule_lets_an_admin_through(stack: Stack,
                                               policy_server: KeystoneServer
                                               ) -> None:
    name = unique('policy')
    admin = stack.api('admin', url=policy_server.url)
    admin.create_queue(name)
    assert admin.delete(f'/v2/queues/{name}').status_code == 204
    resp = admin.get('/v2/queues')
    assert name not in [q['name'] for q in resp.json()['queues']]


def test_rules_not_overridden_keep_their_defaults(
        stack: Stack, policy_server: KeystoneServer) -> None:
    demo = stack.api('demo', url=policy_server.url)
    name = unique('policy')
    assert demo.post(f'/v2/queues/{name}/messages', json={
        'messages': [{'body': 1, 'ttl': 60}]}).status_code == 201
    assert demo.stats(name)['total'] == 1
    assert_error(demo.get('/v2/health'), 403, 'Not authorized',
                 'not authorized')
    assert stack.api('admin', url=policy_server.url).get(
        '/v2/health').status_code == 200


def test_policy_file_changes_apply_without_a_restart(
        stack: Stack, policy_server: KeystoneServer) -> None:
    name = unique('reload')
    demo = stack.api('demo', url=policy_server.url)
    demo.create_queue(name)
    pid = policy_server.server.process.pid
    wait_for_status(stack, policy_server, 'demo', name, 200)
    try:
        rewrite(policy_server.policy_file,
                POLICY + '"queues:stats": "role:admin"\n')
        took = wait_for_status(stack, policy_server, 'demo', name, 403)
        assert took < RELOAD_WITHIN
        # The new rule reads the token's roles, as the old ones do.
        assert stats_status(stack, policy_server, 'admin', name) == 200
        assert_error(demo.get(f'/v2/queues/{name}/stats'), 403,
                     'Not authorized')
    finally:
        rewrite(policy_server.policy_file, POLICY)
    wait_for_status(stack, policy_server, 'demo', name, 200)
    # The same server process all along.
    assert policy_server.server.process.pid == pid
    assert policy_server.server.process.alive()
