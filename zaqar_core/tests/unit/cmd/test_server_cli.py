"""``zaqar-server``'s command line: its help, and the options that
override the file for whichever transport ``[drivers] transport``
names."""

from __future__ import annotations

import importlib.metadata

import pytest
from oslo_config import cfg

from zaqar_core import bootstrap
from zaqar_core import conf as zconf
from zaqar_core.cmd import common
from zaqar_core.cmd import server


def parsed(*argv: str) -> cfg.ConfigOpts:
    """The options as zaqar-server parses ``argv``, without its logging
    set-up (which would reconfigure this process's) or any file."""
    conf = cfg.ConfigOpts()
    zconf.register_opts(conf)
    conf.register_cli_opts(server.CLI_OPTS)
    conf(list(argv), project=common.PROJECT, default_config_files=[],
         default_config_dirs=[])
    return conf


def test_help_lists_the_server_options(
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        server.main(['--help'])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for flag in ('--bind HOST', '--port PORT', '--workers N',
                 '--config-file', '--debug'):
        assert flag in out


def test_version_reads_no_file(capsys: pytest.CaptureFixture[str]) -> None:
    # A file that does not exist would stop any other command.
    assert server.main(['--config-file', '/nonexistent/zaqar.conf',
                        '--version']) == 0
    assert capsys.readouterr().out == \
        importlib.metadata.version('zaqar-core') + '\n'


@pytest.mark.parametrize('transport', ['wsgi', 'websocket'])
def test_overrides_apply_to_the_configured_transport(transport: str
                                                     ) -> None:
    conf = parsed('--bind', '::1', '--port', '4321', '--workers', '3')
    conf.set_override('transport', transport, group='drivers')
    server.apply_overrides(conf)
    opts = conf[f'drivers:transport:{transport}']
    assert (opts.bind, opts.port, opts.workers) == ('::1', 4321, 3)
    other = 'websocket' if transport == 'wsgi' else 'wsgi'
    assert conf[f'drivers:transport:{other}'].port != 4321


def test_without_flags_the_file_applies() -> None:
    conf = parsed()
    server.apply_overrides(conf)
    assert conf['drivers:transport:wsgi'].port == 8888


def test_a_transport_without_the_option_is_an_error() -> None:
    conf = parsed('--workers', '2')
    # A transport plugin whose group has no workers option.
    conf.register_opts([cfg.PortOpt('port')],
                       group='drivers:transport:mini')
    conf.set_override('transport', 'mini', group='drivers')
    with pytest.raises(bootstrap.BootstrapError,
                       match=r'--workers: the mini transport has no '
                             r'\[drivers:transport:mini\] workers option'):
        server.apply_overrides(conf)


@pytest.mark.parametrize('flag', ['--port=0x', '--workers=0'])
def test_bad_values_are_refused(flag: str) -> None:
    with pytest.raises(SystemExit):
        parsed(flag)
