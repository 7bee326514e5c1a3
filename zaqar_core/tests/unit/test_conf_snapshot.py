"""Option values read once per change of the configuration."""

from __future__ import annotations

import types

import pytest
from oslo_config import cfg

from zaqar_core import bootstrap
from zaqar_core.api import errors
from zaqar_core.api.request import Request
from zaqar_core.conf import snapshot

CLIENT = '3b7a8c0e-1111-4bb5-9a3c-7a0f1e2d3c4b'


def test_values_are_read_once_and_kept(conf: cfg.ConfigOpts) -> None:
    kept = snapshot.Snapshot(conf)
    values = kept.values()
    assert values.transport.max_message_ttl == \
        conf.transport.max_message_ttl
    assert values.transport['max_messages_per_page'] == \
        conf.transport.max_messages_per_page
    assert values.enable_checksum is conf.enable_checksum
    assert kept.values() is values
    # Kept as plain attributes: no lookup through oslo.config any more.
    assert 'max_message_ttl' in vars(values.transport)
    with pytest.raises(AttributeError):
        values.transport.max_message_ttl = 1


@pytest.mark.parametrize('change', [
    lambda conf: conf.set_override('max_message_ttl', 77, 'transport'),
    lambda conf: conf.set_default('max_message_ttl', 77, 'transport'),
])
def test_a_change_is_seen_at_the_next_look(
        conf: cfg.ConfigOpts, change) -> None:
    kept = snapshot.Snapshot(conf)
    other = snapshot.Snapshot(conf)
    assert kept.values().transport.max_message_ttl != 77
    assert other.values().transport.max_message_ttl != 77
    change(conf)
    assert kept.values().transport.max_message_ttl == 77
    assert other.values().transport.max_message_ttl == 77
    conf.clear_override('max_message_ttl', 'transport')
    conf.clear_default('max_message_ttl', 'transport')
    assert kept.values().transport.max_message_ttl == \
        conf.transport.max_message_ttl != 77


def test_a_reload_is_seen(conf: cfg.ConfigOpts, tmp_path) -> None:
    path = tmp_path / 'zaqar.conf'
    path.write_text('[transport]\nmax_message_ttl = 500\n')
    conf(['--config-file', str(path)], project='zaqar')
    kept = snapshot.Snapshot(conf)
    assert kept.values().transport.max_message_ttl == 500
    path.write_text('[transport]\nmax_message_ttl = 600\n')
    conf.reload_config_files()
    assert kept.values().transport.max_message_ttl == 600


def test_without_oslo_configs_cache_it_reads_through() -> None:
    source = types.SimpleNamespace(debug=True)
    assert snapshot.Snapshot(source).values() is source


def test_an_api_sees_an_override_made_after_it_was_built(
        sqlite_conf: cfg.ConfigOpts) -> None:
    api = bootstrap.make_api(sqlite_conf)

    def post() -> None:
        api.call('message_post', Request(
            project_id='p', client_id=CLIENT, params={'queue_name': 'q'},
            body={'messages': [{'ttl': 100, 'body': 1}]}, body_size=40))

    post()
    sqlite_conf.set_override('max_message_ttl', 90, 'transport')
    with pytest.raises(errors.BadRequest, match='90'):
        post()
    sqlite_conf.clear_override('max_message_ttl', 'transport')
    post()
