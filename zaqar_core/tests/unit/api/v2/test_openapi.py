"""The OpenAPI document: valid OpenAPI 3.1, one operation for every
action, and the deployment's own limits and headers.

``zaqar_core/tests/functional/test_openapi.py`` checks it against a
running server.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from oslo_config import cfg
from schemathesis.specs.openapi import definitions

from zaqar_core.api import errors
from zaqar_core.api.request import Request
from zaqar_core.api.v2 import actions  # noqa: F401 (registers actions)
from zaqar_core.api.v2 import openapi
from zaqar_core.api.v2 import registry
from zaqar_plugins.transport.wsgi import routes


def operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every operation by its action names (each of them), with its
    parameters' references resolved."""
    shared = document['components']['parameters']
    found = {}
    for path, item in document['paths'].items():
        for method, op in item.items():
            resolved = [shared[p['$ref'].rsplit('/', 1)[1]] if '$ref' in p
                        else p for p in op['parameters']]
            op = dict(op, path=path, method=method.upper(),
                      parameters=resolved)
            for name in op.get('x-zaqar-actions', [op['operationId']]):
                found[name] = op
    return found


def params(op: dict[str, Any], where: str) -> dict[str, dict[str, Any]]:
    return {p['name']: p for p in op['parameters'] if p['in'] == where}


def test_the_document_is_openapi_3_1(conf: cfg.ConfigOpts) -> None:
    conf.set_override('admin_mode', True)
    conf.set_override('auth_strategy', 'keystone')
    document = openapi.document(conf)
    # The OpenAPI Initiative's schema of OpenAPI 3.1 (schemathesis ships
    # it), and every schema of the document is JSON Schema 2020-12.
    jsonschema.Draft202012Validator(definitions.OPENAPI_31).validate(
        document)
    for schema in document['components']['schemas'].values():
        jsonschema.Draft202012Validator.check_schema(schema)
    assert json.loads(json.dumps(document)) == document


def test_every_action_is_an_operation(conf: cfg.ConfigOpts) -> None:
    conf.set_override('admin_mode', True)
    conf.set_override('pooling', True)
    found = operations(openapi.document(conf))
    assert set(found) == set(registry.ACTIONS)
    for name, action in registry.ACTIONS.items():
        op = found[name]
        assert (op['method'], op['path']) == (action.method, action.path)
        assert op.get('x-policy-rule') == action.rule
        assert set(params(op, 'path')) == set(action.path_params)
        assert set(action.query) <= set(params(op, 'query'))


def test_every_shape_is_an_action_s() -> None:
    assert set(openapi.SHAPES) == {a.base for a in registry.ACTIONS.values()}


def test_references_resolve(conf: cfg.ConfigOpts) -> None:
    document = openapi.document(conf)
    text = json.dumps(document)
    for kind in ('schemas', 'headers', 'responses', 'parameters'):
        for name in document['components'][kind]:
            text = text.replace(f'"#/components/{kind}/{name}"', '')
    assert '#/components/' not in text


def test_health_only_in_admin_mode(conf: cfg.ConfigOpts) -> None:
    assert '/v2/health' not in openapi.document(conf)['paths']
    conf.set_override('admin_mode', True)
    assert '/v2/health' in openapi.document(conf)['paths']


def test_headers_of_the_default_deployment(conf: cfg.ConfigOpts) -> None:
    found = operations(openapi.document(conf))
    headers = params(found['queue_list'], 'header')
    assert headers['Client-ID']['required'] is True
    assert headers['Client-ID']['schema'] == {'type': 'string',
                                              'format': 'uuid'}
    assert headers['X-Project-Id']['required'] is True
    for name in ('get_versions', 'get_openapi'):
        assert params(found[name], 'header') == {}
    assert 'security' not in openapi.document(conf)


def test_client_ids_that_need_not_be_uuids(conf: cfg.ConfigOpts) -> None:
    conf.set_override('client_id_uuid_safe', 'off', 'transport')
    found = operations(openapi.document(conf))
    assert params(found['queue_list'], 'header')['Client-ID']['schema'] == {
        'type': 'string', 'minLength': 10, 'maxLength': 36}


def test_keystone_takes_a_token_but_for_the_versions(
        conf: cfg.ConfigOpts) -> None:
    conf.set_override('auth_strategy', 'keystone')
    document = openapi.document(conf)
    found = operations(document)
    assert document['security'] == [{'keystone': []}]
    assert 'X-Project-Id' not in params(found['queue_list'], 'header')
    assert '401' in found['queue_list']['responses']
    assert found['get_versions']['security'] == []
    assert '401' not in found['get_versions']['responses']


def test_limits_come_from_the_configuration(conf: cfg.ConfigOpts) -> None:
    conf.set_override('max_queues_per_page', 7, 'transport')
    conf.set_override('max_message_ttl', 600, 'transport')
    document = openapi.document(conf)
    limit = params(operations(document)['queue_list'], 'query')['limit']
    assert limit['schema'] == {'type': 'integer', 'minimum': 1,
                               'maximum': 7}
    new = document['components']['schemas']['NewMessages']
    assert new['properties']['messages']['items']['properties']['ttl'][
        'maximum'] == 600


def test_wait_is_documented_where_the_server_waits(
        conf: cfg.ConfigOpts) -> None:
    conf.set_override('max_message_wait', 12, 'transport')
    found = operations(openapi.document(conf))
    for name in ('message_list', 'claim_create'):
        wait = params(found[name], 'query')['wait']
        assert wait['schema'] == {'type': 'integer', 'minimum': 0,
                                  'maximum': 12}
        assert 'long polling' in wait['description']
        assert '429' in found[name]['responses']
    shared = openapi.document(conf)['components']['responses']
    assert 'Retry-After' in shared['TooManyRequests']['headers']
    conf.set_override('max_message_wait', 0, 'transport')
    found = operations(openapi.document(conf))
    assert 'wait' not in params(found['message_list'], 'query')


def test_statuses_an_action_can_answer(conf: cfg.ConfigOpts) -> None:
    found = operations(openapi.document(conf))
    assert set(found['queue_update']['responses']) == {
        '200', '400', '403', '404', '405', '406', '409', '415', '503'}
    assert set(found['claim_create']['responses']) >= {'201', '204'}
    created = found['message_post']['responses']['201']
    assert set(created['headers']) == {'X-Openstack-Request-Id',
                                       'Location'}
    assert 'content' not in found['queue_delete']['responses']['204']
    assert found['queue_delete']['responses']['406'] == {
        '$ref': '#/components/responses/NotAcceptable'}
    shared = openapi.document(conf)['components']['responses']
    assert 'content' not in shared['NotAcceptable']
    assert set(shared['MethodNotAllowed']['headers']) == {
        'X-Openstack-Request-Id', 'Allow'}
    conflict = found['subscription_create']['responses']['409']
    assert set(conflict['headers']) == {'X-Openstack-Request-Id',
                                        'Location'}
    patch = found['queue_update']['requestBody']['content']
    assert list(patch) == [openapi.PATCH_MEDIA_TYPE]


def test_topics_show_topic_documents(conf: cfg.ConfigOpts) -> None:
    found = operations(openapi.document(conf))
    body = found['topic_get']['responses']['200']['content']
    assert body['application/json']['schema'] == {
        '$ref': '#/components/schemas/TopicMetadata'}
    assert found['topic_list']['tags'] == ['topics']


@pytest.mark.parametrize(('path', 'found'), [
    ('/v2/openapi.json', True), ('/v2/openapiXjson', False)])
def test_the_route_is_the_literal_path(path: str, found: bool) -> None:
    if found:
        assert routes.match('GET', path, {}) == ('get_openapi', {})
    else:
        with pytest.raises(errors.NotFound):
            routes.match('GET', path, {})


def test_served_without_client_or_project(conf: cfg.ConfigOpts) -> None:
    action = registry.ACTIONS['get_openapi']
    assert action.anonymous and action.rule is None

    class Api:
        pass

    api: Any = Api()
    api.conf = conf
    result = action.handler(api, Request(project_id=None, client_id=None))
    assert result.status == 200
    assert result.body == openapi.document(conf)


def test_a_new_subscription_links_to_its_operations(
        conf: cfg.ConfigOpts) -> None:
    found = operations(openapi.document(conf))
    links = found['subscription_create']['responses']['201']['links']
    assert set(links) == {'subscription_get', 'subscription_update',
                          'subscription_delete', 'subscription_confirm'}
    assert links['subscription_get']['parameters'] == {
        'queue_name': '$request.path.queue_name',
        'subscription_id': '$response.body#/subscription_id'}
