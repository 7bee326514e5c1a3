#!/usr/bin/env python3
"""The functional stack: a real Keystone and this project's zaqar-server
on loopback (one serving REST, one serving WebSocket), for tempest, the
OpenStack clients and manual tests.

Usage::

    python tools/stack.py up [--python .venv/bin/python]
    python tools/stack.py status
    python tools/stack.py env [--user admin|demo|alt]
    python tools/stack.py clients
    python tools/stack.py down

Everything lives in ``.stack/`` at the top of the checkout:

``keystone-venv/``
    A virtualenv with the pinned :data:`KEYSTONE_PINS`, made once and
    upgraded in place only when the pins change.
``keystone/``
    keystone.conf, its SQLite database and fernet and credential key
    repositories.
``zaqar/``
    zaqar.conf (REST), zaqar-websocket.conf (WebSocket), policy.yaml and
    the SQLite store both servers share.
``stack.json``
    Ports, URLs, credentials, pids and paths of what ``up`` started.
``openrc``, ``clouds.yaml``
    Credentials for the OpenStack clients (clouds ``stack-admin``,
    ``stack-demo`` and ``stack-alt``).
``clients-venv/``
    Made by ``clients`` (the tests ask for it): the WebSocket clients of
    other projects, :data:`CLIENT_PINS`, driven as subprocesses.

``up`` is idempotent: it keeps a healthy Keystone running (and bootstraps
it, idempotently, whenever it starts it), makes whatever users, projects,
roles and endpoints are missing, and always restarts both zaqar-servers so
that they serve the code of the checkout. Keystone is provisioned over its
REST API with urllib, so this module needs only the standard library;
zaqar-server runs from the project's virtualenv (``--python``; by default
``$ZAQAR_STACK_PYTHON``, else the interpreter running this script if it
has zaqar-core installed, else ``.venv/bin/python``).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import fcntl
import grp
import hashlib
import json
import os
import pwd
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from zaqar_testing import ports
from zaqar_testing.processes import Process

ROOT = Path(__file__).resolve().parent.parent
STACK = ROOT / '.stack'
STATE_FILE = STACK / 'stack.json'
LOCK_FILE = STACK / 'lock'
#: Held shared by test runs (tools/tempest.py), exclusively by up and down:
#: the checkout is shared, and a restart would break a running suite.
IN_USE_FILE = STACK / 'in-use.lock'

KEYSTONE_VERSION = '30.0.0'
#: What the Keystone virtualenv holds; a change reinstalls it.
KEYSTONE_PINS = (f'keystone=={KEYSTONE_VERSION}', 'pyuwsgi==2.0.30.post1')
KEYSTONE_VENV = STACK / 'keystone-venv'
KEYSTONE_DIR = STACK / 'keystone'
ZAQAR_DIR = STACK / 'zaqar'
#: Where tests put the SQLite files of the pools they register.
POOL_DIR = ZAQAR_DIR / 'pools'

#: The WebSocket clients of other projects the tests drive, unchanged:
#: os-collect-config's zaqar collector (it brings osc-lib and
#: python-swiftclient, which tripleoclient's plugin module imports) and
#: python-tripleoclient's WebsocketClient. websocket-client is imported by
#: both and required by neither.
CLIENT_PINS = ('os-collect-config==14.1.0', 'websocket-client==1.9.2',
               'osc-lib', 'python-swiftclient')
#: Installed without their dependencies: python-tripleoclient's would pull
#: in half of OpenStack (tripleo-common, ansible...) for one class.
CLIENT_PINS_NO_DEPS = ('python-tripleoclient==12.6.0',)
CLIENTS_VENV = STACK / 'clients-venv'
CLIENTS_LOCK = STACK / 'clients-venv.lock'

HOST = '127.0.0.1'
REGION = 'RegionOne'
DOMAIN = 'default'
SERVICE_PROJECT = 'service'
#: Roles the stack relies on (Keystone's bootstrap makes them too).
ROLES = ('admin', 'member', 'reader', 'service')
#: The users ``up`` provisions: key -> (user, project or None, role).
USERS = {
    'admin': ('admin', 'admin', 'admin'),
    'demo': ('demo', 'demo', 'member'),
    'alt': ('alt_demo', 'alt_demo', 'member'),
    'zaqar': ('zaqar', SERVICE_PROJECT, 'service'),
    # Trusts of trust+http(s) subscriptions delegate to this user; it needs
    # no role of its own.
    'trustee': ('zaqar-trustee', None, None),
}
#: Cloud names in clouds.yaml, by user key.
CLOUDS = {'admin': 'stack-admin', 'demo': 'stack-demo', 'alt': 'stack-alt'}

#: The zaqar-server processes on the stack's store: the part of the state
#: that describes each, its transport, its configuration file (in
#: ZAQAR_DIR; its path in the command line tells the process apart) and
#: what logs call it.
ZAQAR_SERVERS = (
    ('zaqar', 'wsgi', 'zaqar.conf', 'zaqar-server'),
    ('zaqar_websocket', 'websocket', 'zaqar-websocket.conf',
     'zaqar-server (WebSocket)'),
)
#: Catalog entries (service type, name, description) by state part, as
#: devstack registers zaqar and zaqar-websocket.
CATALOG = {
    'zaqar': ('messaging', 'zaqar', 'Messaging (tools/stack.py)'),
    'zaqar_websocket': ('messaging-websocket', 'zaqar-websocket',
                        'Messaging over WebSocket (tools/stack.py)'),
}

START_TIMEOUT = 90.0
STOP_TIMEOUT = 15.0
#: How long an interrupted ``up`` waits for what it started to stop before
#: killing it: whoever interrupted it may not wait long (a test run).
INTERRUPTED_STOP_TIMEOUT = 5.0


class StackError(Exception):
    """``up`` could not bring the stack up; the message says why."""


# -- small helpers ---------------------------------------------------------

def log(message: str) -> None:
    print(f'stack: {message}', file=sys.stderr, flush=True)


@contextlib.contextmanager
def locked() -> Iterator[None]:
    """Serialises ``up`` and ``down`` on one checkout, and waits for test
    runs using the stack (see :func:`in_use`) to finish."""
    STACK.mkdir(exist_ok=True)
    with open(LOCK_FILE, 'w') as lock, open(IN_USE_FILE, 'a') as use:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            fcntl.flock(use, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log('waiting for a test run using the stack to finish')
            fcntl.flock(use, fcntl.LOCK_EX)
        yield


@contextlib.contextmanager
def in_use() -> Iterator[None]:
    """Keeps ``up`` and ``down`` (of any user of this checkout) from
    restarting the stack until the block ends. Take it after ``up``."""
    STACK.mkdir(exist_ok=True)
    with open(IN_USE_FILE, 'a') as use:
        fcntl.flock(use, fcntl.LOCK_SH)
        yield


@contextlib.contextmanager
def running() -> Iterator[dict[str, Any]]:
    """Holds the stack in use (see :func:`in_use`) and yields its state,
    once both services answer.

    Raises:
        StackError: the stack is not up.
    """
    with in_use():
        # Read only now: another user of the checkout may have restarted
        # the stack between the caller's up and here.
        state = load_state()
        down = {name: what for name, what in health(state).items()
                if what != 'up'}
        if down:
            parts = ', '.join(f'{name} {what}' for name, what in down.items())
            raise StackError(f'the stack is not up ({parts}): run "python '
                             f'tools/stack.py up"')
        yield state


def load_state() -> dict[str, Any]:
    """The last ``stack.json``, or an empty dict."""
    try:
        return json.loads(STATE_FILE.read_text())
    except (FileNotFoundError, ValueError):
        return {}


def save_state(state: dict[str, Any]) -> None:
    write_private(STATE_FILE, json.dumps(state, indent=2, sort_keys=True))


def write_private(path: Path, text: str) -> None:
    """Writes ``text`` readable by its owner only (it holds passwords)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + '.tmp')
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as out:
        out.write(text)
    os.replace(tmp, path)


def free_port(preferred: int | None = None,
              taken: Sequence[int] = ()) -> int:
    """See :func:`zaqar_testing.ports.free_port`."""
    try:
        return ports.free_port(preferred, taken)
    except OSError as exc:
        raise StackError(str(exc)) from None


def http(method: str, url: str, body: Any = None,
         headers: dict[str, str] | None = None,
         timeout: float = 10.0) -> tuple[int, dict[str, str], Any]:
    """One JSON request: status, headers (lower-case names), decoded body.

    Error statuses are returned, not raised; connection errors raise
    OSError.
    """
    data = None if body is None else json.dumps(body).encode()
    # Only http URLs built here from the stack's own addresses.
    request = urllib.request.Request(url, data=data,  # noqa: S310
                                     method=method)
    request.add_header('Accept', 'application/json')
    if data is not None:
        request.add_header('Content-Type', 'application/json')
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status, raw = response.status, response.read()
            reply_headers = response.headers
    except urllib.error.HTTPError as exc:
        status, raw, reply_headers = exc.code, exc.read(), exc.headers
    try:
        decoded = json.loads(raw) if raw else None
    except ValueError:
        decoded = raw.decode(errors='replace')
    return status, {k.lower(): v for k, v in reply_headers.items()}, decoded


def answers(url: str, expect: tuple[int, ...] = (200, 300),
            timeout: float = 2.0) -> bool:
    try:
        return http('GET', url, timeout=timeout)[0] in expect
    except OSError:
        return False


def wait_for(url: str, pid: int, what: str, log_file: Path,
             expect: tuple[int, ...] = (200, 300)) -> None:
    """Waits until ``url`` answers, failing early if ``pid`` died."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if answers(url, expect):
            return
        if not alive(pid):
            raise StackError(f'{what} exited while starting; see {log_file}'
                             f':\n{tail(log_file)}')
        time.sleep(0.2)
    raise StackError(f'{what} did not answer {url} within {START_TIMEOUT:.0f}'
                     f' s; see {log_file}')


def tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors='replace')
    except FileNotFoundError:
        return ''
    return '\n'.join(text.splitlines()[-lines:])


def run(argv: list[str], log_file: Path, what: str,
        env: dict[str, str] | None = None) -> None:
    """Runs ``argv`` to completion, its output appended to ``log_file``.

    Interrupted, it kills ``argv``'s whole process group, not only its
    first process: ``python -m venv`` runs ensurepip in a child, and pip
    runs builds in children, which would otherwise go on running.
    """
    with open(log_file, 'a') as out:
        out.write(f'\n$ {shlex.join(argv)}\n')
    process = Process(argv, log_file, env=env)
    try:
        code = process.proc.wait()
    except BaseException:
        process.kill()
        raise
    if code:
        raise StackError(f'{what} failed (exit {code}); see '
                         f'{log_file}:\n{tail(log_file)}')


# -- processes -------------------------------------------------------------

def alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped by its parent) is not alive.
    try:
        stat = Path(f'/proc/{pid}/stat').read_text()
        return stat.rsplit(')', 1)[1].split()[0] != 'Z'
    except (FileNotFoundError, IndexError):
        return False


def ours(pid: int | None, marker: str) -> bool:
    """Whether ``pid`` is alive and still the process this stack started
    (its command line names ``marker``), not a recycled pid."""
    if not alive(pid):
        return False
    try:
        cmdline = Path(f'/proc/{pid}/cmdline').read_bytes()
    except FileNotFoundError:
        return False
    return marker.encode() in cmdline


def start(argv: list[str], log_file: Path, cwd: Path,
          env: dict[str, str]) -> int:
    """Starts ``argv`` detached, in a process group of its own (so that
    ``stop`` reaches its workers too); returns its pid."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, 'a') as out:
        out.write(f'\n$ {shlex.join(argv)}\n')
    return Process(argv, log_file, cwd=cwd, env=env, detached=True).pid


def stop(pid: int | None, marker: str, what: str) -> None:
    """Stops the process group of ``pid``: SIGTERM, then SIGKILL."""
    stop_all([(pid, marker, what)])


def stop_all(processes: Sequence[tuple[int | None, str, str]],
             timeout: float = STOP_TIMEOUT) -> None:
    """Stops the process groups of several ``(pid, marker, what)`` at once
    (see :func:`stop`): each takes a moment to finish its requests, up to
    ``timeout`` seconds."""
    pids = [pid for pid, marker, _ in processes if ours(pid, marker)]
    for pid, _, what in processes:
        if pid in pids:
            log(f'stopping {what} (pid {pid})')
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while pids and time.monotonic() < deadline:
        pids = [pid for pid in pids if _group_alive(pid)]
        if pids:
            time.sleep(0.1)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    if pids:
        time.sleep(0.2)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    # A group of zombies only (exited, not yet reaped) is gone.
    for entry in Path('/proc').iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / 'stat').read_text().rsplit(')', 1)[1].split()
        except (FileNotFoundError, IndexError, ProcessLookupError):
            continue
        if int(fields[2]) == pgid and fields[0] != 'Z':
            return True
    return False


# -- Keystone --------------------------------------------------------------

def keystone_bin(name: str) -> str:
    return str(KEYSTONE_VENV / 'bin' / name)


def ensure_venv(venv: Path, pins: Sequence[str], log_file: Path,
                no_deps: Sequence[str] = ()) -> bool:
    """Makes the virtualenv ``venv`` holding ``pins`` (and ``no_deps``,
    installed without their dependencies), or upgrades it in place when
    the pins changed; pip's output goes to ``log_file``.

    Returns whether it was (re)installed.

    Raises:
        StackError: venv or pip failed.
    """
    marker = venv / 'stack-pins.txt'
    wanted = '\n'.join([*pins, *(f'{pin} --no-deps' for pin in no_deps)]
                       ) + '\n'
    python = venv / 'bin' / 'python'
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return False
    started = time.monotonic()
    log_file.parent.mkdir(parents=True, exist_ok=True)
    if not (python.exists() and marker.exists()):
        # Made afresh, even if there: a venv without the marker never
        # finished installing, and may lack pip itself.
        log(f'creating {venv.relative_to(ROOT)}')
        run([sys.executable, '-m', 'venv', '--clear', str(venv)], log_file,
            'python -m venv')
    log(f'installing {" ".join([*pins, *no_deps])} (takes a minute or two)')
    pip = [str(python), '-m', 'pip', 'install', '--quiet',
           '--disable-pip-version-check']
    run([*pip, *pins], log_file, 'pip install')
    if no_deps:
        run([*pip, '--no-deps', *no_deps], log_file, 'pip install --no-deps')
    marker.write_text(wanted)
    log(f'installed {venv.relative_to(ROOT)} in '
        f'{time.monotonic() - started:.0f} s')
    return True


def ensure_keystone_venv() -> bool:
    """:func:`ensure_venv` for Keystone: whether it was (re)installed."""
    return ensure_venv(KEYSTONE_VENV, KEYSTONE_PINS,
                       STACK / 'keystone-install.log')


def ensure_clients_venv() -> Path:
    """:func:`ensure_venv` for the WebSocket clients of other projects
    (:data:`CLIENT_PINS`); returns its Python. Safe in several processes at
    once (test workers): they take turns, and all but the first find it
    made. Needs no stack running, and does not wait for one.

    Raises:
        StackError: venv or pip failed.
    """
    STACK.mkdir(exist_ok=True)
    with open(CLIENTS_LOCK, 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        ensure_venv(CLIENTS_VENV, CLIENT_PINS, STACK / 'clients-install.log',
                    no_deps=CLIENT_PINS_NO_DEPS)
    return CLIENTS_VENV / 'bin' / 'python'


def keystone_conf(state: dict[str, Any]) -> str:
    """keystone.conf for the stack."""
    return f"""\
# Written by tools/stack.py; rewritten on every "up".
[DEFAULT]
log_file = {KEYSTONE_DIR / 'keystone.log'}

[database]
connection = sqlite:///{KEYSTONE_DIR / 'keystone.sqlite'}

[token]
provider = fernet

[fernet_tokens]
key_repository = {KEYSTONE_DIR / 'fernet-keys'}

[credential]
key_repository = {KEYSTONE_DIR / 'credential-keys'}

[identity]
# bcrypt's cheapest cost: tempest creates a user per test class, and the
# default cost makes each password check take a quarter of a second.
password_hash_rounds = 4
"""


def keystone_manage(conf: Path, *args: str) -> None:
    run([keystone_bin('keystone-manage'), '--config-file', str(conf),
         *args], KEYSTONE_DIR / 'keystone-manage.log',
        f'keystone-manage {args[0]}')


def write_keystone_conf(state: dict[str, Any]) -> Path:
    KEYSTONE_DIR.mkdir(parents=True, exist_ok=True)
    conf = KEYSTONE_DIR / 'keystone.conf'
    conf.write_text(keystone_conf(state))
    return conf


def setup_keystone(state: dict[str, Any], conf: Path,
                   reinstalled: bool) -> None:
    """Database schema and key repositories (each made when missing or
    outdated), then ``bootstrap``. Run with Keystone stopped: SQLite takes
    one writer at a time, and Keystone fails requests that find it
    locked."""
    ks = state['keystone']
    if reinstalled or ks.get('synced') != KEYSTONE_VERSION or \
            not (KEYSTONE_DIR / 'keystone.sqlite').exists():
        log('keystone-manage db_sync')
        keystone_manage(conf, 'db_sync')
        ks['synced'] = KEYSTONE_VERSION
    user = pwd.getpwuid(os.getuid()).pw_name
    group = grp.getgrgid(os.getgid()).gr_name
    for command, repo in (('fernet_setup', 'fernet-keys'),
                          ('credential_setup', 'credential-keys')):
        if not (KEYSTONE_DIR / repo / '0').exists():
            keystone_manage(conf, command, '--keystone-user', user,
                            '--keystone-group', group)
    bootstrap_keystone(state, conf)


def bootstrap_keystone(state: dict[str, Any], conf: Path) -> None:
    """``keystone-manage bootstrap``: idempotent; resets the admin password
    and the identity endpoints to the ones in ``state``."""
    ks = state['keystone']
    admin = state['credentials']['admin']
    keystone_manage(
        conf, 'bootstrap',
        '--bootstrap-username', admin['username'],
        # Joined: a generated password may start with '-', which argparse
        # would take for an option (token_urlsafe: 1 in 64).
        f'--bootstrap-password={admin["password"]}',
        '--bootstrap-project-name', admin['project_name'],
        '--bootstrap-role-name', 'admin',
        '--bootstrap-service-name', 'keystone',
        '--bootstrap-region-id', REGION,
        '--bootstrap-admin-url', ks['auth_url'],
        '--bootstrap-internal-url', ks['auth_url'],
        '--bootstrap-public-url', ks['auth_url'])


def keystone_argv(port: int) -> list[str]:
    """uWSGI serving Keystone on ``port``."""
    return [
        keystone_bin('uwsgi'),
        '--http-socket', f'{HOST}:{port}',
        # One process of one thread: Keystone on SQLite fails requests
        # with "database is locked" when two write at once (tempest's
        # dynamic credentials do). Each request takes milliseconds.
        '--master', '--processes', '1', '--threads', '1',
        '--lazy-apps', '--need-app',
        '--module', 'keystone.wsgi.api:application',
        # uWSGI's http-socket answers one request per connection; saying so
        # keeps clients from reusing a closed connection.
        '--add-header', 'Connection: close',
        '--buffer-size', '65535', '--listen', '128',
        '--die-on-term', '--disable-logging',
        '--ignore-sigpipe', '--ignore-write-errors',
        '--disable-write-exception',
    ]


def ensure_keystone(state: dict[str, Any], reinstalled: bool) -> None:
    """Keeps a healthy Keystone that runs with the same configuration and
    command line, and whose database the admin can still log in to
    (nothing ``bootstrap`` would change); otherwise stops it, sets the
    database up, bootstraps, and starts Keystone."""
    ks = state['keystone']
    conf = write_keystone_conf(state)
    argv = keystone_argv(ks['port'])
    fingerprint = hashlib.sha256('\0'.join(
        [conf.read_text(), *argv, *KEYSTONE_PINS]).encode()).hexdigest()
    if not reinstalled and ours(ks.get('pid'), str(KEYSTONE_VENV)) and \
            ks.get('fingerprint') == fingerprint and \
            answers(f'{ks["url"]}/v3', (200,), timeout=10.0):
        try:
            token(ks['auth_url'], state['credentials']['admin'])
        except StackError:
            pass  # e.g. a new stack.json: bootstrap sets the password
        else:
            log(f'Keystone already runs (pid {ks["pid"]}) at {ks["url"]}')
            return
    stop(ks.get('pid'), str(KEYSTONE_VENV), 'Keystone')
    setup_keystone(state, conf, reinstalled)
    log_file = KEYSTONE_DIR / 'uwsgi.log'
    env = dict(os.environ)
    # Read by keystone.server.flask.core; uWSGI's own "env" option would be
    # applied too late for the pyuwsgi wheel.
    env['OS_KEYSTONE_CONFIG_FILES'] = str(conf)
    env.pop('OS_KEYSTONE_CONFIG_DIR', None)
    ks['pid'] = start(argv, log_file, KEYSTONE_DIR, env)
    ks['fingerprint'] = fingerprint
    log(f'starting Keystone (pid {ks["pid"]}) at {ks["url"]}')
    wait_for(f'{ks["url"]}/v3', ks['pid'], 'Keystone', log_file, (200,))


class Keystone:
    """The few Keystone v3 admin calls provisioning needs."""

    def __init__(self, auth_url: str, admin: dict[str, str]) -> None:
        self.url = auth_url
        self.token = token(auth_url, admin)

    def call(self, method: str, path: str, body: Any = None,
             expect: tuple[int, ...] = (200, 201, 204)) -> Any:
        status, _, reply = http(method, f'{self.url}{path}', body,
                                {'X-Auth-Token': self.token})
        if status not in expect:
            raise StackError(f'Keystone: {method} {path} gave {status}: '
                             f'{reply}')
        return reply

    def find(self, collection: str, **query: str) -> dict[str, Any] | None:
        qs = '&'.join(f'{k}={urllib.request.quote(v)}'
                      for k, v in query.items())
        items = self.call('GET', f'/{collection}?{qs}')[collection]
        return items[0] if items else None

    def ensure(self, collection: str, query: dict[str, str],
               attrs: dict[str, Any]) -> dict[str, Any]:
        """The resource ``query`` finds, made from ``attrs`` if none."""
        found = self.find(collection, **query)
        if found is not None:
            return found
        singular = collection[:-1]
        return self.call('POST', f'/{collection}', {singular: attrs})[
            singular]


def provision(state: dict[str, Any], reset_passwords: bool) -> None:
    """Roles, projects, users, role assignments and the messaging service
    with its endpoints; each made only if missing (a few listings when
    nothing is). Passwords are set on users that already exist only when
    ``reset_passwords`` (a new stack.json for an old database)."""
    ks = Keystone(state['keystone']['auth_url'],
                  state['credentials']['admin'])
    roles = {r['name']: r['id'] for r in ks.call('GET', '/roles')['roles']}
    for name in ROLES:
        if name not in roles:
            roles[name] = ks.call('POST', '/roles',
                                  {'role': {'name': name}})['role']['id']
    projects = {p['name']: p for p in
                ks.call('GET', f'/projects?domain_id={DOMAIN}')['projects']}
    users = {u['name']: u for u in
             ks.call('GET', f'/users?domain_id={DOMAIN}')['users']}
    assigned = {(a['user']['id'], a['scope']['project']['id'],
                 a['role']['id'])
                for a in ks.call('GET', '/role_assignments')[
                    'role_assignments']
                if 'user' in a and 'project' in a.get('scope', {})}
    for key, (username, project_name, role) in USERS.items():
        creds = state['credentials'][key]
        project = None
        if project_name:
            project = projects.get(project_name) or ks.call(
                'POST', '/projects', {'project': {
                    'name': project_name, 'domain_id': DOMAIN,
                    'description': 'Made by tools/stack.py'}})['project']
            creds['project_id'] = project['id']
        user = users.get(username)
        if user is None:
            attrs = {'name': username, 'domain_id': DOMAIN,
                     'password': creds['password'], 'enabled': True}
            if project:
                attrs['default_project_id'] = project['id']
            user = ks.call('POST', '/users', {'user': attrs})['user']
        elif reset_passwords and key != 'admin':  # bootstrap sets admin's
            ks.call('PATCH', f'/users/{user["id"]}',
                    {'user': {'password': creds['password']}})
        creds['user_id'] = user['id']
        if project and role and \
                (user['id'], project['id'], roles[role]) not in assigned:
            ks.call('PUT', f'/projects/{project["id"]}/users/{user["id"]}'
                           f'/roles/{roles[role]}')
    for part, (kind, name, description) in CATALOG.items():
        register_service(ks, kind, name, description, state[part]['url'])


def register_service(ks: Keystone, kind: str, name: str, description: str,
                     url: str) -> None:
    """The service ``name`` of type ``kind`` and its public, internal and
    admin endpoints at ``url`` (``zaqar``, type ``messaging``, at the REST
    server; ``zaqar-websocket``, type ``messaging-websocket``, at the
    WebSocket server, where os-collect-config and the TripleO client look
    for it)."""
    service = ks.ensure('services', {'type': kind, 'name': name},
                        {'type': kind, 'name': name,
                         'description': description, 'enabled': True})
    for interface in ('public', 'internal', 'admin'):
        endpoint = ks.find('endpoints', service_id=service['id'],
                           interface=interface)
        if endpoint is None:
            ks.call('POST', '/endpoints', {'endpoint': {
                'service_id': service['id'], 'interface': interface,
                'url': url, 'region_id': REGION, 'enabled': True}})
        elif endpoint['url'] != url:
            ks.call('PATCH', f'/endpoints/{endpoint["id"]}',
                    {'endpoint': {'url': url}})


def token(auth_url: str, creds: dict[str, str]) -> str:
    """A project-scoped token for ``creds``."""
    body = {'auth': {
        'identity': {'methods': ['password'], 'password': {'user': {
            'name': creds['username'], 'password': creds['password'],
            'domain': {'id': DOMAIN}}}},
        'scope': {'project': {'name': creds['project_name'],
                              'domain': {'id': DOMAIN}}}}}
    status, headers, reply = http('POST', f'{auth_url}/auth/tokens', body)
    if status != 201:
        raise StackError(f'no token for {creds["username"]} ({status}): '
                         f'{reply}')
    return headers['x-subject-token']


# -- zaqar-server ----------------------------------------------------------

def project_python(requested: str | None) -> str:
    """The interpreter of the project's virtualenv: ``requested``, else
    ``$ZAQAR_STACK_PYTHON``, else this one if zaqar-core is installed in
    it, else ``.venv/bin/python``."""
    candidates = [requested] if requested else [
        os.environ.get('ZAQAR_STACK_PYTHON'), sys.executable,
        str(ROOT / '.venv' / 'bin' / 'python')]
    for candidate in filter(None, candidates):
        # Not resolved: a venv's python is a symlink, and the venv is what
        # makes it find the project.
        path = os.path.abspath(candidate)
        if not os.path.exists(path):
            continue
        # Installed there (not merely found in the checkout, hence the
        # cwd), asked without importing the server (which takes a second).
        check = subprocess.run(
            [path, '-c', 'import importlib.metadata as m; '
                         "m.version('zaqar-core')"],
            capture_output=True, check=False, cwd='/')
        if check.returncode == 0:
            return path
        if requested:
            raise StackError(f'{path} cannot import zaqar_core: install the '
                             f'project into its venv (pip install -e .)')
    raise StackError('no Python with zaqar_core found: pass --python '
                     '.venv/bin/python (a venv with "pip install -e .")')


def zaqar_conf(state: dict[str, Any], part: str = 'zaqar') -> str:
    """The configuration of the zaqar-server that ``state[part]``
    describes: the REST one (``zaqar``) or the WebSocket one
    (``zaqar_websocket``). They differ only in their transport and logs:
    same store, Keystone, policy, signed-URL key and trustee."""
    z = state[part]
    transport, conf_name, _ = _zaqar_server(part)
    auth_url = state['keystone']['auth_url']
    service = state['credentials']['zaqar']
    trustee = state['credentials']['trustee']
    return f"""\
# Written by tools/stack.py; rewritten on every "up".
[DEFAULT]
auth_strategy = keystone
admin_mode = True
# /v2/pools and /v2/flavors, for the RBAC matrix and tempest.
pooling = True
debug = False
state_path = {ZAQAR_DIR / 'state'}
log_file = {z['app_log']}

[pooling:catalog]
# Tests register pools tagged with flavors of their own: every other
# queue stays in the message store.
enable_virtual_pool = True

[drivers]
transport = {transport}
message_store = sqlalchemy
management_store = sqlalchemy

[drivers:transport:{transport}]
bind = {HOST}
port = {z['port']}
workers = 2
threads = 4

[signed_url]
secret_key = {state['signed_url_key']}

[oslo_policy]
policy_file = {ZAQAR_DIR / 'policy.yaml'}

[keystone_authtoken]
auth_type = password
auth_url = {auth_url}
www_authenticate_uri = {state['keystone']['url']}
username = {service['username']}
password = {service['password']}
project_name = {service['project_name']}
user_domain_id = {DOMAIN}
project_domain_id = {DOMAIN}
region_name = {REGION}
# No memcached: each server process caches validated tokens itself.

[trustee]
auth_type = password
auth_url = {auth_url}
username = {trustee['username']}
password = {trustee['password']}
user_domain_id = {DOMAIN}
"""


POLICY = """\
# Written by tools/stack.py when missing, and then left alone: edit it to
# try policy changes (both zaqar-servers re-read it within a second). A
# rule not named here keeps its default (etc/policy.yaml.sample lists
# them). tempest relies on the default of health:get, "role:admin".
#
# "queues:create": "role:admin"
"""


def _zaqar_server(part: str) -> tuple[str, str, str]:
    """``(transport, conf file name, what logs call it)`` of a part."""
    for name, transport, conf_name, what in ZAQAR_SERVERS:
        if name == part:
            return transport, conf_name, what
    raise KeyError(part)


def zaqar_marker(part: str) -> str:
    """What the command line of ``state[part]``'s process holds."""
    return str(ZAQAR_DIR / _zaqar_server(part)[1])


def start_zaqar(state: dict[str, Any], python: str) -> None:
    """(Re)starts both zaqar-servers, each with a freshly written
    configuration; does not wait for them."""
    stop_all([(state[part].get('pid'), zaqar_marker(part), what)
              for part, _, _, what in ZAQAR_SERVERS])
    ZAQAR_DIR.mkdir(parents=True, exist_ok=True)
    POOL_DIR.mkdir(exist_ok=True)
    policy = ZAQAR_DIR / 'policy.yaml'
    if not policy.exists():
        policy.write_text(POLICY)
    script = Path(python).parent / 'zaqar-server'
    command = [str(script)] if script.exists() else \
        [python, '-m', 'zaqar_core.cmd.server']
    # Not Keystone's either: it may not be listening yet.
    taken = [state['keystone']['port']]
    for part, transport, conf_name, what in ZAQAR_SERVERS:
        z = state[part]
        z['port'] = free_port(z.get('port'), taken)
        taken.append(z['port'])
        scheme = 'ws' if transport == 'websocket' else 'http'
        # probe_url answers plain HTTP (426 from the WebSocket server).
        z.update(url=f'{scheme}://{HOST}:{z["port"]}',
                 probe_url=f'http://{HOST}:{z["port"]}/',
                 app_log=str(ZAQAR_DIR / conf_name.replace('.conf', '.log')),
                 log=str(ZAQAR_DIR / conf_name.replace('.conf',
                                                       '-server.log')))
        conf = zaqar_marker(part)
        write_private(Path(conf), zaqar_conf(state, part))
        z.update(pid=start([*command, '--config-file', conf], Path(z['log']),
                           ZAQAR_DIR, dict(os.environ)),
                 python=python, conf=conf, policy_file=str(policy))
        log(f'starting {what} (pid {z["pid"]}) at {z["url"]}')


def check_zaqar(state: dict[str, Any]) -> None:
    """Waits for both zaqar-servers, then pings the REST one and
    authenticates to the WebSocket one with the demo user's token: the
    whole auth chain works."""
    z, ws = state['zaqar'], state['zaqar_websocket']
    wait_for(z['probe_url'], z['pid'], 'zaqar-server', Path(z['log']))
    wait_for(ws['probe_url'], ws['pid'], 'zaqar-server (WebSocket)',
             Path(ws['log']), (426,))
    demo = state['credentials']['demo']
    demo_token = token(state['keystone']['auth_url'], demo)
    headers = {'X-Auth-Token': demo_token, 'Client-ID': str(uuid.uuid4())}
    status, _, reply = http('GET', f'{z["url"]}/v2/ping', headers=headers)
    if status != 204:
        raise StackError(f'zaqar-server refused an authenticated ping '
                         f'({status}: {reply}); see {z["app_log"]}')
    try:
        reply = websocket_request(ws['url'], {
            'action': 'authenticate', 'headers': {
                'X-Auth-Token': demo_token, 'Client-ID': str(uuid.uuid4()),
                'X-Project-ID': demo['project_id']}})
    except (OSError, ValueError) as exc:
        raise StackError(f'zaqar-server (WebSocket) at {ws["url"]}: {exc}; '
                         f'see {ws["app_log"]}') from exc
    status = reply.get('headers', {}).get('status')
    if status != 200:
        raise StackError(f'zaqar-server (WebSocket) refused the demo '
                         f'token ({status}: {reply.get("body")}); see '
                         f'{ws["app_log"]}')


def websocket_request(url: str, request: dict[str, Any],
                      timeout: float = 10.0) -> dict[str, Any]:
    """Sends ``request`` on a new WebSocket connection to ``url`` and
    returns the reply: just enough of RFC 6455 (one masked text frame out,
    one unmasked frame in) for :func:`check_zaqar`.

    Raises:
        OSError: no connection, or the handshake failed.
        ValueError: the reply is not one JSON object.
    """
    parts = urllib.parse.urlsplit(url)
    key = base64.b64encode(os.urandom(16)).decode()
    with socket.create_connection((parts.hostname, parts.port),
                                  timeout=timeout) as sock:
        sock.sendall(f'GET {parts.path or "/"} HTTP/1.1\r\n'
                     f'Host: {parts.netloc}\r\nUpgrade: websocket\r\n'
                     f'Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n'
                     f'Sec-WebSocket-Version: 13\r\n\r\n'.encode())
        stream = sock.makefile('rb')
        status_line = stream.readline().decode(errors='replace').strip()
        if status_line.split(' ')[1:2] != ['101']:
            raise OSError(f'handshake refused: {status_line!r}')
        while stream.readline() not in (b'\r\n', b''):
            pass
        sock.sendall(_ws_frame(0x1, json.dumps(request).encode()))
        head = stream.read(2)
        if len(head) < 2:
            raise OSError('the connection closed without a reply')
        length = head[1] & 0x7F
        if length >= 126:
            size = 2 if length == 126 else 8
            length = int.from_bytes(stream.read(size), 'big')
        data = stream.read(length)
        with contextlib.suppress(OSError):
            sock.sendall(_ws_frame(0x8, (1000).to_bytes(2, 'big')))
    if head[0] & 0x0F != 0x1:
        raise ValueError(f'a frame of opcode {head[0] & 0x0F}, not a reply: '
                         f'{data[:200]!r}')
    reply = json.loads(data)
    if not isinstance(reply, dict):
        raise ValueError(f'not a reply: {reply!r}')
    return reply


def _ws_frame(opcode: int, payload: bytes) -> bytes:
    """One final client frame (masked, as clients must)."""
    mask = os.urandom(4)
    size = len(payload)
    if size < 126:
        head = bytes([0x80 | opcode, 0x80 | size])
    elif size < 1 << 16:
        head = bytes([0x80 | opcode, 0x80 | 126]) + size.to_bytes(2, 'big')
    else:
        head = bytes([0x80 | opcode, 0x80 | 127]) + size.to_bytes(8, 'big')
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


# -- state -----------------------------------------------------------------

def new_state(old: dict[str, Any]) -> dict[str, Any]:
    """The state for this run: secrets and ports kept from ``old``."""
    creds = old.get('credentials', {})
    state = {
        'keystone': dict(old.get('keystone', {})),
        **{part: dict(old.get(part, {})) for part, _, _, _ in ZAQAR_SERVERS},
        'signed_url_key': old.get('signed_url_key') or secrets.token_hex(16),
        'credentials': {},
    }
    for key, (username, project_name, role) in USERS.items():
        state['credentials'][key] = {
            'username': username,
            'password': creds.get(key, {}).get('password') or
            secrets.token_urlsafe(12),
            'project_name': project_name,
            'user_domain_name': 'Default',
            'project_domain_name': 'Default',
            'role': role,
        }
    ks = state['keystone']
    if not (ours(ks.get('pid'), str(KEYSTONE_VENV)) and ks.get('port')):
        ks['port'] = free_port(ks.get('port'))
    ks.update(url=f'http://{HOST}:{ks["port"]}',
              auth_url=f'http://{HOST}:{ks["port"]}/v3',
              probe_url=f'http://{HOST}:{ks["port"]}/v3',
              region=REGION, version=KEYSTONE_VERSION,
              venv=str(KEYSTONE_VENV),
              conf=str(KEYSTONE_DIR / 'keystone.conf'),
              log=str(KEYSTONE_DIR / 'keystone.log'))
    state['files'] = {'state': str(STATE_FILE),
                      'openrc': str(STACK / 'openrc'),
                      'clouds_yaml': str(STACK / 'clouds.yaml')}
    return state


def openrc(state: dict[str, Any], key: str = 'admin') -> str:
    """Shell exports for user ``key``."""
    creds = state['credentials'][key]
    values = {
        'OS_AUTH_URL': state['keystone']['auth_url'],
        'OS_IDENTITY_API_VERSION': '3',
        'OS_AUTH_TYPE': 'password',
        'OS_USERNAME': creds['username'],
        'OS_PASSWORD': creds['password'],
        'OS_PROJECT_NAME': creds['project_name'],
        'OS_USER_DOMAIN_NAME': 'Default',
        'OS_PROJECT_DOMAIN_NAME': 'Default',
        'OS_REGION_NAME': REGION,
        'OS_INTERFACE': 'public',
    }
    return ''.join(f'export {k}={shlex.quote(v)}\n' for k, v in values.items())


def clouds_yaml(state: dict[str, Any]) -> str:
    """clouds.yaml (written by hand: the standard library has no YAML)."""
    lines = ['# Written by tools/stack.py.', 'clouds:']
    for key, cloud in CLOUDS.items():
        creds = state['credentials'][key]
        lines += [
            f'  {cloud}:',
            '    auth:',
            f'      auth_url: {json.dumps(state["keystone"]["auth_url"])}',
            f'      username: {json.dumps(creds["username"])}',
            f'      password: {json.dumps(creds["password"])}',
            f'      project_name: {json.dumps(creds["project_name"])}',
            '      user_domain_name: Default',
            '      project_domain_name: Default',
            f'    region_name: {REGION}',
            '    identity_api_version: 3',
            '    interface: public',
        ]
    return '\n'.join(lines) + '\n'


# -- commands --------------------------------------------------------------

def up(python: str | None = None) -> dict[str, Any]:
    """Brings the stack up (see the module docstring); returns its state.

    Raises:
        StackError: a step failed; the message names its log.
    """
    started = time.monotonic()
    with locked():
        python = project_python(python)
        old = load_state()
        state = new_state(old)
        try:
            # zaqar-server needs Keystone only for requests: start both
            # first, and set Keystone up while they start.
            start_zaqar(state, python)
            save_state(state)
            ensure_keystone(state, reinstalled=ensure_keystone_venv())
            save_state(state)
            provision(state, reset_passwords=not old.get('credentials'))
            check_zaqar(state)
            save_state(state)
        except KeyboardInterrupt:
            _stop_started(old, state)
            raise
        write_private(STACK / 'openrc', openrc(state))
        write_private(STACK / 'clouds.yaml', clouds_yaml(state))
    log(f'up in {time.monotonic() - started:.1f} s: Keystone '
        f'{state["keystone"]["auth_url"]}, zaqar {state["zaqar"]["url"]} '
        f'and {state["zaqar_websocket"]["url"]}')
    log(f'try: OS_CLIENT_CONFIG_FILE={STACK / "clouds.yaml"} openstack '
        f'--os-cloud stack-demo messaging queue list')
    return state


def _stop_started(old: dict[str, Any], state: dict[str, Any]) -> None:
    """Stops what an interrupted ``up`` started (a service whose pid is not
    the one ``old`` recorded), so that nothing of it runs on unrecorded or
    half set up; a Keystone it kept stays."""
    log('interrupted: stopping what this up started')
    _stop_services(state, [
        part for _, part, _, _ in SERVICES
        if state.get(part, {}).get('pid') not in
        (None, old.get(part, {}).get('pid'))], INTERRUPTED_STOP_TIMEOUT)


def _stop_services(state: dict[str, Any], parts: Sequence[str],
                   timeout: float = STOP_TIMEOUT) -> None:
    """Stops the services recorded under ``parts`` of ``state``, all at
    once, and saves the state without their pids."""
    stop_all([(state.get(part, {}).get('pid'), marker, name)
              for name, part, marker, _ in SERVICES if part in parts],
             timeout)
    for part in parts:
        state.get(part, {}).pop('pid', None)
    if state:
        save_state(state)


def _interrupted(signum: int, frame: Any) -> None:
    """SIGTERM (and SIGINT) end a command as Ctrl-C does, once: the
    cleanup that follows is not cut short by another."""
    for each in (signal.SIGTERM, signal.SIGINT):
        signal.signal(each, _ignored)
    raise KeyboardInterrupt(f'signal {signum}')


def _ignored(signum: int, frame: Any) -> None:
    """A signal after the first (not SIG_IGN, which children inherit)."""


def down() -> None:
    """Stops both zaqar-servers and Keystone; keeps their data and the
    venvs."""
    with locked():
        _stop_services(load_state(), [part for _, part, _, _ in SERVICES])


#: What health checks: name, part of the state, the marker its pid's
#: command line holds, the statuses its ``probe_url`` answers when it is
#: up (a plain GET to the WebSocket server: 426 Upgrade Required).
SERVICES = (
    ('keystone', 'keystone', str(KEYSTONE_VENV), (200,)),
    ('zaqar-server', 'zaqar', zaqar_marker('zaqar'), (200, 300)),
    ('zaqar-websocket', 'zaqar_websocket', zaqar_marker('zaqar_websocket'),
     (426,)),
)


def health(state: dict[str, Any]) -> dict[str, str]:
    """Per service: ``up``, ``not answering`` or ``stopped``."""
    found = {}
    for name, part, marker, expect in SERVICES:
        info = state.get(part, {})
        if not ours(info.get('pid'), marker):
            found[name] = 'stopped'
        elif 'probe_url' in info and \
                answers(info['probe_url'], expect, timeout=5.0):
            found[name] = 'up'
        else:
            found[name] = 'not answering'
    return found


def status() -> int:
    """Prints what runs; returns 0 if every service is up."""
    state = load_state()
    if not state:
        print('no stack: run "python tools/stack.py up"')
        return 1
    found = health(state)
    for name, part, _, _ in SERVICES:
        info = state.get(part, {})
        print(f'{name:15} {found[name]:14} pid {info.get("pid") or "-":<8} '
              f'{info.get("url")}')
    print(f'state           {STATE_FILE}')
    return 0 if set(found.values()) == {'up'} else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog='tools/stack.py', description=__doc__.split('\n\n')[0])
    sub = parser.add_subparsers(dest='command', required=True)
    up_parser = sub.add_parser('up', help='start (or refresh) the stack')
    up_parser.add_argument(
        '--python', help="the project venv's python (default: "
                         '$ZAQAR_STACK_PYTHON, else this one if zaqar-core '
                         'is installed in it, else .venv/bin/python)')
    sub.add_parser('down', help='stop the services')
    sub.add_parser('status', help='print what runs')
    sub.add_parser('clients', help='make the venv of the WebSocket clients '
                                   'the tests drive; print its python')
    env_parser = sub.add_parser('env', help='print shell exports')
    env_parser.add_argument('--user', choices=sorted(CLOUDS),
                            default='admin')
    args = parser.parse_args(argv)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _interrupted)
    try:
        if args.command == 'up':
            up(args.python)
        elif args.command == 'down':
            down()
        elif args.command == 'status':
            return status()
        elif args.command == 'env':
            state = load_state()
            if not state:
                raise StackError('no stack: run "python tools/stack.py up"')
            print(openrc(state, args.user), end='')
            print(f'export OS_CLIENT_CONFIG_FILE='
                  f'{shlex.quote(str(STACK / "clouds.yaml"))}')
            print(f'export ZAQAR_URL={shlex.quote(state["zaqar"]["url"])}')
            ws_url = state.get('zaqar_websocket', {}).get('url', '')
            print(f'export ZAQAR_WEBSOCKET_URL={shlex.quote(ws_url)}')
        elif args.command == 'clients':
            print(ensure_clients_venv())
    except StackError as exc:
        log(f'error: {exc}')
        return 1
    except KeyboardInterrupt:
        log('interrupted')
        return 130
    return 0


if __name__ == '__main__':
    sys.exit(main())
