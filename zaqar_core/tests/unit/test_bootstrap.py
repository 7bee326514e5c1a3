"""Bootstrap: drivers by name, and the embedded SQLite default."""

from pathlib import Path

import pytest
from oslo_config import cfg

from zaqar_core import bootstrap
from zaqar_core.conf import sqlalchemy_stores

GROUPS = (sqlalchemy_stores.MESSAGE_GROUP,
          sqlalchemy_stores.MANAGEMENT_GROUP)


def uris(conf: cfg.ConfigOpts) -> list[str | None]:
    return [conf[group].uri for group in GROUPS]


def test_an_unknown_driver_names_the_available_ones(conf: cfg.ConfigOpts
                                                    ) -> None:
    with pytest.raises(bootstrap.BootstrapError) as caught:
        bootstrap.load_driver(bootstrap.DATA_NAMESPACE, 'mongodb',
                              'message store', conf)
    assert str(caught.value) == (
        'Unknown message store driver "mongodb" (namespace '
        'zaqar_core.storage.data); available: redis, sqlalchemy.')


def test_an_empty_namespace_says_none_are_available(conf: cfg.ConfigOpts
                                                    ) -> None:
    with pytest.raises(bootstrap.BootstrapError, match='available: none'):
        bootstrap.load_driver('zaqar_core.nothing', 'x', 'thing', conf)


def test_load_stores_checks_the_management_store(conf: cfg.ConfigOpts
                                                 ) -> None:
    conf.set_override('management_store', 'mongodb', group='drivers')
    conf.set_override('uri', 'sqlite://', group=GROUPS[0])
    with pytest.raises(bootstrap.BootstrapError,
                       match='management store driver "mongodb"'):
        bootstrap.load_stores(conf)


def test_sqlite_default_creates_the_state_dir(conf: cfg.ConfigOpts,
                                              tmp_path: Path) -> None:
    state = tmp_path / 'var' / 'state'
    conf.set_override('state_path', str(state))
    bootstrap.resolve_sqlite_default(conf)
    assert state.is_dir()


def test_sqlite_default_points_both_stores_at_one_file(
        conf: cfg.ConfigOpts, tmp_path: Path) -> None:
    conf.set_override('state_path', str(tmp_path / 'state'))
    uri = bootstrap.resolve_sqlite_default(conf)
    assert uri == f'sqlite:///{tmp_path / "state" / "zaqar.sqlite"}'
    assert uris(conf) == [uri, uri]


def test_sqlite_default_is_under_pybasedir(conf: cfg.ConfigOpts,
                                           tmp_path: Path) -> None:
    conf.set_override('pybasedir', str(tmp_path))
    uri = bootstrap.resolve_sqlite_default(conf)
    assert uri == f'sqlite:///{tmp_path / "state" / "zaqar.sqlite"}'


def test_sqlite_default_keeps_configured_uris(conf: cfg.ConfigOpts,
                                              tmp_path: Path) -> None:
    conf.set_override('state_path', str(tmp_path / 'state'))
    conf.set_override('uri', 'postgresql://db/zaqar', group=GROUPS[0])
    uri = bootstrap.resolve_sqlite_default(conf)
    assert uris(conf) == ['postgresql://db/zaqar', uri]


def test_sqlite_default_does_nothing_when_every_uri_is_set(
        conf: cfg.ConfigOpts, tmp_path: Path) -> None:
    conf.set_override('state_path', str(tmp_path / 'state'))
    for group in GROUPS:
        conf.set_override('uri', 'postgresql://db/zaqar', group=group)
    assert bootstrap.resolve_sqlite_default(conf) is None
    assert not (tmp_path / 'state').exists()


def test_sqlite_default_skips_stores_of_other_drivers(
        conf: cfg.ConfigOpts, tmp_path: Path) -> None:
    conf.set_override('state_path', str(tmp_path / 'state'))
    conf.set_override('message_store', 'redis', group='drivers')
    uri = bootstrap.resolve_sqlite_default(conf)
    assert uris(conf) == [None, uri]
