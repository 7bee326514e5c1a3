"""The official clients' pool and flavor calls against our server.

(a) python-zaqarclient's own functional tests for pools and flavors
(``QueuesV2PoolFunctionalTest`` and ``QueuesV2FlavorFunctionalTest`` in
the installed ``zaqarclient.tests.queues``), run as the sdist's runner
runs them: subclassed with ``is_functional = True`` and the HTTP
transport, with ``ZAQARCLIENT_TEST_FUNCTIONAL=1`` and ``ZAQAR_ENDPOINT``
set before the import. Their pools point at ``mongodb://127.0.0.1:27017``,
written into each test method; nothing here serves MongoDB, and the
server rightly refuses a pool it cannot reach. So the runner reads each
class's source from the installed client (``inspect.getsource``), swaps
that literal for a store of this run (a private Redis, then a throw-away
PostgreSQL database) and execs it in the class's own module namespace:
the tests run unchanged except for their URIs, and no copy of them lives
here. The client sends no roles (noauth, project ``my-project``), so the
server gets a policy file opening the pool and flavor rules to anyone.
The tests expect exactly one pool and one flavor on the first page, so
their server has a store of its own.

(b) ``openstack messaging pool ...`` and ``flavor ...``: the OSC plugin's
commands, with ``--os-auth-type none`` and ``[DEFAULT]
noauth_project_id``, checked against what the REST API shows afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from zaqar_testing.databases import PostgresDatabase
from zaqar_testing.redis_servers import RedisServer

from .helpers import ApiClient
from .helpers import Server
from .pool_catalog import ADMIN
from .pool_catalog import OPEN_POLICY
from .pool_catalog import POOLING
from .pool_catalog import unique
from .test_clients_without_auth import openstack

ON_SQLITE = pytest.mark.parametrize('backend', ['sqlite'], indirect=True)
PROJECT = 'osc-pool-project'
RUN_TIMEOUT = 300

#: The ten tests, as the runner reports them (class name, method).
CLIENT_TESTS = sorted(
    [f'Pools.test_pool_{n}' for n in
     ('create', 'delete', 'get', 'list', 'update')] +
    [f'Flavors.test_flavor_{n}' for n in
     ('create', 'delete', 'get', 'list', 'update')])

#: Run as ``python RUNNER <target uri> <report path>`` with the
#: environment set; writes what became of each test as JSON.
RUNNER = '''
import inspect
import json
import sys
import unittest

from zaqarclient.tests.queues import flavor
from zaqarclient.tests.queues import pool
from zaqarclient.transport import http

TARGET, REPORT = sys.argv[1:3]
UPSTREAM_URIS = ("'mongodb://127.0.0.1:27017'", "'sqlite://'")


def retargeted(module, name):
    """The class ``name`` of ``module``, its pool URIs swapped."""
    source = inspect.getsource(getattr(module, name))
    assert UPSTREAM_URIS[0] in source, name
    for literal in UPSTREAM_URIS:
        source = source.replace(literal, repr(TARGET))
    namespace = dict(vars(module))
    exec(compile(source, module.__file__, 'exec'), namespace)
    return namespace[name]


class Pools(retargeted(pool, 'QueuesV2PoolFunctionalTest')):
    is_functional = True
    transport_cls = http.HttpTransport


class Flavors(retargeted(flavor, 'QueuesV2FlavorFunctionalTest')):
    is_functional = True
    transport_cls = http.HttpTransport


class Report(unittest.TextTestResult):
    outcomes = {}

    def _note(self, test, outcome, detail=''):
        name = type(test).__name__ + '.' + test._testMethodName
        self.outcomes[name] = [outcome, str(detail)]

    def addSuccess(self, test):
        super().addSuccess(test)
        self._note(test, 'passed')

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._note(test, 'failed', self.failures[-1][1])

    def addError(self, test, err):
        super().addError(test, err)
        self._note(test, 'error', self.errors[-1][1])

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._note(test, 'skipped', reason)


loader = unittest.TestLoader()
suite = unittest.TestSuite([loader.loadTestsFromTestCase(Pools),
                            loader.loadTestsFromTestCase(Flavors)])
result = unittest.TextTestRunner(verbosity=2, resultclass=Report).run(suite)
with open(REPORT, 'w') as fh:
    json.dump({'run': result.testsRun, 'outcomes': Report.outcomes}, fh)
'''


@pytest.fixture(scope='module')
def postgres_target() -> Iterator[PostgresDatabase]:
    """A throw-away PostgreSQL database, for pools to point at."""
    database = PostgresDatabase()
    yield database
    database.drop()


def open_policy(directory: Path) -> str:
    path = directory / 'open-pools-policy.yaml'
    if not path.exists():
        path.write_text(OPEN_POLICY)
    return str(path)


# -- (a) python-zaqarclient's functional tests -------------------------------

@pytest.mark.parametrize('target', ['redis', 'postgresql'])
def test_zaqarclient_pool_and_flavor_functional_tests(
        make_server: Callable[..., Server], tmp_path: Path, target: str,
        request: pytest.FixtureRequest) -> None:
    if target == 'redis':
        uri = request.getfixturevalue('redis_target').uri
    else:
        database = request.getfixturevalue('postgres_target')
        uri = database.uri.replace('postgresql+psycopg2://', 'postgresql://')
    server = make_server(private_store=True, **POOLING,
                         oslo_policy={'policy_file': open_policy(tmp_path)})
    runner, report = tmp_path / 'run_client_tests.py', tmp_path / 'report'
    runner.write_text(RUNNER)
    env = {**os.environ, 'ZAQARCLIENT_TEST_FUNCTIONAL': '1',
           'ZAQAR_ENDPOINT': server.url}
    env.pop('ZAQARCLIENT_AUTH_FUNCTIONAL', None)
    done = subprocess.run(
        [sys.executable, str(runner), uri, str(report)], env=env,
        cwd=tmp_path, capture_output=True, text=True, timeout=RUN_TIMEOUT,
        stdin=subprocess.DEVNULL, check=False)
    assert report.exists(), done.stdout + done.stderr
    found = json.loads(report.read_text())
    outcomes = found['outcomes']
    assert found['run'] == len(CLIENT_TESTS), done.stderr
    assert sorted(outcomes) == CLIENT_TESTS, outcomes
    failed = {name: outcome for name, outcome in outcomes.items()
              if outcome[0] != 'passed'}
    assert not failed, '\n'.join(
        f'{name}: {outcome}: {detail}'
        for name, (outcome, detail) in failed.items())
    assert done.returncode == 0, done.stderr
    # They cleaned up after themselves, through the API.
    admin = server.client(extra_headers=ADMIN)
    assert admin.get('/v2/pools').json() == {'pools': [], 'links': []}
    mine = server.client(project_id='my-project', extra_headers=ADMIN)
    assert mine.get('/v2/flavors').json() == {'flavors': [], 'links': []}


# -- (b) openstack messaging pool / flavor ------------------------------------

@pytest.fixture
def osc_server(make_server: Callable[..., Server],
               tmp_path_factory: pytest.TempPathFactory) -> Server:
    # One policy path for the session: servers are cached by their
    # configuration.
    policy = open_policy(Path(tmp_path_factory.getbasetemp()))
    return make_server(
        DEFAULT={**POOLING['DEFAULT'], 'noauth_project_id': PROJECT},
        oslo_policy={'policy_file': policy})


def cli(server: Server, *args: str) -> Any:
    """``openstack messaging ARGS -f json``: its output, decoded."""
    done = openstack(server, 'messaging', *args, '-f', 'json')
    assert done.returncode == 0, (args, done.stderr)
    return json.loads(done.stdout)


def cli_fails(server: Server, *args: str) -> str:
    done = openstack(server, 'messaging', *args)
    assert done.returncode != 0, (args, done.stdout)
    return done.stderr


def rest_pool(server: Server, name: str) -> dict:
    resp = server.client(extra_headers=ADMIN).get(
        f'/v2/pools/{name}', params={'detailed': 'true'})
    assert resp.status_code == 200, resp.text
    return resp.json()


@ON_SQLITE
def test_openstack_messaging_pool_commands(osc_server: Server,
                                           redis_target: RedisServer
                                           ) -> None:
    name, uri = unique('osc-pool'), f'{redis_target.uri}?dbid=1'
    moved = f'{redis_target.uri}?dbid=2'
    admin = osc_server.client(extra_headers=ADMIN)
    try:
        made = cli(osc_server, 'pool', 'create', name, uri, '10',
                   '--pool_options', '{"max_retry_sleep": 1}')
        assert made == {'Name': name, 'Weight': 10, 'URI': uri,
                        'Flavor': None, 'Options': {'max_retry_sleep': 1}}
        assert rest_pool(osc_server, name) == {
            'name': name, 'uri': uri, 'weight': 10, 'flavor': None,
            'options': {'max_retry_sleep': 1}, 'href': f'/v2/pools/{name}'}
        shown = cli(osc_server, 'pool', 'show', name)
        assert (shown['Name'], shown['Weight'], shown['URI'],
                shown['Flavor']) == (name, 10, uri, None)
        listed = cli(osc_server, 'pool', 'list', '--limit', '20')
        assert {'Name': name, 'Weight': 10, 'URI': uri,
                'Flavor': None} in listed
        detailed = cli(osc_server, 'pool', 'list', '--detailed')
        assert {'Name': name, 'Weight': 10, 'URI': uri, 'Flavor': None,
                'Options': {'max_retry_sleep': 1}} in detailed
        updated = cli(osc_server, 'pool', 'update', name, '--pool_weight',
                      '20', '--flavor', 'osc-tag', '--pool_uri', moved)
        assert (updated['Weight'], updated['Flavor'], updated['URI']) == \
            (20, 'osc-tag', moved)
        stored = rest_pool(osc_server, name)
        assert (stored['weight'], stored['flavor'], stored['uri']) == \
            (20, 'osc-tag', moved)
        refused = cli_fails(osc_server, 'pool', 'create', unique('osc'),
                            'mongodb://127.0.0.1:27017', '10')
        assert 'Code: 400' in refused
        done = openstack(osc_server, 'messaging', 'pool', 'delete', name)
        assert done.returncode == 0, done.stderr
        assert admin.get(f'/v2/pools/{name}').status_code == 404
        assert 'Code: 404' in cli_fails(osc_server, 'pool', 'show', name)
    finally:
        admin.delete(f'/v2/pools/{name}')


@ON_SQLITE
def test_openstack_messaging_flavor_commands(osc_server: Server,
                                             redis_target: RedisServer
                                             ) -> None:
    admin = osc_server.client(extra_headers=ADMIN)
    pools = [unique('osc-pool') for _ in range(2)]
    flavor, never = unique('osc-flavor'), unique('osc-flavor')
    rest = ApiClient(osc_server.url, project_id=PROJECT)
    try:
        for dbid, pool in enumerate(pools, start=3):
            resp = admin.put(f'/v2/pools/{pool}', json={
                'uri': f'{redis_target.uri}?dbid={dbid}', 'weight': 5})
            assert resp.status_code == 201, resp.text
        made = cli(osc_server, 'flavor', 'create', flavor, '--pool_list',
                   pools[0])
        assert (made['Name'], made['Pool list']) == (flavor, [pools[0]])
        # It is the configured project's flavor.
        assert rest.get(f'/v2/flavors/{flavor}').json()['pool_list'] == \
            [pools[0]]
        assert rest_pool(osc_server, pools[0])['flavor'] == flavor
        shown = cli(osc_server, 'flavor', 'show', flavor)
        assert (shown['Name'], shown['Pool list']) == (flavor, [pools[0]])
        assert isinstance(shown['Capabilities'], list), shown
        listed = cli(osc_server, 'flavor', 'list')
        assert {'Name': flavor, 'Pool list': [pools[0]]} in listed
        detailed = cli(osc_server, 'flavor', 'list', '--detailed')
        [row] = [r for r in detailed if r['Name'] == flavor]
        assert isinstance(row['Capabilities'], list), row
        updated = cli(osc_server, 'flavor', 'update', flavor, '--pool_list',
                      pools[1])
        assert (updated['Name'], updated['Pool_list']) == (flavor, [pools[1]])
        assert [rest_pool(osc_server, p)['flavor'] for p in pools] == \
            [None, flavor]
        # Without --pool_list the client sends null: refused.
        assert 'Code: 400' in cli_fails(osc_server, 'flavor', 'create', never)
        assert rest.get(f'/v2/flavors/{never}').status_code == 404
        done = openstack(osc_server, 'messaging', 'flavor', 'delete', flavor)
        assert done.returncode == 0, done.stderr
        assert rest.get(f'/v2/flavors/{flavor}').status_code == 404
        assert rest_pool(osc_server, pools[1])['flavor'] is None
    finally:
        for name in (flavor, never):
            ApiClient(osc_server.url, project_id=PROJECT,
                      extra_headers=ADMIN).delete(f'/v2/flavors/{name}')
        for pool in pools:
            admin.delete(f'/v2/pools/{pool}')
