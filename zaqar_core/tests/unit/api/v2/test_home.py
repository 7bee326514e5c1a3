"""The home document advertises only what the server routes."""

import re

import pytest

from zaqar_core.api import errors
from zaqar_core.api.v2 import home
from zaqar_plugins.transport.wsgi import routes

SWITCHES = [(), ('admin_mode',), ('pooling',), ('admin_mode', 'pooling')]


def advertised(switches: tuple[str, ...]) -> list[tuple[str, str, str]]:
    """(relation, method, concrete path) for every advertised operation."""
    found = []
    for rel, entry in home.document(switches)['resources'].items():
        template = entry.get('href-template', entry.get('href'))
        # Drop query templates ({?a,b}), then fill path variables.
        path = re.sub(r'\{\?[^}]*\}', '', template)
        path = re.sub(r'\{\w+\}', 'x', path)
        for method in entry['hints']['allow']:
            found.append((rel, method, path))
    return found


@pytest.mark.parametrize('switches', SWITCHES)
def test_every_advertised_operation_is_routed(
        switches: tuple[str, ...]) -> None:
    for rel, method, path in advertised(switches):
        try:
            routes.match(method, path, {}, switches)
        except errors.ApiError as exc:
            pytest.fail(f'{rel}: {method} {path} answers {exc.status}')


def test_health_is_advertised_only_in_admin_mode() -> None:
    assert 'rel/health' not in home.document(())['resources']
    assert 'rel/health' in home.document(('admin_mode',))['resources']


@pytest.mark.parametrize('switches', SWITCHES)
def test_pools_and_flavors_are_advertised_with_admin_mode_and_pooling(
        switches: tuple[str, ...]) -> None:
    resources = home.document(switches)['resources']
    pooling = set(switches) == {'admin_mode', 'pooling'}
    for rel in ('rel/pools', 'rel/pool', 'rel/flavors', 'rel/flavor'):
        assert (rel in resources) is pooling


@pytest.mark.parametrize('switches', SWITCHES)
def test_pool_routes_exist_with_admin_mode_and_pooling(
        switches: tuple[str, ...]) -> None:
    pooling = set(switches) == {'admin_mode', 'pooling'}
    for path in ('/v2/pools', '/v2/pools/p', '/v2/flavors', '/v2/flavors/f'):
        if pooling:
            assert routes.match('GET', path, {}, switches)[0].endswith(
                ('_list', '_get'))
        else:
            with pytest.raises(errors.NotFound):
                routes.match('GET', path, {}, switches)
