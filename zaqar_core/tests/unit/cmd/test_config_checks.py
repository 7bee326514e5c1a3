"""The configuration checks (``zaqar_core.conf.checking``) on real files,
through ``common.load_config`` as every console script runs them."""

from __future__ import annotations

from pathlib import Path

import pytest
from oslo_config import cfg
from oslo_log import log

from zaqar_core import conf as zconf
from zaqar_core.cmd import common
from zaqar_core.conf import checking
from zaqar_core.conf import upstream_options


def load(tmp_path: Path, text: str, *extra: str):
    path = tmp_path / 'zaqar.conf'
    path.write_text(f'[DEFAULT]\nstate_path = {tmp_path / "state"}\n{text}')
    return common.load_config(['--config-file', str(path), *extra])


def warnings(tmp_path: Path, text: str) -> list[str]:
    """What a server would log about ``text`` (logging itself is
    oslo.log's, which replaces pytest's capture)."""
    path = tmp_path / 'zaqar.conf'
    path.write_text(text)
    conf = zconf.register_opts(cfg.ConfigOpts())
    log.register_options(conf)
    checking.parse(conf, ['--config-file', str(path)], project='zaqar')
    found = checking.check(conf)
    assert not [finding for finding in found if finding.refused]
    return [finding.line for finding in found]


def refusal(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(checking.ConfigError) as caught:
        load(tmp_path, text)
    return caught.value.lines


@pytest.mark.parametrize('text, line', [
    ('auth_stratgy = keystone\n',
     'zaqar.conf: [DEFAULT] auth_stratgy is not a known option (did you '
     'mean auth_strategy?)'),
    ('[drivers]\nmessage_storage = redis\n',
     'zaqar.conf: [drivers] message_storage is not a known option (did '
     'you mean message_store?)'),
    ('[drivers:transport:wsgi]\nprot = 8956\n',
     'zaqar.conf: [drivers:transport:wsgi] prot is not a known option '
     '(did you mean port?)'),
    ('[signed_url]\nsecret = x\n',
     'zaqar.conf: [signed_url] secret is not a known option (did you mean '
     'secret_key?)'),
    ('[keystone_authtoken]\nwww_authenticate_url = http://ks\n',
     'zaqar.conf: [keystone_authtoken] www_authenticate_url is not a '
     'known option (did you mean www_authenticate_uri?)'),
    ('[drivers:message_store:redix]\nuri = redis://x\n',
     'zaqar.conf: [drivers:message_store:redix] is not a known group (did '
     'you mean [drivers:message_store:redis]?)'),
    # oslo.config reads [DEFAULT] only so spelled, and dashed names never.
    ('[default]\nauth_strategy = keystone\n',
     'zaqar.conf: [default] is not a known group (did you mean '
     '[DEFAULT]?)'),
    ('[drivers:transport:websocket]\nexternal-port = 9001\n',
     'zaqar.conf: [drivers:transport:websocket] external-port is not a '
     'known option (did you mean external_port?)'),
])
def test_unknown_names_in_guarded_groups_are_refused(
        tmp_path: Path, text: str, line: str) -> None:
    assert refusal(tmp_path, text) == [line]


@pytest.mark.parametrize('text, line', [
    ('[drivers:transport:wsgi]\nport = abc\n',
     'zaqar.conf: [drivers:transport:wsgi] port = abc: not a valid port '
     'number (0-65535)'),
    ('admin_mode = maybe\n',
     'zaqar.conf: [DEFAULT] admin_mode = maybe: not a boolean (true or '
     'false)'),
    ('auth_strategy = keystne\n',
     "zaqar.conf: [DEFAULT] auth_strategy = keystne: must be one of '', "
     "'keystone'"),
    ('[transport]\nmax_messages_per_page = many\n',
     'zaqar.conf: [transport] max_messages_per_page = many: not an '
     'integer'),
    ('[keystone_authtoken]\nauth_type = pasword\n',
     'zaqar.conf: [keystone_authtoken] auth_type = pasword: no such '
     'keystoneauth1 plugin (did you mean password?)'),
])
def test_invalid_values_are_refused(tmp_path: Path, text: str,
                                    line: str) -> None:
    assert refusal(tmp_path, text) == [line]


def test_invalid_values_are_refused_even_when_not_strict(
        tmp_path: Path) -> None:
    assert refusal(tmp_path, 'strict_config = false\n'
                             '[drivers:transport:wsgi]\nport = abc\n')


def test_a_secret_value_is_not_repeated(tmp_path: Path) -> None:
    [line] = refusal(tmp_path, '[drivers:message_store:sqlalchemy]\n'
                               'max_pool_size = s3cret\n')
    assert 's3cret' in line  # not secret: shown
    [line] = refusal(tmp_path, '[trustee]\ninsecure = s3cret\n')
    assert 'insecure = s3cret' in line


def test_every_problem_is_told_at_once(tmp_path: Path) -> None:
    lines = refusal(tmp_path, 'auth_stratgy = keystone\n'
                              '[drivers]\nmessage_storage = redis\n'
                              '[drivers:transport:wsgi]\nport = abc\n')
    assert len(lines) == 3
    assert all('\n' not in line for line in lines)


def test_strict_config_false_only_warns(tmp_path: Path) -> None:
    conf = load(tmp_path, 'strict_config = false\nauth_stratgy = keystone\n')
    assert conf.auth_strategy == ''
    assert warnings(tmp_path, '[DEFAULT]\nstrict_config = false\n'
                              'auth_stratgy = keystone\n') == [
        'zaqar.conf: [DEFAULT] auth_stratgy is not a known option (did you '
        'mean auth_strategy?)']


def test_unknown_elsewhere_and_upstream_only_are_warnings(
        tmp_path: Path) -> None:
    text = ('[transport]\nmax_mesages_per_page = 3\n'
            '[cache]\nenabled = true\n'
            '[profiler]\nenabled = true\n'
            '[drivers:message_store:mongodb]\nuri = mongodb://x\n'
            '[limits:transport]\nmax_messages_per_page = 3\n'
            '[keystone_authtoken]\nmemcache_servers = x:1\n'
            '[oslo_policy]\nenforce_scope = true\n'
            '[DEFAULT]\nsharding = true\n')
    load(tmp_path, text)  # accepted
    version = upstream_options.UPSTREAM_VERSION
    assert warnings(tmp_path, text) == [
        'zaqar.conf: [transport] max_mesages_per_page is not a known '
        'option (did you mean max_messages_per_page?)',
        f'zaqar.conf: [cache] is accepted for compatibility with upstream '
        f'Zaqar {version}, has no effect here: auth_token caches through '
        f'[keystone_authtoken] memcached_servers.',
        f'zaqar.conf: [profiler] is accepted for compatibility with '
        f'upstream Zaqar {version}, has no effect here: this release does '
        f'not support OSprofiler.',
        f'zaqar.conf: [drivers:message_store:mongodb] is accepted for '
        f'compatibility with upstream Zaqar {version}, has no effect here: '
        f'this release has no MongoDB driver.',
        'zaqar.conf: [limits:transport] is ignored: removed upstream in '
        '2025.2 (its options are in [transport]).',
        'zaqar.conf: [keystone_authtoken] memcache_servers is a deprecated '
        'name; use [keystone_authtoken] memcached_servers.',
        # oslo.policy dropped it: no near name to suggest.
        'zaqar.conf: [oslo_policy] enforce_scope is not a known option',
        'zaqar.conf: [DEFAULT] sharding is a deprecated name; use '
        '[DEFAULT] pooling.',
    ]


def test_known_options_pass_silently(tmp_path: Path) -> None:
    # This server's, the libraries', and a keystoneauth1 plugin's.
    assert warnings(
        tmp_path,
        '[DEFAULT]\nauth_strategy = keystone\ndebug = true\n'
        'transport_url = rabbit://guest:guest@127.0.0.1:5672/\n'
        '[drivers]\nmessage_store = redis\n'
        '[keystone_authtoken]\nauth_type = password\n'
        'auth_url = http://127.0.0.1:5000/v3\nusername = zaqar\n'
        'password = secret\nproject_name = service\n'
        'user_domain_name = Default\n'
        'memcached_servers = 127.0.0.1:11211\n'
        '[trustee]\nauth_type = password\nusername = zaqar\n'
        '[cors]\nallowed_origin = https://dashboard\n'
        '[oslo_middleware]\nenable_proxy_headers_parsing = true\n'
        '[oslo_policy]\nenforce_new_defaults = true\n'
        '[oslo_messaging_notifications]\ndriver = messagingv2\n'
        'driver = log\n') == []


def test_plugin_options_need_their_plugin(tmp_path: Path) -> None:
    # No auth_type: keystoneauth1 loads no plugin, username is read by
    # nothing.
    assert refusal(tmp_path, '[keystone_authtoken]\nusername = zaqar\n')


def test_old_names_are_accepted(tmp_path: Path) -> None:
    conf = load(tmp_path, 'sharding = true\n[drivers]\nstorage = redis\n')
    assert conf.pooling is True
    assert conf.drivers.message_store == 'redis'


@pytest.mark.parametrize('argv, line', [
    (['--config-file', '/nonexistent/zaqar.conf'],
     '/nonexistent/zaqar.conf: no such config file'),
    (['--config-dir', '/nonexistent/zaqar.d'],
     '/nonexistent/zaqar.d: no such config directory'),
])
def test_missing_files_are_one_line(argv: list[str], line: str) -> None:
    with pytest.raises(checking.ConfigError) as caught:
        common.load_config(argv)
    assert caught.value.lines == [line]


def test_an_unparsable_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / 'zaqar.conf'
    path.write_text('[DEFAULT\n')
    with pytest.raises(checking.ConfigError) as caught:
        common.load_config(['--config-file', str(path)])
    [line] = caught.value.lines
    assert line.startswith(f'{path}: cannot parse: ')


def test_config_dir_files_are_checked(tmp_path: Path) -> None:
    directory = tmp_path / 'zaqar.d'
    directory.mkdir()
    (directory / '50-auth.conf').write_text('[DEFAULT]\nauth_stratgy = x\n')
    with pytest.raises(checking.ConfigError) as caught:
        load(tmp_path, '', '--config-dir', str(directory))
    assert caught.value.lines[0].startswith('50-auth.conf: [DEFAULT] '
                                            'auth_stratgy')


def test_the_last_file_decides_a_value(tmp_path: Path) -> None:
    override = tmp_path / 'override.conf'
    override.write_text('[drivers:transport:wsgi]\nport = 8000\n')
    conf = load(tmp_path, '[drivers:transport:wsgi]\nport = abc\n',
                '--config-file', str(override))
    assert conf['drivers:transport:wsgi'].port == 8000


def test_the_sample_config_passes(tmp_path: Path) -> None:
    sample = Path(__file__).parents[4] / 'etc' / 'zaqar.conf.sample'
    common.load_config(['--config-file', str(sample)])


def test_upstream_names_are_data() -> None:
    # Generated, names only: the project never imports upstream Zaqar.
    assert 'message_store' in upstream_options.OPTIONS['drivers']
    assert 'uri' in \
        upstream_options.OPTIONS['drivers:message_store:mongodb']
