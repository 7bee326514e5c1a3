"""The clients against a server without authentication (development), as
doc/source/user/clients.rst says to run them: ``openstack
--os-auth-type none`` needs ``[DEFAULT] noauth_project_id``;
python-zaqarclient's ``noauth`` backend sends its project itself."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from zaqarclient.queues import client as zaqar_client

from zaqar_core.tests.keystone.test_clients import openstack_command

from .helpers import ApiClient
from .helpers import Server

ON_SQLITE = pytest.mark.parametrize('backend', ['sqlite'], indirect=True)
CLI_TIMEOUT = 120
PROJECT = 'dev-project'


def openstack(server: Server, *args: str) -> subprocess.CompletedProcess:
    """``openstack --os-auth-type none --os-endpoint URL ARGS``, with no
    OS_* variable of ours leaking in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith('OS_')}
    return subprocess.run(
        [openstack_command(), '--os-auth-type', 'none', '--os-endpoint',
         server.url, *args],
        env=env, capture_output=True, text=True, timeout=CLI_TIMEOUT,
        stdin=subprocess.DEVNULL, check=False)


@ON_SQLITE
def test_openstack_messaging_with_noauth_project_id(
        make_server: Callable[..., Server]) -> None:
    server = make_server(DEFAULT={'noauth_project_id': PROJECT})
    name = f'osc-{uuid.uuid4().hex[:8]}'
    created = openstack(server, 'messaging', 'queue', 'create', name)
    assert created.returncode == 0, created.stderr
    listed = openstack(server, 'messaging', 'queue', 'list', '-f', 'value')
    assert listed.returncode == 0, listed.stderr
    assert name in listed.stdout.split()
    # The queue is the configured project's, as a header would say.
    rest = ApiClient(server.url, project_id=PROJECT)
    assert rest.get(f'/v2/queues/{name}/stats').status_code == 200
    assert name not in [q['name'] for q in ApiClient(server.url).get(
        '/v2/queues').json().get('queues', [])]
    # A header still wins.
    resp = ApiClient(server.url, project_id='other').get('/v2/queues')
    assert resp.status_code in (200, 204)
    assert name not in [q['name'] for q in
                        (resp.json() if resp.content else {}).get(
                            'queues', [])]


@ON_SQLITE
def test_without_the_option_the_cli_gets_upstreams_clear_400(
        server: Server) -> None:
    result = openstack(server, 'messaging', 'queue', 'list')
    assert result.returncode != 0
    assert 'Code: 400' in result.stderr
    assert 'Project-Id Missing' in result.stderr


@ON_SQLITE
def test_zaqarclient_noauth_backend(server: Server) -> None:
    project = f'p-{uuid.uuid4().hex[:8]}'
    conf: dict[str, Any] = {'auth_opts': {'backend': 'noauth', 'options': {
        'os_project_id': project}}}
    cli = zaqar_client.Client(server.url, version=2, conf=conf)
    queue = cli.queue('dev-queue')
    queue.post({'body': {'hello': 'world'}, 'ttl': 300})
    assert [m.body for m in queue.messages(echo=True)] == [
        {'hello': 'world'}]
    assert ApiClient(server.url, project_id=project).get(
        '/v2/queues/dev-queue/stats').json()['messages']['total'] == 1
