"""HTTP routes: path and method to action name."""

import pytest

from zaqar_core.api import errors
from zaqar_core.api.v2 import actions  # noqa: F401 (registers actions)
from zaqar_core.api.v2 import registry
from zaqar_plugins.transport.wsgi import routes

Q = '/v2/queues/jobs'


@pytest.mark.parametrize(('method', 'path', 'action'), [
    ('GET', '/', 'get_versions'),
    ('GET', '/v2/', 'get_home_doc'),
    ('GET', '/v2', 'get_home_doc'),  # as /v2/
    ('GET', '/v2/ping', 'ping_node'),
    ('HEAD', '/v2/ping', 'ping_node_head'),
    ('GET', '/v2/queues', 'queue_list'),
    ('GET', Q, 'queue_get'),
    ('PUT', Q, 'queue_create'),
    ('PATCH', Q, 'queue_update'),
    ('DELETE', Q, 'queue_delete'),
    ('GET', Q + '/stats', 'queue_get_stats'),
    ('POST', Q + '/purge', 'queue_purge'),
    ('GET', Q + '/messages', 'message_list'),
    ('POST', Q + '/messages', 'message_post'),
    ('DELETE', Q + '/messages', 'message_delete_many'),
    ('GET', Q + '/messages/m1', 'message_get'),
    ('DELETE', Q + '/messages/m1', 'message_delete'),
    ('POST', Q + '/claims', 'claim_create'),
    ('GET', Q + '/claims/c1', 'claim_get'),
    ('PATCH', Q + '/claims/c1', 'claim_update'),
    ('DELETE', Q + '/claims/c1', 'claim_delete'),
])
def test_routes_name_their_action(method: str, path: str,
                                  action: str) -> None:
    assert routes.match(method, path, {})[0] == action


def test_path_parameters_are_returned() -> None:
    assert routes.match('GET', Q + '/claims/c1', {}) == (
        'claim_get', {'queue_name': 'jobs', 'claim_id': 'c1'})


@pytest.mark.parametrize(('query', 'action'), [
    ({'ids': 'a,b'}, 'message_get_many'), ({'ids': ['a']}, 'message_get_many'),
    ({'ids': ''}, 'message_list'), ({'marker': 'a'}, 'message_list')])
def test_get_messages_with_ids_gets_them(query: dict, action: str) -> None:
    assert routes.match('GET', Q + '/messages', query)[0] == action


def test_health_exists_only_in_admin_mode() -> None:
    with pytest.raises(errors.NotFound):
        routes.match('GET', '/v2/health', {})
    assert routes.match('GET', '/v2/health', {}, {'admin_mode'})[0] == \
        'check_node_health'


@pytest.mark.parametrize('path', [
    '/v2/queue', '/v2/queues/', '/v2//', Q + '/', Q + '/messages/m1/x',
    Q + '/claims/', '/v1.1/queues', '/v2/queues\n', Q + '/stats\n'])
def test_unknown_paths_are_404(path: str) -> None:
    with pytest.raises(errors.NotFound):
        routes.match('GET', path, {})


@pytest.mark.parametrize(('method', 'path', 'allow'), [
    ('POST', '/v2/queues', 'GET'),
    ('POST', Q, 'DELETE, GET, PATCH, PUT'),
    ('PUT', Q + '/messages', 'DELETE, GET, POST'),
    ('GET', Q + '/claims', 'POST'),
    ('DELETE', '/v2/ping', 'GET, HEAD'),
])
def test_other_methods_are_405_with_allow(method: str, path: str,
                                          allow: str) -> None:
    with pytest.raises(errors.MethodNotAllowed) as caught:
        routes.match(method, path, {})
    assert caught.value.headers == {'Allow': allow}


def test_every_routed_action_is_registered() -> None:
    named = {target for route in routes.ROUTES
             for target in route.methods.values() if isinstance(target, str)}
    named |= {'message_get_many', 'message_list'}
    assert named - set(registry.ACTIONS) == set()


def test_allowed_methods_lists_the_route_methods() -> None:
    assert routes.allowed_methods(Q + '/messages') == ['DELETE', 'GET',
                                                       'POST']


def test_allowed_methods_of_an_unknown_path_is_404() -> None:
    with pytest.raises(errors.NotFound):
        routes.allowed_methods('/v2/nowhere')
