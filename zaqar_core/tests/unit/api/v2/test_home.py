"""The home document advertises only what the server routes."""

import re

import pytest

from zaqar_core.api import errors
from zaqar_core.api.v2 import home
from zaqar_plugins.transport.wsgi import routes


def advertised(admin_mode: bool) -> list[tuple[str, str, str]]:
    """(relation, method, concrete path) for every advertised operation."""
    found = []
    for rel, entry in home.document(admin_mode)['resources'].items():
        template = entry.get('href-template', entry.get('href'))
        # Drop query templates ({?a,b}), then fill path variables.
        path = re.sub(r'\{\?[^}]*\}', '', template)
        path = re.sub(r'\{\w+\}', 'x', path)
        for method in entry['hints']['allow']:
            found.append((rel, method, path))
    return found


@pytest.mark.parametrize('admin_mode', [False, True])
def test_every_advertised_operation_is_routed(admin_mode: bool) -> None:
    for rel, method, path in advertised(admin_mode):
        try:
            routes.match(method, path, {}, admin_mode)
        except errors.ApiError as exc:
            pytest.fail(f'{rel}: {method} {path} answers {exc.status}')


def test_health_is_advertised_only_in_admin_mode() -> None:
    assert 'rel/health' not in home.document(False)['resources']
    assert 'rel/health' in home.document(True)['resources']
