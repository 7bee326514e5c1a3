"""The API service (:class:`zaqar_core.api.service.Api`): the checks it
applies for every transport, over a real SQLite store, the real policy
enforcer and the installed notifier plugins."""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from oslo_config import cfg
from oslo_context import context as oslo_context
from oslo_policy import opts as policy_opts

from zaqar_core import bootstrap
from zaqar_core import policy
from zaqar_core.api import errors
from zaqar_core.api import service
from zaqar_core.api import signed_url
from zaqar_core.api import validation
from zaqar_core.api.request import Request
from zaqar_core.api.service import Api
from zaqar_core.api.v2 import registry
from zaqar_core.api.v2 import topics
from zaqar_core.notification import events
from zaqar_plugins.notifier.webhook import WebhookNotifier

CLIENT_ID = '3381af92-2b9e-11e3-b191-71861300734c'
PROJECT = 'project-a'
KEY = 'unit-test-secret'


@pytest.fixture
def api(sqlite_conf: cfg.ConfigOpts) -> Iterator[Api]:
    api = bootstrap.make_api(sqlite_conf)
    yield api
    api.stores.close()


def request(project: str | None = PROJECT, client_id: str | None = CLIENT_ID,
            body: Any = None, **params: Any) -> Request:
    return Request(project_id=project, client_id=client_id,
                   params=dict(params), body=body,
                   body_size=0 if body is None else 64)


def refused(api: Api, name: str, req: Request) -> errors.ApiError:
    with pytest.raises(errors.ApiError) as caught:
        api.call(name, req)
    return caught.value


# notifiers


def test_each_scheme_finds_its_notifier(api: Api) -> None:
    assert isinstance(api.notifier_for('http://example.com/hook'),
                      WebhookNotifier)
    assert isinstance(api.notifier_for('https://example.com/hook'),
                      WebhookNotifier)
    assert api.notifier_for('gopher://example.com/') is None
    assert api.notifier_for('not a uri') is None


def test_an_api_without_notifiers_or_events(
        sqlite_conf: cfg.ConfigOpts) -> None:
    stores = bootstrap.load_stores(sqlite_conf)
    try:
        bare = Api(sqlite_conf, stores, policy.make_enforcer(sqlite_conf))
        assert bare.notifiers == {}
        assert bare.events is None
        assert bare.notifier_for('http://example.com/') is None
        assert bare.call('queue_create', request(queue_name='q')).status \
            == 201
        assert bare.outbox.stores is stores
    finally:
        stores.close()


# actions and their parameters


def test_an_unknown_action_is_a_transport_bug(api: Api) -> None:
    with pytest.raises(KeyError):
        api.call('queue_explode', request(queue_name='q'))


def test_the_method_and_path_of_the_action_are_set(api: Api) -> None:
    req = request(queue_name='q1', message_id='m1')
    with pytest.raises(errors.NotFound):
        api.call('message_get', req)
    assert (req.method, req.path) == ('GET', '/v2/queues/q1/messages/m1')


def test_a_missing_path_parameter(api: Api) -> None:
    error = refused(api, 'message_get', request(queue_name='q1'))
    assert error.status == 400
    assert error.title == 'Missing parameter'
    assert error.description == 'Missing "message_id".'


@pytest.mark.parametrize('value', ['', 'a/b', 7, ['q'], {'q': 1}, True])
def test_a_path_parameter_must_be_a_string_without_a_slash(
        api: Api, value: Any) -> None:
    error = refused(api, 'queue_get', request(queue_name=value))
    assert error.status == 400
    assert error.title == 'Invalid parameter'
    assert 'queue_name' in error.description


def test_declared_parameters_are_typed(api: Api) -> None:
    for name in ('q1', 'q2', 'q3'):
        api.stores.queues.create(PROJECT, name)
    req = request(limit='2', detailed='true')
    result = api.call('queue_list', req)
    assert req.params == {'limit': 2, 'detailed': True}
    assert [q['name'] for q in result.body['queues']] == ['q1', 'q2']
    assert result.next == {'marker': 'q2'}


@pytest.mark.parametrize(('name', 'params'), [
    ('queue_list', {'limit': 'ten'}),
    ('queue_list', {'detailed': 'maybe'}),
    ('message_list', {'queue_name': 'q', 'echo': 'sometimes'}),
])
def test_badly_typed_parameters_are_refused(api: Api, name: str,
                                            params: dict) -> None:
    error = refused(api, name, request(**params))
    assert error.status == 400
    assert next(iter(set(params) - {'queue_name'})) in str(error)


def test_undeclared_parameters_are_left_alone(api: Api) -> None:
    req = request(whatever=['x', 'y'])
    api.call('queue_list', req)
    assert req.params['whatever'] == ['x', 'y']


# admin-only and anonymous actions


def test_admin_only_actions_do_not_exist_without_admin_mode(
        api: Api) -> None:
    error = refused(api, 'check_node_health', request())
    assert (error.status, error.title) == (404, '404 Not Found')


@pytest.mark.parametrize('switches', [(), ('admin_mode',), ('pooling',)])
def test_pool_actions_need_admin_mode_and_pooling(
        api: Api, switches: tuple[str, ...]) -> None:
    for name in switches:
        api.conf.set_override(name, True)
    error = refused(api, 'pool_list', request())
    assert (error.status, error.title) == (404, '404 Not Found')


def test_admin_only_actions_run_in_admin_mode(api: Api) -> None:
    api.conf.set_override('admin_mode', True)
    req = request()
    req.context = oslo_context.RequestContext(project_id=PROJECT,
                                              roles=['admin'])
    result = api.call('check_node_health', req)
    assert result.status == 200
    assert result.body['storage_reachable'] is True


def test_anonymous_actions_need_no_client_id_or_project(api: Api) -> None:
    req = request(project=None, client_id=None)
    result = api.call('get_versions', req)
    assert result.status == 200
    assert result.body['versions'][0]['id'] == '2'
    assert req.tenant is None  # nothing was checked or scoped


# Client-ID


def test_the_client_id_is_required(api: Api) -> None:
    error = refused(api, 'queue_list', request(client_id=None))
    assert (error.status, error.title) == (400, 'Missing header value')
    assert error.description == 'The "Client-Id" header is required.'


@pytest.mark.parametrize('client_id', ['', 'not-a-uuid', 'x' * 36,
                                       CLIENT_ID + '0'])
def test_a_strict_client_id_must_be_a_uuid(api: Api,
                                           client_id: str) -> None:
    error = refused(api, 'queue_list', request(client_id=client_id))
    assert (error.status, error.title) == (400, 'Wrong UUID value')


@pytest.mark.parametrize('client_id', [
    CLIENT_ID, CLIENT_ID.upper(), CLIENT_ID.replace('-', ''),
    '{' + CLIENT_ID + '}', 'urn:uuid:' + CLIENT_ID,
])
def test_any_spelling_of_a_uuid_is_a_strict_client_id(
        api: Api, client_id: str) -> None:
    assert api.call('queue_list', request(client_id=client_id)).status \
        == 200


def test_client_ids_remembered_as_uuids_loosen_no_check(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    # Ids that passed the strict check are remembered, a bounded number
    # of them; a bad id is refused however many good ones came before,
    # and a remembered one still meets the lax mode's bounds.
    monkeypatch.setattr(service, '_CLIENT_UUIDS_KEPT', 16)
    for n in range(40):
        assert api.call('queue_list', request(
            client_id=str(uuid.UUID(int=n)))).status == 200
        error = refused(api, 'queue_list', request(client_id=f'bad-{n}'))
        assert (error.status, error.title) == (400, 'Wrong UUID value')
    assert len(api._client_uuids) <= 16
    api.conf.set_override('client_id_uuid_safe', 'off', group='transport')
    api.conf.set_override('max_length_client_id', 30, group='transport')
    assert refused(api, 'queue_list', request(
        client_id=str(uuid.UUID(int=39)))).status == 400


@pytest.mark.parametrize('client_id', ['a' * 10, 'any string at all',
                                       'x' * 36, CLIENT_ID])
def test_without_strict_uuids_any_printable_id_in_bounds(
        api: Api, client_id: str) -> None:
    api.conf.set_override('client_id_uuid_safe', 'off', group='transport')
    assert api.call('queue_list', request(client_id=client_id)).status \
        == 200


@pytest.mark.parametrize('client_id', ['a' * 9, 'x' * 37, '', 'tab\there',
                                       'newline\n123'])
def test_without_strict_uuids_bounds_and_printability_hold(
        api: Api, client_id: str) -> None:
    api.conf.set_override('client_id_uuid_safe', 'off', group='transport')
    error = refused(api, 'queue_list', request(client_id=client_id))
    assert error.status == 400
    assert error.description == ('Length of client id must be at least 10 '
                                 'and no greater than 36.')


def test_the_client_id_bounds_are_configurable(api: Api) -> None:
    api.conf.set_override('client_id_uuid_safe', 'off', group='transport')
    api.conf.set_override('min_length_client_id', 2, group='transport')
    api.conf.set_override('max_length_client_id', 3, group='transport')
    assert api.call('queue_list', request(client_id='ab')).status == 200
    error = refused(api, 'queue_list', request(client_id='abcd'))
    assert 'at least 2 and no greater than 3' in error.description


# project


def test_the_project_is_required(api: Api) -> None:
    error = refused(api, 'queue_list', request(project=None))
    assert (error.status, error.title) == (400, 'Project-Id Missing')


def test_the_project_cannot_be_empty(api: Api) -> None:
    error = refused(api, 'queue_list', request(project=''))
    assert (error.status, error.title) == (
        400, 'Empty project header not allowed')


@pytest.mark.parametrize('project', [
    'p' * (validation.MAX_PROJECT_ID + 1), 'tab\tproject', 'a\x1fb',
    topics.scope('p'),  # no client can name the topic scope
])
def test_an_unprintable_or_long_project_is_refused(api: Api,
                                                   project: str) -> None:
    error = refused(api, 'queue_list', request(project=project))
    assert (error.status, error.title) == (
        400, 'Invalid queue identification')


def test_the_longest_project_is_allowed(api: Api) -> None:
    project = 'p' * validation.MAX_PROJECT_ID
    assert api.call('queue_create',
                    request(project=project, queue_name='q')).status == 201


# queue name and policy


@pytest.mark.parametrize('name', ['has space', 'ü', 'q' * 65, 'a:b'])
def test_a_bad_queue_name_is_refused(api: Api, name: str) -> None:
    error = refused(api, 'queue_create', request(queue_name=name))
    assert (error.status, error.title) == (
        400, 'Invalid queue identification')


@pytest.fixture
def strict_policy(sqlite_conf: cfg.ConfigOpts,
                  tmp_path: Path) -> Iterator[Api]:
    """An API whose policy file forbids listing queues to everyone and
    deleting them to all but admins."""
    rules = tmp_path / 'policy.yaml'
    rules.write_text('"queues:get_all": "!"\n'
                     '"queues:delete": "role:admin"\n')
    policy_opts.set_defaults(sqlite_conf)
    sqlite_conf.set_override('policy_file', str(rules), group='oslo_policy')
    api = bootstrap.make_api(sqlite_conf)
    yield api
    api.stores.close()


def test_the_policy_is_enforced(strict_policy: Api) -> None:
    error = refused(strict_policy, 'queue_list', request())
    assert error.status == 403
    assert error.description == ('You are not authorized to complete this '
                                 'action.')
    # Other rules keep their defaults.
    assert strict_policy.call('queue_create',
                              request(queue_name='q')).status == 201


def test_the_policy_sees_the_request_context(strict_policy: Api) -> None:
    strict_policy.stores.queues.create(PROJECT, 'q')
    member = request(queue_name='q')
    member.context = oslo_context.RequestContext(project_id=PROJECT,
                                                 roles=['member'])
    assert refused(strict_policy, 'queue_delete', member).status == 403
    admin = request(queue_name='q')
    admin.context = oslo_context.RequestContext(project_id=PROJECT,
                                                roles=['admin'])
    assert strict_policy.call('queue_delete', admin).status == 204
    assert strict_policy.stores.queues.list(PROJECT, None, 10, False) == []


def test_actions_without_a_rule_skip_the_policy(strict_policy: Api) -> None:
    assert registry.ACTIONS['get_home_doc'].rule is None
    assert strict_policy.call('get_home_doc', request()).status == 200


# topics


def test_topic_actions_run_in_the_topic_scope(api: Api) -> None:
    req = request(queue_name='t1')
    assert api.call('topic_create', req).status == 201
    assert (req.kind, req.tenant) == (topics.KIND, PROJECT)
    assert req.project_id == topics.scope(PROJECT)
    assert api.stores.queues.list(topics.scope(PROJECT), None, 10,
                                  False)[0]['name'] == 't1'
    # A queue of the same name is another resource.
    assert api.stores.queues.list(PROJECT, None, 10, False) == []
    queue_req = request(queue_name='t1')
    api.call('queue_get', queue_req)
    assert (queue_req.kind, queue_req.project_id, queue_req.tenant) == (
        'queues', PROJECT, PROJECT)


def test_a_missing_topic_names_the_clients_project(api: Api) -> None:
    patch = [{'op': 'add', 'path': '/metadata/a', 'value': 1}]
    error = refused(api, 'topic_update',
                    request(queue_name='t1', body=patch))
    assert error.status == 404
    assert error.description == ('Topic t1 does not exist for project '
                                 f'{PROJECT}.')
    assert topics.SCOPE not in str(error)


# storage errors


def test_storage_errors_become_api_errors(api: Api) -> None:
    patch = [{'op': 'add', 'path': '/metadata/a', 'value': 1}]
    error = refused(api, 'queue_update',
                    request(queue_name='q1', body=patch))
    assert error.status == 404
    assert 'q1' in error.description
    assert isinstance(error.__cause__, Exception)


def test_claimed_messages_are_refused_as_upstream(api: Api) -> None:
    api.stores.queues.create(PROJECT, 'q')
    [message_id] = api.stores.messages.post(
        PROJECT, 'q', [{'body': 1, 'ttl': 300, 'delay': 0}], CLIENT_ID)
    api.stores.claims.create(PROJECT, 'q', 300, 60, 1)
    error = refused(api, 'message_delete',
                    request(queue_name='q', message_id=message_id))
    assert (error.status, error.title) == (403, 'Unable to delete')


def test_an_unavailable_store_answers_503(api: Api,
                                          sqlite_conf: cfg.ConfigOpts,
                                          tmp_path: Path) -> None:
    # The store breaks under the running API: its table is gone.
    with sqlite3.connect(tmp_path / 'zaqar.sqlite') as database:
        database.execute('DROP TABLE messages')
    error = refused(api, 'message_list',
                    request(queue_name='q', body=None))
    assert isinstance(error, errors.ServiceUnavailable)
    assert error.status == 503


# pre-signed URLs


@pytest.fixture
def shared(api: Api) -> tuple[Api, signed_url.Signed]:
    """The API with a secret key, and a URL for queue q1's messages."""
    api.conf.set_override('secret_key', KEY, group='signed_url')
    body = api.call('queue_share', request(
        queue_name='q1', body={'methods': ['GET', 'POST']})).body
    return api, signed_url.Signed(signature=body['signature'],
                                  expires=body['expires'],
                                  methods=body['methods'],
                                  paths=body['paths'])


def signed_request(signed: signed_url.Signed, project: str = PROJECT,
                   body: Any = None, **params: Any) -> Request:
    req = request(project=project, body=body, **params)
    req.signed = signed
    return req


def test_a_shared_url_grants_what_it_names(
        shared: tuple[Api, signed_url.Signed]) -> None:
    api, signed = shared
    posted = api.call('message_post', signed_request(
        signed, queue_name='q1',
        body={'messages': [{'body': 'hello', 'ttl': 60}]}))
    assert posted.status == 201
    listed = api.call('message_list',
                      signed_request(signed, queue_name='q1', echo='true'))
    assert [m['body'] for m in listed.body['messages']] == ['hello']


@pytest.mark.parametrize(('name', 'params'), [
    ('message_delete_many', {'queue_name': 'q1', 'ids': 'x'}),  # method
    ('message_list', {'queue_name': 'q2'}),  # another queue
    ('subscription_list', {'queue_name': 'q1'}),  # another path
    ('queue_get', {'queue_name': 'q1'}),  # above the path
])
def test_a_shared_url_grants_nothing_else(
        shared: tuple[Api, signed_url.Signed], name: str,
        params: dict) -> None:
    api, signed = shared
    error = refused(api, name, signed_request(signed, **params))
    assert (error.status, error.description) == (
        404, 'The resource could not be found.')


def test_a_shared_url_is_for_its_project_only(
        shared: tuple[Api, signed_url.Signed]) -> None:
    api, signed = shared
    error = refused(api, 'message_list', signed_request(
        signed, project='project-b', queue_name='q1'))
    assert error.status == 404


def test_a_tampered_url_is_not_found(
        shared: tuple[Api, signed_url.Signed]) -> None:
    api, signed = shared
    for bad in (dataclasses.replace(signed, signature='0' * 64),
                dataclasses.replace(signed, signature='é' * 64),
                dataclasses.replace(signed, methods=['GET', 'POST',
                                                     'DELETE']),
                dataclasses.replace(signed, expires='2999-01-01T00:00:00')):
        error = refused(api, 'message_list',
                        signed_request(bad, queue_name='q1'))
        assert error.status == 404


def test_shared_urls_stop_working_when_the_key_is_removed(
        shared: tuple[Api, signed_url.Signed]) -> None:
    api, signed = shared
    api.conf.clear_override('secret_key', group='signed_url')
    assert refused(api, 'message_list', signed_request(
        signed, queue_name='q1')).status == 404


def test_a_signed_request_still_needs_a_client_id(
        shared: tuple[Api, signed_url.Signed]) -> None:
    api, signed = shared
    req = signed_request(signed, queue_name='q1')
    req.client_id = None
    assert refused(api, 'message_list', req).title == 'Missing header value'


# body size


def test_bodies_are_bounded_per_action(api: Api) -> None:
    limit = api.conf.transport.max_messages_post_size
    api.check_body_size('message_post', limit)
    with pytest.raises(errors.BadRequest) as caught:
        api.check_body_size('message_post', limit + 1)
    assert str(limit) in caught.value.description
    api.conf.set_override('max_messages_post_size', 10, group='transport')
    with pytest.raises(errors.BadRequest):
        api.check_body_size('message_post', 11)


def test_actions_without_a_limit_of_their_own(api: Api) -> None:
    api.check_body_size('claim_create', registry.DEFAULT_BODY_LIMIT)
    with pytest.raises(errors.BadRequest) as caught:
        api.check_body_size('claim_create', registry.DEFAULT_BODY_LIMIT + 1)
    assert caught.value.description == (
        f'Request body is too large. Max size: '
        f'{registry.DEFAULT_BODY_LIMIT}')


# events


@pytest.fixture
def logged_events(sqlite_conf: cfg.ConfigOpts) -> Iterator[Api]:
    """An API whose events go to oslo.messaging's ``log`` driver."""
    events._notifications_conf(sqlite_conf)
    sqlite_conf.set_override('driver', ['log'],
                             group=events.NOTIFICATIONS_GROUP)
    stores = bootstrap.load_stores(sqlite_conf)
    emitter = events.Emitter(sqlite_conf, background=False)
    yield Api(sqlite_conf, stores, policy.make_enforcer(sqlite_conf),
              bootstrap.load_notifiers(sqlite_conf), emitter)
    emitter.close()
    stores.close()


def test_changes_are_emitted_after_they_succeed(
        logged_events: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger='oslo.messaging.notification')
    logged_events.call('queue_create', request(queue_name='q1'))
    logged_events.call('queue_get', request(queue_name='q1'))
    refused(logged_events, 'queue_create', request(queue_name='bad name'))
    sent = [r.name.rsplit('.', 3)[-3:] for r in caplog.records
            if r.name.startswith('oslo.messaging.notification')]
    assert sent == [['messaging', 'queue', 'create']]
    assert '"queue_name": "q1"' in caplog.text


def test_a_refused_request_changes_nothing(api: Api) -> None:
    # A check that fails leaves the store as it was.
    refused(api, 'queue_create', request(queue_name='q', client_id='x'))
    refused(api, 'queue_create', request(queue_name='q', project=''))
    assert api.stores.queues.list(PROJECT, None, 10, False) == []
