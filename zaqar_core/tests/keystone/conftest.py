"""End-to-end tests against a real Keystone.

The ``stack`` fixture brings up the functional stack of ``tools/stack.py``
(Keystone from PyPI and this checkout's zaqar-server with
``auth_strategy = keystone``, serving REST and, in a second server on the
same store, WebSocket) once per test run, and every test talks to it with
real tokens of the users it provisions (``admin``, ``demo``, ``alt``).
``stack.py up`` restarts zaqar-server, so under pytest-xdist only the
first worker runs it; the others wait for it and read its verdict.
Then every worker holds the stack in use (``stack.py``'s shared lock) until
its session ends: another ``up`` or ``down`` on this checkout (tempest,
rally, a second test run) waits instead of restarting it under the tests.
A stack this run brought up goes down when the run ends (and with the
run, whatever ends it: its processes carry the run's id); one that was
up before stays up.
Queues get unique names (the stack's store outlives test runs) and are
deleted at the end of each test.

Tests that need a zaqar-server configured otherwise (a ``policy.yaml`` of
their own) ask ``make_keystone_server``: a server started from the
stack's ``zaqar.conf`` (same Keystone, ``[trustee]`` and signed-URL key)
with its own port, SQLite file and policy file, and on request a
WebSocket server beside it on the same store and policy file.

Tests that need other roles on demo's project ask ``project_users``:
users ``project_admin`` and ``reader`` (``rbac-admin``, ``rbac-reader``
in Keystone), with that role on demo's project, made through the stack's
Keystone admin if missing.

Tests that drive the WebSocket clients of other projects
(os-collect-config, python-tripleoclient) as subprocesses ask
``clients_python``: the Python of ``.stack/clients-venv``, which
``tools/stack.py clients`` makes (once; half a minute the first time).

Environment:

* ``CI=true``: a stack that cannot come up fails the tests instead of
  skipping them.
"""

from __future__ import annotations

import configparser
import contextlib
import fcntl
import hashlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

import pytest
from keystoneauth1 import exceptions as ka_exceptions
from keystoneauth1 import session as ka_session
from keystoneauth1.identity import v3

from zaqar_core.tests.functional.helpers import ApiClient
from zaqar_core.tests.functional.helpers import Server
from zaqar_testing import run
from zaqar_testing import stack as stack_tool
from zaqar_testing.ci import unavailable
from zaqar_testing.zaqar_servers import ZaqarServer
from zaqar_testing.zaqar_servers import stop_servers

ROOT = Path(__file__).resolve().parents[3]
STACK_SCRIPT = ROOT / 'tools' / 'stack.py'
#: A first ``up`` installs Keystone into a virtualenv: minutes.
UP_TIMEOUT = 900
#: How long an interrupted ``up`` gets to stop what it started (it kills
#: what has not stopped by its own deadline), within the 10 s pytest-xdist
#: gives an interrupted worker.
UP_STOP_TIMEOUT = stack_tool.INTERRUPTED_STOP_TIMEOUT + 3
USERS = ('admin', 'demo', 'alt')


@dataclass
class User:
    """One provisioned Keystone user and a keystoneauth session for it."""

    key: str
    username: str
    password: str
    project_name: str
    auth_url: str
    _session: ka_session.Session | None = field(default=None, repr=False)

    @property
    def session(self) -> ka_session.Session:
        if self._session is None:
            self._session = ka_session.Session(auth=v3.Password(
                auth_url=self.auth_url, username=self.username,
                password=self.password, project_name=self.project_name,
                user_domain_name='Default',
                project_domain_name='Default'))
        return self._session

    @property
    def token(self) -> str:
        """A project-scoped token (keystoneauth reuses it until expiry)."""
        token = self.session.get_token()
        assert token
        return token

    @property
    def project_id(self) -> str:
        project_id = self.session.get_project_id()
        assert project_id
        return project_id

    @property
    def user_id(self) -> str:
        user_id = self.session.get_user_id()
        assert user_id
        return user_id

    def zaqarclient_auth(self) -> dict[str, Any]:
        """python-zaqarclient's ``auth_opts`` for the ``keystone``
        backend."""
        return {'backend': 'keystone', 'options': {
            'os_auth_url': self.auth_url, 'os_username': self.username,
            'os_password': self.password,
            'os_project_name': self.project_name,
            'os_user_domain_name': 'Default',
            'os_project_domain_name': 'Default'}}


class Stack:
    """What ``.stack/stack.json`` says about the running stack."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state
        self.auth_url: str = state['keystone']['auth_url']
        self.url: str = state['zaqar']['url']
        #: The WebSocket server (``messaging-websocket`` in the catalog).
        self.ws_url: str = state['zaqar_websocket']['url']
        self.zaqar_conf = Path(state['zaqar']['conf'])
        self.clouds_yaml = Path(state['files']['clouds_yaml'])
        creds = state['credentials']
        self.users = {key: User(key, creds[key]['username'],
                                creds[key]['password'],
                                creds[key]['project_name'], self.auth_url)
                      for key in USERS}
        self.trustee_username: str = creds['trustee']['username']

    def api(self, user: str, url: str | None = None,
            project_id: str | None = None) -> ApiClient:
        """A client of ``url`` (the stack's zaqar-server by default) with
        ``user``'s token; ``X-Project-Id`` is the token's project unless
        ``project_id`` says otherwise."""
        who = self.users[user]
        return ApiClient(url or self.url,
                         project_id=project_id or who.project_id,
                         extra_headers={'X-Auth-Token': who.token})


def _run_up(env: dict[str, str]) -> str | None:
    """Runs ``tools/stack.py up``; None if the stack is up, else why not.

    Interrupted (the test run is), it interrupts ``up`` as Ctrl-C would
    and waits for it to stop what it started: subprocess.run would kill it
    at once, and leave the servers it had started running.
    """
    with subprocess.Popen(
            [sys.executable, str(STACK_SCRIPT), 'up', '--python',
             sys.executable], cwd=ROOT, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL,
            env=env) as proc:
        try:
            output, _ = proc.communicate(timeout=UP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            return f'tools/stack.py up did not finish in {UP_TIMEOUT} s'
        except BaseException:
            proc.terminate()
            try:
                proc.wait(timeout=UP_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
            raise
    if proc.returncode != 0:
        return (f'tools/stack.py up failed (exit {proc.returncode}):\n'
                f'{output.strip()[-3000:]}')
    return None


def _up() -> dict[str, Any]:
    """Brings the stack up: the verdict (``problem``: None if it is up)
    and whether this run owns it (``owned``: it was not up before).

    A stack someone had up stays up after the run: its restarted
    zaqar-servers do not carry the run's id. One this run brought up
    does, and goes down with the run.
    """
    was_up = all(what == 'up' for what in
                 stack_tool.health(stack_tool.load_state()).values())
    env = run.untracked_env() if was_up else dict(os.environ)
    return {'problem': _run_up(env), 'owned': not was_up}


def _up_once(shared: Path | None) -> dict[str, Any]:
    """:func:`_up` once per test run: under pytest-xdist the first
    worker runs it (``up`` restarts zaqar-server, which must not happen
    under another worker's feet) and leaves its verdict in ``shared``."""
    if shared is None:
        return _up()
    verdict = shared / 'keystone-stack-up.json'
    with open(shared / 'keystone-stack-up.lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if verdict.exists():
            return json.loads(verdict.read_text())
        found = _up()
        verdict.write_text(json.dumps(found))
        return found


@pytest.fixture(scope='session')
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The running stack, held in use (``tools/stack.py``'s shared lock:
    nobody's ``up`` or ``down`` restarts it under the tests) until the
    session ends; then taken down if this run brought it up (the last
    worker to let go of it does: ``down`` waits for the others)."""
    shared = None
    if os.environ.get('PYTEST_XDIST_WORKER'):
        # The directory above a worker's basetemp is the run's own.
        shared = tmp_path_factory.getbasetemp().parent
    verdict = _up_once(shared)
    try:
        if verdict['problem'] is not None:
            unavailable(f'the Keystone stack is not available: '
                        f'{verdict["problem"]}')
        with contextlib.ExitStack() as held:
            try:
                state = held.enter_context(stack_tool.running())
            except stack_tool.StackError as exc:
                unavailable(f'the stack went down after tools/stack.py '
                            f'up: {exc}')
            try:
                current = Stack(state)
            except KeyError as exc:
                unavailable(f'unusable {stack_tool.STATE_FILE}: {exc!r}')
            yield current
    finally:
        if verdict['owned']:
            stack_tool.down()


@pytest.fixture(scope='session')
def clients_python() -> Path:
    """The Python of the virtualenv holding os-collect-config and
    python-tripleoclient (``tools/stack.py clients``), made if missing."""
    try:
        return stack_tool.ensure_clients_venv()
    except stack_tool.StackError as exc:
        unavailable(f'no virtualenv of WebSocket clients: {exc}')
        raise  # not reached: unavailable() skips or fails


#: Users of demo's project beside demo (a member), made by
#: ``project_users``: key -> (user name, role on demo's project).
PROJECT_USERS = {'project_admin': ('rbac-admin', 'admin'),
                 'reader': ('rbac-reader', 'reader'),
                 # Trustors of their own, one per test that compares a
                 # user's whole set of trusts: another worker's test makes
                 # and revokes demo's trusts meanwhile.
                 'trustor_refused': ('trust-witness-1', 'member'),
                 'trustor_again': ('trust-witness-2', 'member')}


@pytest.fixture(scope='session')
def project_users(stack: Stack) -> dict[str, User]:
    """``project_admin`` and ``reader`` of demo's project (see
    :data:`PROJECT_USERS`), also in ``stack.users`` (so that
    ``stack.api('reader')`` works). Made once in the stack's Keystone,
    which outlives test runs, with passwords derived from the admin's
    (stable, so that an existing user's is not reset: Keystone revokes
    the tokens of a user whose password changes, those issued within
    the same second included)."""
    # One pytest-xdist worker at a time: they would make them twice.
    with open(stack_tool.STACK / 'project-users.lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        made = _project_users(stack)
    stack.users.update(made)
    return made


def _project_users(stack: Stack) -> dict[str, User]:
    admin_creds = stack.users['admin']
    admin = admin_creds.session
    demo = stack.users['demo']
    url = stack.auth_url
    roles = {r['name']: r['id'] for r in
             admin.get(f'{url}/roles').json()['roles']}
    made = {}
    for key, (username, role) in PROJECT_USERS.items():
        password = hashlib.sha256(
            f'{admin_creds.password}:{username}'.encode()).hexdigest()[:24]
        user = User(key, username, password, demo.project_name, url)
        found = admin.get(f'{url}/users', params={
            'name': username, 'domain_id': 'default'}).json()['users']
        if found:
            user_id = found[0]['id']
        else:
            user_id = admin.post(f'{url}/users', json={'user': {
                'name': username, 'domain_id': 'default',
                'password': password, 'enabled': True,
                'default_project_id': demo.project_id}}).json()['user']['id']
        # Idempotent.
        admin.put(f'{url}/projects/{demo.project_id}/users/{user_id}/roles/'
                  f'{roles[role]}')
        try:
            user.session.get_token()
        except ka_exceptions.Unauthorized:
            # Made for an earlier admin password (a new stack.json).
            admin.patch(f'{url}/users/{user_id}',
                        json={'user': {'password': password}})
            time.sleep(1.1)  # past the revocation's second
            user = User(key, username, password, demo.project_name, url)
        made[key] = user
    return made


def unique(prefix: str) -> str:
    """A queue name no other test (or earlier run: the stack's store
    persists) uses."""
    return f'{prefix}-{uuid.uuid4().hex[:12]}'


# -- servers of our own ----------------------------------------------------

def derived_sections(stack: Stack, workdir: Path,
                     policy_file: Path) -> dict[str, dict[str, Any]]:
    """The stack's zaqar.conf, with a store, a policy file and logs of
    ``workdir`` (the port is set by ZaqarServer); serving REST."""
    # DEFAULT read as a section like the others, not merged into each.
    parser = configparser.ConfigParser(interpolation=None,
                                       default_section='\x00')
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(stack.zaqar_conf)
    sections = {name: dict(parser[name]) for name in parser.sections()}
    default = sections.setdefault('DEFAULT', {})
    default.pop('log_file', None)  # to stdout: ZaqarServer keeps it
    default['state_path'] = str(workdir / 'state')
    uri = f'sqlite:///{workdir / "zaqar.sqlite"}'
    sections.setdefault('drivers', {}).update(
        transport='wsgi', message_store='sqlalchemy',
        management_store='sqlalchemy')
    sections['drivers:message_store:sqlalchemy'] = {'uri': uri}
    sections['drivers:management_store:sqlalchemy'] = {'uri': uri}
    sections.setdefault('drivers:transport:wsgi', {}).pop('port', None)
    sections['oslo_policy'] = {'policy_file': str(policy_file)}
    return sections


def websocket_sections(sections: dict[str, dict[str, Any]]
                       ) -> dict[str, dict[str, Any]]:
    """``sections`` (see :func:`derived_sections`) serving WebSocket
    instead: the same store, Keystone and policy file."""
    ws = {name: dict(options) for name, options in sections.items()
          if name != 'drivers:transport:wsgi'}
    ws['drivers']['transport'] = 'websocket'
    ws['drivers:transport:websocket'] = {'workers': 1, 'threads': 4}
    return ws


@dataclass
class KeystoneServer:
    server: Server
    policy_file: Path
    #: The WebSocket server beside it, if asked for.
    ws: Server | None = None

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def ws_url(self) -> str:
        assert self.ws is not None, 'asked for without websocket=True'
        return self.ws.url


@pytest.fixture(scope='session')
def make_keystone_server(stack: Stack,
                         tmp_path_factory: pytest.TempPathFactory
                         ) -> Iterator[Callable[..., KeystoneServer]]:
    """``make_keystone_server(policy_yaml, websocket=False, **sections)``:
    a zaqar-server of its own on the stack's Keystone, with ``policy_yaml``
    as its policy file and ``sections`` over the stack's (say
    ``keystone_authtoken={...}``), and with ``websocket`` a WebSocket
    server beside it on the same store and configuration; stopped when the
    session ends."""
    processes: list[ZaqarServer] = []

    def make(policy: str, websocket: bool = False,
             **overrides: dict[str, Any]) -> KeystoneServer:
        workdir = tmp_path_factory.mktemp('zaqar-keystone')
        policy_file = workdir / 'policy.yaml'
        policy_file.write_text(policy)
        sections = derived_sections(stack, workdir, policy_file)
        for name, options in overrides.items():
            sections.setdefault(name, {}).update(options)
        process = ZaqarServer(workdir, sections)
        processes.append(process)
        made = KeystoneServer(_served(process), policy_file)
        if websocket:
            ws_dir = workdir / 'websocket'
            ws_dir.mkdir()
            ws_process = ZaqarServer(ws_dir, websocket_sections(sections))
            processes.append(ws_process)
            made.ws = _served(ws_process)
        return made

    try:
        yield make
    finally:
        stop_servers(processes)


def _served(process: ZaqarServer) -> Server:
    process.start()
    return Server(process.url, process.conf_path, process.log_path, process)


@pytest.fixture
def shared_queue(stack: Stack) -> Iterator[tuple[str, dict[str, Any]]]:
    """A queue of demo's with a message, and its ``/share`` (over REST)
    for reading and posting messages."""
    name = unique('shared')
    demo = stack.api('demo')
    demo.create_queue(name)
    demo.post_messages(name, {'shared': True}, ttl=300)
    resp = demo.post(f'/v2/queues/{name}/share', json={
        'paths': ['messages'], 'methods': ['GET', 'POST']})
    assert resp.status_code == 200, resp.text
    yield name, resp.json()
    demo.delete(f'/v2/queues/{name}')
