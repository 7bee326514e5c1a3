"""The official clients with Keystone credentials: python-zaqarclient's
``keystone`` auth backend and ``openstack messaging ...`` with the stack's
clouds.yaml (the endpoint from the Keystone catalog)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from keystoneauth1 import exceptions as ka_exceptions
from zaqarclient.queues import client as zaqar_client
from zaqarclient.transport import errors as zaqar_errors

from zaqar_testing.ci import unavailable

from .conftest import Stack
from .conftest import unique

CLI_TIMEOUT = 60


def zaqarclient(stack: Stack, user: str, url: str | None
                ) -> zaqar_client.Client:
    return zaqar_client.Client(url, version=2, conf={
        'auth_opts': stack.users[user].zaqarclient_auth()})


# -- python-zaqarclient ----------------------------------------------------

@pytest.mark.parametrize('endpoint', ['given', 'from-catalog'])
def test_zaqarclient_queues_messages_claims(stack: Stack,
                                            endpoint: str) -> None:
    cli = zaqarclient(stack, 'demo',
                      stack.url if endpoint == 'given' else None)
    name = unique('zqc')
    queue = cli.queue(name, force_create=True)  # PUT: v2 queues are lazy
    try:
        names = {q.name for q in cli.queues(marker=name[:-1], limit=20)[0]}
        assert name in names
        queue.post([{'body': {'task': n}, 'ttl': 300} for n in range(3)])
        assert queue.stats['messages']['free'] == 3
        claimed = list(queue.claim(ttl=60, grace=60, limit=2))
        assert len(claimed) == 2
        for message in claimed:
            assert message.claim_id
            message.delete()
        stats = queue.stats['messages']
        assert (stats['free'], stats['claimed']) == (1, 0)
        # The queue is demo's: alt does not see it.
        alt = zaqarclient(stack, 'alt', stack.url)
        assert name not in {q.name for q in alt.queues(marker=name[:-1],
                                                       limit=20)[0]}
    finally:
        queue.delete()
    assert name not in {q.name for q in cli.queues(marker=name[:-1],
                                                   limit=20)[0]}


def test_zaqarclient_with_a_bad_token_is_unauthorized(stack: Stack) -> None:
    # A token and an endpoint given: the client asks Keystone nothing and
    # maps our server's 401 to its own exception.
    auth = stack.users['demo'].zaqarclient_auth()
    auth['options']['os_auth_token'] = 'not-a-token'
    cli = zaqar_client.Client(stack.url, version=2,
                              conf={'auth_opts': auth})
    with pytest.raises(zaqar_errors.UnauthorizedError):
        cli.queues()


def test_zaqarclient_with_a_wrong_password_is_refused_by_keystone(
        stack: Stack) -> None:
    auth = stack.users['demo'].zaqarclient_auth()
    auth['options']['os_password'] = 'not-the-password'
    cli = zaqar_client.Client(stack.url, version=2,
                              conf={'auth_opts': auth})
    with pytest.raises(ka_exceptions.Unauthorized):
        cli.queues()


# -- openstack messaging ... -----------------------------------------------

def openstack_command() -> str:
    """The ``openstack`` of this interpreter's virtualenv (where
    test-requirements.txt put python-openstackclient and the zaqarclient
    plugin under test), else PATH's."""
    candidate = Path(sys.executable).parent / 'openstack'
    if candidate.exists():
        return str(candidate)
    found = shutil.which('openstack')
    if found is None:
        unavailable('no "openstack" command: install python-openstackclient '
                    '(test-requirements.txt)')
    assert found is not None
    return found


def openstack(stack: Stack, *args: str, cloud: str = 'stack-demo') -> Any:
    """Runs ``openstack --os-cloud <cloud> <args>``; its JSON output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith('OS_')}
    env['OS_CLIENT_CONFIG_FILE'] = str(stack.clouds_yaml)
    result = subprocess.run(
        [openstack_command(), '--os-cloud', cloud, *args],
        env=env, capture_output=True, text=True, timeout=CLI_TIMEOUT,
        stdin=subprocess.DEVNULL, check=False)
    assert result.returncode == 0, \
        f'openstack {" ".join(args)}: exit {result.returncode}\n' \
        f'{result.stdout}\n{result.stderr}'
    out = result.stdout.strip()
    return json.loads(out) if out else None


def cli_queue_names(stack: Stack, name: str, cloud: str = 'stack-demo'
                    ) -> list[str]:
    rows = openstack(stack, 'messaging', 'queue', 'list', '--marker',
                     name[:-1], '--limit', '20', '-f', 'json', cloud=cloud)
    return [row['Name'] for row in rows]


def test_openstack_messaging_queues(stack: Stack) -> None:
    name = unique('osc')
    created = openstack(stack, 'messaging', 'queue', 'create', name,
                        '-f', 'json')
    assert created['Name'] == name
    try:
        assert name in cli_queue_names(stack, name)
        assert name not in cli_queue_names(stack, name, cloud='stack-alt')
    finally:
        openstack(stack, 'messaging', 'queue', 'delete', name)
    assert name not in cli_queue_names(stack, name)


def test_openstack_messaging_messages(stack: Stack) -> None:
    name = unique('osc-msg')
    openstack(stack, 'messaging', 'queue', 'create', name, '-f', 'json')
    try:
        bodies = [{'body': {'event': 'one'}, 'ttl': 300},
                  {'body': {'event': 'two'}, 'ttl': 300}]
        client_id = str(uuid.uuid4())
        openstack(stack, 'messaging', 'message', 'post', name,
                  json.dumps(bodies), '--client-id', client_id)
        rows = openstack(stack, 'messaging', 'message', 'list', name,
                         '--echo', '--client-id', client_id, '-f', 'json')
        assert sorted(row['Body']['event'] for row in rows) == \
            ['one', 'two']
        # Through the API with a token of the same project.
        assert stack.api('demo').stats(name)['total'] == 2
    finally:
        stack.api('demo').delete(f'/v2/queues/{name}')


def test_openstack_messaging_subscriptions(stack: Stack) -> None:
    name = unique('osc-sub')
    demo = stack.api('demo')
    demo.create_queue(name)
    try:
        subscriber = 'http://127.0.0.1:9/never-called'
        created = openstack(stack, 'messaging', 'subscription', 'create',
                            name, subscriber, '600', '--options',
                            json.dumps({'note': 'osc'}), '-f', 'json')
        assert created['Subscriber'] == subscriber
        rows = openstack(stack, 'messaging', 'subscription', 'list', name,
                         '-f', 'json')
        assert [(row['Subscriber'], row['TTL']) for row in rows] == [
            (subscriber, 600)]
        api_view = demo.get(f'/v2/queues/{name}/subscriptions').json()
        assert [s['options'] for s in api_view['subscriptions']] == [
            {'note': 'osc'}]
    finally:
        for sub in demo.get(f'/v2/queues/{name}/subscriptions').json()[
                'subscriptions']:
            demo.delete(f'/v2/queues/{name}/subscriptions/{sub["id"]}')
        demo.delete(f'/v2/queues/{name}')
