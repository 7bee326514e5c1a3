"""``zaqar-status upgrade check``, run as operators run it: a process of its
own on a configuration file, judged by its exit status and its findings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from oslo_config import cfg

from zaqar_core import bootstrap
from zaqar_core import conf as zconf
from zaqar_core import plugins
from zaqar_core.cmd import status
from zaqar_core.storage import pools as pooling
from zaqar_plugins.storage.sqlalchemy import migration
from zaqar_plugins.storage.sqlalchemy import options as sqlalchemy_stores
from zaqar_testing import databases
from zaqar_testing.ports import refusing_address
from zaqar_testing.redis_servers import RedisServer

#: The schema this release needs.
HEAD = migration.head()

OK, WARNING, FAILURE = 0, 1, 2

#: What keeps the Notices check quiet: a key of our own, and mail through
#: an SMTP host rather than a sendmail this host may lack.
QUIET = ('[transport]\nmessage_encryption_key = not-the-public-one\n'
         '[notification]\nsmtp_mode = self_local\n'
         'smtp_host = 127.0.0.1\n')

SCHEMA = 'Storage schema'
POLICY = 'Policy file'
OPTIONS = 'Configuration options'


class Deployment:
    """A configuration file, its SQLite database and its policy file, all
    under one temporary directory that is also the process's home."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.database = root / 'zaqar.sqlite'
        self.policy = root / 'policy.yaml'
        self.conf = root / 'zaqar.conf'
        self.uri = f'sqlite:///{self.database}'
        self.write()

    def write(self, extra: str = '', uri: str | None = None) -> None:
        """The configuration: the SQL stores on one database, then
        ``extra``."""
        uri = uri or self.uri
        self.conf.write_text(
            f'[drivers:message_store:sqlalchemy]\nuri = {uri}\n'
            f'[drivers:management_store:sqlalchemy]\nuri = {uri}\n'
            f'[oslo_policy]\npolicy_file = {self.policy}\n{QUIET}{extra}')

    def run(self, module: str, *args: str) -> subprocess.CompletedProcess:
        """``python -m module --config-file <conf> args...``."""
        env = dict(os.environ, HOME=str(self.root))
        return subprocess.run(
            [sys.executable, '-m', module, '--config-file', str(self.conf),
             *args],
            cwd=self.root, env=env, capture_output=True, text=True,
            timeout=120, check=False)

    def manage(self, *args: str) -> None:
        result = self.run('zaqar_core.cmd.manage', *args)
        assert result.returncode == 0, result.stderr

    def check(self) -> tuple[int, dict[str, tuple]]:
        """Exit status, and (code, details) of each check."""
        result = self.run('zaqar_core.cmd.status', 'upgrade', 'check',
                          '--json')
        assert result.returncode in (OK, WARNING, FAILURE), (
            result.stdout + result.stderr)
        report = json.loads(result.stdout)
        return result.returncode, {
            check['check']: (check['result'], check['details'] or '')
            for check in report['checks']}


def migrate(uri: str, revision: str) -> None:
    """Bring the database at ``uri`` to ``revision``, as the SQL driver
    does."""
    conf = zconf.register_opts(cfg.ConfigOpts())
    conf([], project='zaqar', default_config_files=[],
         default_config_dirs=[])
    conf.set_override('uri', uri, group=sqlalchemy_stores.MANAGEMENT_GROUP)
    driver = bootstrap.open_store(conf, plugins.MANAGEMENT_STORE)
    try:
        driver.upgrade(revision)
    finally:
        driver.close()


@pytest.fixture
def deployment(tmp_path: Path) -> Deployment:
    return Deployment(tmp_path)


# Storage schema -------------------------------------------------------


def test_a_database_at_head_passes(deployment: Deployment) -> None:
    deployment.manage('db', 'upgrade')
    code, checks = deployment.check()
    assert code == OK
    assert checks[SCHEMA][0] == OK
    assert f'schema at {HEAD}' in checks[SCHEMA][1]


def test_an_sqlite_database_behind_is_a_warning(deployment: Deployment
                                                ) -> None:
    # The server upgrades SQLite itself when it starts: nothing breaks.
    migrate(deployment.uri, '0001')
    code, checks = deployment.check()
    assert code == WARNING
    assert checks[SCHEMA][0] == WARNING
    assert f'schema at 0001, this release needs {HEAD}' in checks[SCHEMA][1]


@pytest.mark.parametrize('backend', ['postgresql', 'mysql'])
def test_a_server_database_behind_is_a_failure(deployment: Deployment,
                                               backend: str) -> None:
    factory = databases.DatabaseFactory(deployment.root)
    database = factory.create(backend)
    try:
        deployment.write(uri=database.uri)
        migrate(database.uri, '0001')
        code, checks = deployment.check()
        assert code == FAILURE
        assert checks[SCHEMA][0] == FAILURE
        assert f'schema at 0001, this release needs {HEAD}' in \
            checks[SCHEMA][1]
        assert 'zaqar-manage' in checks[SCHEMA][1]

        migrate(database.uri, 'head')
        assert deployment.check()[0] == OK
    finally:
        factory.drop_all()


def test_an_empty_server_database_is_a_failure(deployment: Deployment
                                               ) -> None:
    factory = databases.DatabaseFactory(deployment.root)
    database = factory.create('postgresql')
    try:
        deployment.write(uri=database.uri)
        code, checks = deployment.check()
        assert code == FAILURE
        assert 'schema empty' in checks[SCHEMA][1]
    finally:
        factory.drop_all()


def test_no_database_yet_passes_and_creates_nothing(
        deployment: Deployment) -> None:
    deployment.conf.write_text(
        f'[DEFAULT]\nstate_path = {deployment.root / "state"}\n'
        f'[oslo_policy]\npolicy_file = {deployment.policy}\n{QUIET}')
    assert deployment.check()[0] == OK
    deployment.write()
    assert deployment.check()[0] == OK
    assert not (deployment.root / 'state').exists()
    assert not deployment.database.exists()


def test_an_unreachable_database_is_a_failure(deployment: Deployment
                                              ) -> None:
    deployment.write(uri='postgresql+psycopg2://zaqar@127.0.0.1:1/zaqar')
    code, checks = deployment.check()
    assert code == FAILURE
    assert 'cannot open it' in checks[SCHEMA][1]


def test_a_store_driver_that_is_not_installed_is_a_failure(
        deployment: Deployment) -> None:
    deployment.write('[drivers]\nmessage_store = mongodb\n')
    code, checks = deployment.check()
    assert code == FAILURE
    assert 'message_store = mongodb is not installed' in checks[SCHEMA][1]


def redis_stores(uri: str) -> str:
    return ('[drivers]\nmessage_store = redis\nmanagement_store = redis\n'
            f'[drivers:message_store:redis]\nuri = {uri}\n'
            f'[drivers:management_store:redis]\nuri = {uri}\n')


def test_redis_has_no_schema(deployment: Deployment) -> None:
    server = RedisServer(deployment.root / 'redis').start()
    try:
        deployment.conf.write_text(
            redis_stores(server.uri) + '[oslo_policy]\npolicy_file = '
            f'{deployment.policy}\n{QUIET}')
        code, checks = deployment.check()
    finally:
        server.stop()
    assert code == OK, checks
    assert 'no schema to migrate' in checks[SCHEMA][1]


def test_a_store_that_does_not_answer_fails_as_the_server_would(
        deployment: Deployment) -> None:
    with refusing_address() as address:
        deployment.conf.write_text(
            redis_stores(f'redis://:secret@{address}') +
            f'[oslo_policy]\npolicy_file = {deployment.policy}\n{QUIET}')
        code, checks = deployment.check()
    assert code == FAILURE
    # One store serves both: one line.
    assert f'The message and management store (redis://:***@{address}) ' \
        f'does not answer' in checks[SCHEMA][1]
    assert checks[SCHEMA][1].count('does not answer') == 1
    assert 'secret' not in checks[SCHEMA][1]


# Pools ----------------------------------------------------------------

POOLS = 'Pools'
POOLING = '[DEFAULT]\npooling = true\nadmin_mode = true\n'


def register_pool(deployment: Deployment, name: str, uri: str) -> None:
    """A pool in the deployment's management store, as an older release
    registered it (its database keeps whatever schema it has)."""
    conf = zconf.register_opts(cfg.ConfigOpts())
    conf(['--config-file', str(deployment.conf)], project='zaqar',
         default_config_dirs=[])
    control = bootstrap.open_store(conf, plugins.MANAGEMENT_STORE)
    try:
        control.pool_controller.put(pooling.Pool(name, uri, 1))
    finally:
        control.close()


def test_pooling_without_a_pool_is_a_warning(deployment: Deployment) -> None:
    deployment.write(POOLING)
    deployment.manage('db', 'upgrade')
    code, checks = deployment.check()
    assert code == WARNING, checks
    assert checks[POOLS] == (WARNING, status.NO_POOL)
    deployment.write(POOLING + '[pooling:catalog]\nenable_virtual_pool = '
                               'true\n')
    code, checks = deployment.check()
    assert code == OK, checks
    assert 'new queues go to the message store' in checks[POOLS][1]


def test_a_pool_behind_the_release_is_a_failure_until_manage_upgrades_it(
        deployment: Deployment) -> None:
    deployment.write(POOLING)
    deployment.manage('db', 'upgrade')
    pool = f'sqlite:///{deployment.root / "pool.sqlite"}'
    migrate(pool, '0004')
    register_pool(deployment, 'old', pool)
    code, checks = deployment.check()
    assert code == FAILURE, checks
    assert checks[POOLS][0] == FAILURE
    assert f'Pool old ({pool}): ' in checks[POOLS][1]
    assert 'upgrades the pools too' in checks[POOLS][1]
    deployment.manage('db', 'upgrade')
    code, checks = deployment.check()
    assert code == OK, checks
    assert checks[POOLS] == (
        OK, '1 of 1 pool(s) answer with a current schema.')


def test_a_pool_that_does_not_answer_is_a_warning(
        deployment: Deployment) -> None:
    deployment.write(POOLING)
    deployment.manage('db', 'upgrade')
    with refusing_address() as address:
        register_pool(deployment, 'gone', f'redis://{address}')
        code, checks = deployment.check()
    assert code == WARNING, checks
    assert checks[POOLS][0] == WARNING
    assert 'Pool gone (redis://' in checks[POOLS][1]
    assert 'its queues answer 503' in checks[POOLS][1]


# Policy file ----------------------------------------------------------


def ready(deployment: Deployment, extra: str = '') -> Deployment:
    """Stores with nothing to judge (an SQLite file the server will make;
    the check does not connect), so that only the policy and the options
    remain to judge."""
    deployment.write(extra)
    return deployment


def test_a_yaml_policy_file_with_known_rules_passes(
        deployment: Deployment) -> None:
    ready(deployment).policy.write_text(
        '"queues:create": "rule:creator"\n'
        '"creator": "role:member"\n'      # an alias another rule refers to
        '"pools:get_all": "rule:context_is_admin"\n')
    code, checks = deployment.check()
    assert code == OK, checks
    assert checks[POLICY] == (OK, '')


def test_a_json_policy_file_is_a_warning(deployment: Deployment) -> None:
    ready(deployment).policy.write_text('{"queues:create": "role:member"}')
    code, checks = deployment.check()
    assert code == WARNING
    assert checks[POLICY][0] == WARNING
    assert 'is JSON' in checks[POLICY][1]


def test_an_unknown_rule_is_a_warning(deployment: Deployment) -> None:
    ready(deployment).policy.write_text(
        '"queues:create": ""\n"queues:list": ""\n')
    code, checks = deployment.check()
    assert code == WARNING
    assert 'does not define, which have no effect: queues:list' in \
        checks[POLICY][1]


def test_a_reference_to_an_undefined_rule_is_a_warning(
        deployment: Deployment) -> None:
    ready(deployment).policy.write_text('"queues:create": "rule:nobody"\n')
    code, checks = deployment.check()
    assert code == WARNING
    assert 'defined nowhere, which always deny: nobody' in checks[POLICY][1]


def test_policy_d_files_are_checked_too(deployment: Deployment) -> None:
    ready(deployment)
    (deployment.root / 'policy.d').mkdir()
    (deployment.root / 'policy.d' / 'extra.yaml').write_text(
        '"queues:frobnicate": ""\n')
    code, checks = deployment.check()
    assert code == WARNING
    assert 'extra.yaml' in checks[POLICY][1]


def test_a_policy_json_left_behind_is_a_warning(deployment: Deployment
                                                ) -> None:
    # oslo.policy reads only policy.yaml now: its rules no longer apply.
    ready(deployment, '[oslo_policy]\npolicy_file = policy.yaml\n')
    (deployment.root / 'policy.json').write_text('{"queues:create": "!"}')
    code, checks = deployment.check()
    assert code == WARNING
    assert 'policy.json is not read' in checks[POLICY][1]


def test_a_policy_file_that_does_not_parse_is_a_failure(
        deployment: Deployment) -> None:
    ready(deployment).policy.write_text('"queues:create": [unclosed\n')
    code, checks = deployment.check()
    assert code == FAILURE
    assert checks[POLICY][0] == FAILURE


# Configuration options ------------------------------------------------


def test_upstream_defaults_pass(deployment: Deployment) -> None:
    ready(deployment)
    code, checks = deployment.check()
    assert code == OK
    assert checks[OPTIONS] == (OK, '')


def test_rsa_encryption_is_a_failure(deployment: Deployment) -> None:
    ready(deployment, '[transport]\nmessage_encryption_algorithms = RSA\n')
    code, checks = deployment.check()
    assert code == FAILURE
    assert checks[OPTIONS][0] == FAILURE
    assert 'RSA is not implemented' in checks[OPTIONS][1]


@pytest.mark.parametrize('extra, finding', [
    ('[DEFAULT]\npooling = true\n', 'only admin_mode serves'),
    ('[DEFAULT]\nsharding = true\n', 'sharding is a deprecated name'),
    ('[DEFAULT]\nenable_deprecated_api_versions = 1.1\n',
     'only the v2 API exists'),
    ('[DEFAULT]\nunreliable = true\n', 'unreliable has no effect'),
    ('[storage]\nmessage_pipeline = zaqar.notification.notifier\n',
     'notifications are always on'),
    ('[storage]\nqueue_pipeline = my.stage\n', 'will not run'),
    ('[drivers]\ntransport = pigeon\n', 'zaqar-server will not start'),
    ('[drivers]\nstorage = sqlalchemy\n', 'use [drivers] message_store'),
    ('[limits:transport]\nmax_messages_per_page = 10\n',
     '[limits:transport] is ignored'),
    ('[transport]\nmax_message_size = 1024\n',
     'max_message_size is ignored'),
    ('[profiler]\nenabled = true\n', 'does not support OSprofiler'),
])
def test_options_without_effect_are_warnings(deployment: Deployment,
                                             extra: str,
                                             finding: str) -> None:
    ready(deployment, extra)
    code, checks = deployment.check()
    assert code == WARNING, checks
    assert checks[OPTIONS][0] == WARNING
    assert finding in checks[OPTIONS][1]


def test_the_table_report(deployment: Deployment) -> None:
    ready(deployment, '[DEFAULT]\npooling = true\n')
    result = deployment.run('zaqar_core.cmd.status', 'upgrade', 'check')
    assert result.returncode == WARNING
    assert 'Check: Configuration options' in result.stdout
    assert 'Result: Warning' in result.stdout


@pytest.mark.parametrize('extra, finding', [
    ('[DEFAULT]\nauth_stratgy = keystone\n',
     'zaqar.conf: [DEFAULT] auth_stratgy is not a known option (did you '
     'mean auth_strategy?)'),
    ('[drivers]\nmessage_storage = sqlalchemy\n',
     'message_storage is not a known option (did you mean message_store?)'),
])
def test_what_the_servers_refuse_is_a_failure(deployment: Deployment,
                                              extra: str,
                                              finding: str) -> None:
    ready(deployment, extra)
    code, checks = deployment.check()
    assert code == FAILURE
    assert checks[OPTIONS][0] == FAILURE
    assert finding in checks[OPTIONS][1]


def test_strict_config_false_makes_it_a_warning(deployment: Deployment
                                                ) -> None:
    ready(deployment, '[DEFAULT]\nstrict_config = false\n'
                      'auth_stratgy = keystone\n')
    code, checks = deployment.check()
    assert code == WARNING
    assert 'auth_stratgy is not a known option' in checks[OPTIONS][1]


def test_unknown_and_upstream_only_options_elsewhere_are_warnings(
        deployment: Deployment) -> None:
    ready(deployment, '[transport]\nmax_mesages_per_page = 5\n'
                      '[cache]\nenabled = true\n')
    code, checks = deployment.check()
    assert code == WARNING
    assert 'did you mean max_messages_per_page?' in checks[OPTIONS][1]
    assert '[cache] is accepted for compatibility with upstream Zaqar' in \
        checks[OPTIONS][1]


@pytest.mark.parametrize('extra, line', [
    ('[drivers:transport:wsgi]\nport = abc\n',
     'zaqar-status: zaqar.conf: [drivers:transport:wsgi] port = abc: not '
     'a valid port number (0-65535)\n'),
    ('[DEFAULT]\npooling = perhaps\n',
     'zaqar-status: zaqar.conf: [DEFAULT] pooling = perhaps: not a boolean '
     '(true or false)\n'),
])
def test_a_bad_value_is_one_line_and_status_2(deployment: Deployment,
                                              extra: str, line: str) -> None:
    ready(deployment, extra)
    result = deployment.run('zaqar_core.cmd.status', 'upgrade', 'check')
    assert result.returncode == FAILURE
    assert result.stderr == line
    assert result.stdout == ''


def test_a_missing_config_file_is_one_line_and_status_2(
        deployment: Deployment) -> None:
    deployment.conf.unlink()
    result = deployment.run('zaqar_core.cmd.status', 'upgrade', 'check')
    assert result.returncode == FAILURE
    assert result.stderr == (f'zaqar-status: {deployment.conf}: no such '
                             f'config file\n')


def test_notices_are_warnings(deployment: Deployment) -> None:
    ready(deployment, '[transport]\nmessage_encryption_key = AES256\n')
    code, checks = deployment.check()
    assert code == WARNING
    assert checks['Notices'][0] == WARNING
    assert 'public default key' in checks['Notices'][1]
