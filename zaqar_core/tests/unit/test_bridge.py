"""zaqar-bridge without a bus: the rules, and the endpoint over a fake
and over a real (SQLite) API."""

from typing import Any

import pytest
from oslo_config import cfg

from zaqar_core import bootstrap
from zaqar_core.api import errors
from zaqar_core.api.request import Request
from zaqar_core.api.request import Result
from zaqar_core.bridge import endpoint as bridge_endpoint
from zaqar_core.bridge import rules as bridge_rules
from zaqar_core.bridge import service as bridge_service
from zaqar_core.bridge.endpoint import CLIENT_ID
from zaqar_core.bridge.endpoint import REQUEUE
from zaqar_core.bridge.endpoint import Endpoint
from zaqar_core.bridge.rules import Rules

META = {'message_id': 'm-1', 'timestamp': '2025-01-02 03:04:05.000006'}
CREATE = 'compute.instance.create.end'


# --- rules ------------------------------------------------------------

@pytest.mark.parametrize('template', [
    '{bogus}', '{event_type.__class__}', '{service[0]}', '{service!r}',
    '{service:>70}', '{', 'x}'])
def test_templates_take_only_the_three_plain_fields(template: str) -> None:
    with pytest.raises(bridge_rules.TemplateError):
        Rules(queue_name=template)


@pytest.mark.parametrize(('template', 'expected'), [
    ('cloud-events', 'cloud-events'),
    ('{service}', 'compute'),
    ('{service}-events', 'compute-events'),
    ('{event_type}', CREATE),
    ('{publisher_id}.{service}', 'compute.host_1_b.compute'),
])
def test_queue_names_from_templates(template: str, expected: str) -> None:
    assert Rules(queue_name=template).queue(
        CREATE, 'compute.host 1/b') == expected


def test_queue_names_are_cut_to_64_characters() -> None:
    name = Rules(queue_name='{event_type}').queue('a' * 100, 'p')
    assert name == 'a' * 64


def test_an_empty_queue_name_still_is_one() -> None:
    assert Rules(queue_name='{publisher_id}').queue(CREATE, '') == '_'


@pytest.mark.parametrize(('ctxt', 'payload', 'expected'), [
    ({'project_id': 'p1'}, {}, 'p1'),
    ({'tenant_id': 'p2'}, None, 'p2'),
    ({'project': 'p3', 'tenant': 'x'}, 'text', 'p3'),
    ({'tenant': 'p4'}, [], 'p4'),
    ({}, {'tenant_id': 'p5'}, 'p5'),
    (None, {'project_id': 'p6'}, 'p6'),
    # The owner (payload) wins over the requester (context).
    ({'project_id': 'admin'}, {'tenant_id': 'owner'}, 'owner'),
    # Versioned notifications.
    ({}, {'nova_object.data': {'tenant_id': 'p7'}}, 'p7'),
    ({'project_id': None, 'tenant_id': ''}, {'tenant_id': 5}, None),
    ({}, {}, None),
])
def test_project_of(ctxt: Any, payload: Any, expected: str | None) -> None:
    assert bridge_rules.project_of(ctxt, payload) == expected


def test_default_project_takes_the_orphans() -> None:
    rules = Rules(default_project='ops')
    assert rules.project({}, {}) == 'ops'
    assert rules.project({'project_id': 'p'}, {}) == 'p'


def test_event_type_patterns() -> None:
    rules = Rules(event_types=('compute.*', 'volume.create.*'),
                  exclude_event_types=('compute.instance.exists',))
    assert rules.accepts(CREATE)
    assert rules.accepts('volume.create.end')
    assert not rules.accepts('volume.delete.end')
    assert not rules.accepts('compute.instance.exists')
    assert not rules.accepts('Compute.instance.create.end')
    assert Rules().accepts('anything.at.all')


def test_payload_fields_keep_only_those_keys() -> None:
    rules = Rules(payload_fields=('state', 'instance_id', 'missing'))
    payload = {'state': 'active', 'instance_id': 'i', 'secret': 's'}
    assert rules.shape_payload(payload) == {'state': 'active',
                                            'instance_id': 'i'}
    assert rules.shape_payload(['state']) == {}
    assert Rules().shape_payload(payload) is payload


def test_the_message() -> None:
    rules = Rules(message_ttl=120, payload_fields=('a',))
    assert rules.message('info', 'compute.h', CREATE, {'a': 1, 'b': 2},
                         META) == {'ttl': 120, 'body': {
                             'event_type': CREATE,
                             'publisher_id': 'compute.h',
                             'priority': 'info',
                             'timestamp': META['timestamp'],
                             'message_id': 'm-1',
                             'payload': {'a': 1}}}


def test_rules_from_the_default_options(conf: cfg.ConfigOpts) -> None:
    assert Rules.from_conf(conf) == Rules()
    assert conf.bridge.topics == ['notifications']
    assert conf.bridge.pool == 'zaqar-bridge'
    assert conf.bridge.priorities == list(
        ('audit', 'debug', 'info', 'warn', 'error', 'critical', 'sample'))


def test_targets(conf: cfg.ConfigOpts) -> None:
    conf.set_override('topics', ['a', 'b', 'a'], group='bridge')
    conf.set_override('exchanges', ['nova', '', 'nova', 'heat'],
                      group='bridge')
    assert [(t.exchange, t.topic) for t in bridge_service.targets(conf)] \
        == [('nova', 'a'), ('nova', 'b'), ('heat', 'a'), ('heat', 'b')]
    conf.set_override('exchanges', [], group='bridge')
    assert [(t.exchange, t.topic) for t in bridge_service.targets(conf)] \
        == [(None, 'a'), (None, 'b')]


# --- endpoint over a fake API ----------------------------------------

class FakeApi:
    """Records posts; raises ``error`` when set."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.posted: list[Request] = []

    def check_body_size(self, name: str, size: int) -> None:
        assert name == 'message_post'

    def call(self, name: str, req: Request) -> Result:
        assert name == 'message_post'
        self.posted.append(req)
        if self.error is not None:
            raise self.error
        return Result(201, {'message_ids': []})


def make_endpoint(api: Any, **rules: Any) -> Endpoint:
    return Endpoint(api, Rules(**rules), ['info', 'error'],
                    requeue_delay=0)


def test_endpoint_has_a_method_per_priority() -> None:
    endpoint = make_endpoint(FakeApi())
    assert callable(endpoint.info) and callable(endpoint.error)
    assert not hasattr(endpoint, 'audit')


def test_a_notification_is_posted_through_the_api() -> None:
    api = FakeApi()
    result = make_endpoint(api, queue_name='{service}').info(
        {'project_id': 'p'}, 'compute.h', CREATE, {'x': 1}, META)
    assert result is None  # handled
    (req,) = api.posted
    assert req.project_id == 'p'
    assert req.client_id == CLIENT_ID
    assert req.params == {'queue_name': 'compute'}
    (message,) = req.body['messages']
    assert message['body']['payload'] == {'x': 1}
    assert message['body']['priority'] == 'info'
    assert req.body_size == len(
        bridge_endpoint.json.dumps(req.body).encode())


@pytest.mark.parametrize(('ctxt', 'event', 'payload'), [
    ({}, CREATE, {}),  # no project
    ({'project_id': 'p'}, 'image.upload', {}),  # not bridged
    ({'project_id': 'p'}, 'messaging.message.post',
     {'client_id': CLIENT_ID}),  # the bridge's own post
])
def test_dropped_notifications_never_reach_the_api(
        ctxt: dict, event: str, payload: dict) -> None:
    api = FakeApi()
    endpoint = make_endpoint(api, event_types=('compute.*', 'messaging.*'))
    assert endpoint.info(ctxt, 'x', event, payload, META) is None
    assert api.posted == []


def test_messages_posted_by_others_are_bridged() -> None:
    api = FakeApi()
    make_endpoint(api).info({'project_id': 'p'}, 'messaging.h',
                            'messaging.message.post',
                            {'client_id': 'someone'}, META)
    assert len(api.posted) == 1


def test_a_storage_outage_requeues() -> None:
    endpoint = make_endpoint(FakeApi(errors.ServiceUnavailable()))
    assert endpoint.info({'project_id': 'p'}, 'c', CREATE, {}, META) \
        == REQUEUE


@pytest.mark.parametrize('error', [
    errors.BadRequest('too large'), errors.Forbidden(), RuntimeError('bug')])
def test_other_failures_drop_the_notification(error: Exception) -> None:
    endpoint = make_endpoint(FakeApi(error))
    assert endpoint.error({'project_id': 'p'}, 'c', CREATE, {}, META) \
        is None


def test_missing_event_type_and_publisher_are_tolerated() -> None:
    api = FakeApi()
    make_endpoint(api, queue_name='{service}{publisher_id}').info(
        {'project_id': 'p'}, None, None, {}, {})
    assert api.posted[0].params == {'queue_name': '_'}


# --- endpoint over the real API --------------------------------------

def test_posts_create_the_queue_and_store_the_message(
        sqlite_conf: cfg.ConfigOpts) -> None:
    api = bootstrap.make_api(sqlite_conf)
    try:
        endpoint = make_endpoint(api, queue_name='{service}-events',
                                 message_ttl=300)
        endpoint.info({'project_id': 'p'}, 'compute.h', CREATE,
                      {'state': 'active'}, META)
        assert [q['name'] for q in api.stores.queues.list('p')] == \
            ['compute-events']
        messages, _ = api.stores.messages.list('p', 'compute-events')
        (message,) = messages
        assert message['ttl'] == 300
        assert message['body']['payload'] == {'state': 'active'}
        assert message['body']['event_type'] == CREATE
    finally:
        api.stores.close()


def test_a_message_too_large_is_dropped(sqlite_conf: cfg.ConfigOpts
                                        ) -> None:
    sqlite_conf.set_override('max_messages_post_size', 1024,
                             group='transport')
    api = bootstrap.make_api(sqlite_conf)
    try:
        endpoint = make_endpoint(api)
        assert endpoint.info({'project_id': 'p'}, 'c', CREATE,
                             {'blob': 'x' * 2000}, META) is None
        assert api.stores.queues.list('p') == []
    finally:
        api.stores.close()


@pytest.mark.parametrize(('ttl', 'fine'), [(60, True), (1209600, True),
                                           (1209601, False)])
def test_message_ttl_within_the_transport_bounds(
        conf: cfg.ConfigOpts, ttl: int, fine: bool) -> None:
    conf.set_override('message_ttl', ttl, group='bridge')
    if fine:
        bridge_service.check_ttl(conf)
    else:
        with pytest.raises(bridge_rules.ConfigError, match='message_ttl'):
            bridge_service.check_ttl(conf)
