"""Bootstrap: drivers by name and by URI, and the embedded SQLite
default."""

from pathlib import Path

import pytest
from oslo_config import cfg

from zaqar_core import bootstrap
from zaqar_core import plugins

GROUPS = ('drivers:message_store:sqlalchemy',
          'drivers:management_store:sqlalchemy')


def uris(conf: cfg.ConfigOpts) -> list[str | None]:
    return [conf[group].uri for group in GROUPS]


def test_an_unknown_driver_names_the_available_ones(conf: cfg.ConfigOpts
                                                    ) -> None:
    with pytest.raises(bootstrap.BootstrapError) as caught:
        bootstrap.driver_class(plugins.MESSAGE_STORE, 'mongodb')
    assert str(caught.value) == (
        'Unknown message store driver "mongodb" (namespace '
        'zaqar_core.storage.data); available: redis, sqlalchemy.')


def test_an_empty_namespace_says_none_are_available(conf: cfg.ConfigOpts
                                                    ) -> None:
    nothing = plugins.Kind('thing', 'zaqar_core.nothing',
                           'zaqar_core.nothing.options', 'thing')
    with pytest.raises(bootstrap.BootstrapError, match='available: none'):
        bootstrap.driver_class(nothing, 'x')


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
    bootstrap.resolve_embedded_defaults(conf)
    assert state.is_dir()


def test_sqlite_default_points_both_stores_at_one_file(
        conf: cfg.ConfigOpts, tmp_path: Path) -> None:
    conf.set_override('state_path', str(tmp_path / 'state'))
    uri = f'sqlite:///{tmp_path / "state" / "zaqar.sqlite"}'
    assert bootstrap.resolve_embedded_defaults(conf) == [uri, uri]
    assert uris(conf) == [uri, uri]


def test_sqlite_default_is_under_pybasedir(conf: cfg.ConfigOpts,
                                           tmp_path: Path) -> None:
    conf.set_override('pybasedir', str(tmp_path))
    uri = bootstrap.resolve_embedded_defaults(conf)[0]
    assert uri == f'sqlite:///{tmp_path / "state" / "zaqar.sqlite"}'


def test_sqlite_default_keeps_configured_uris(conf: cfg.ConfigOpts,
                                              tmp_path: Path) -> None:
    conf.set_override('state_path', str(tmp_path / 'state'))
    conf.set_override('uri', 'postgresql://db/zaqar', group=GROUPS[0])
    [uri] = bootstrap.resolve_embedded_defaults(conf)
    assert uris(conf) == ['postgresql://db/zaqar', uri]


def test_sqlite_default_does_nothing_when_every_uri_is_set(
        conf: cfg.ConfigOpts, tmp_path: Path) -> None:
    conf.set_override('state_path', str(tmp_path / 'state'))
    for group in GROUPS:
        conf.set_override('uri', 'postgresql://db/zaqar', group=group)
    assert bootstrap.resolve_embedded_defaults(conf) == []
    assert not (tmp_path / 'state').exists()


def test_sqlite_default_skips_stores_of_other_drivers(
        conf: cfg.ConfigOpts, tmp_path: Path) -> None:
    conf.set_override('state_path', str(tmp_path / 'state'))
    conf.set_override('message_store', 'redis', group='drivers')
    [uri] = bootstrap.resolve_embedded_defaults(conf)
    assert uris(conf) == [None, uri]


@pytest.mark.parametrize(('uri', 'name'), [
    ('redis://127.0.0.1:6379?dbid=4', 'redis'),
    ('redis+cluster://127.0.0.1:7000,127.0.0.1:7001', 'redis'),
    ('sqlite:////var/lib/zaqar/pool.sqlite', 'sqlalchemy'),
    ('postgresql+psycopg2://zaqar:pw@db/zaqar', 'sqlalchemy'),
    ('mysql+pymysql://zaqar:pw@db/zaqar', 'sqlalchemy'),
])
def test_a_uri_finds_the_driver_that_serves_its_scheme(uri: str,
                                                       name: str) -> None:
    assert bootstrap.driver_for_uri(plugins.MESSAGE_STORE, uri) == name


@pytest.mark.parametrize('uri', ['mongodb://127.0.0.1:27017',
                                 'swift://host', 'oracle://db', 'nonsense'])
def test_a_uri_no_driver_serves_is_named(uri: str) -> None:
    scheme = uri.partition(':')[0]
    with pytest.raises(bootstrap.BootstrapError) as caught:
        bootstrap.driver_for_uri(plugins.MESSAGE_STORE, uri)
    assert str(caught.value) == \
        f'No message store driver serves "{scheme}" URIs.'


def test_a_store_opened_at_a_uri_keeps_its_options_to_itself(
        conf: cfg.ConfigOpts, tmp_path: Path) -> None:
    first = f'sqlite:///{tmp_path / "first.sqlite"}'
    second = f'sqlite:///{tmp_path / "second.sqlite"}'
    one = bootstrap.open_store_at(conf, plugins.MESSAGE_STORE, first,
                                  {'max_pool_size': 3})
    two = bootstrap.open_store_at(conf, plugins.MESSAGE_STORE, second)
    try:
        assert (one.options.uri, one.options.max_pool_size) == (first, 3)
        assert (two.options.uri, two.options.max_pool_size) == (second, 10)
        assert str(one.engine.url) == first
        assert str(two.engine.url) == second
        # Nothing reached the configuration.
        assert conf[GROUPS[0]].uri is None
        assert conf[GROUPS[0]].max_pool_size == 10
        one.upgrade()
        assert one.check(1.0).problem is None
        assert (tmp_path / 'first.sqlite').exists()
    finally:
        one.close()
        two.close()
