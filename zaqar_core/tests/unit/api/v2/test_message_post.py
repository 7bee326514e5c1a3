"""Message post over the real API and an SQLite store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from oslo_config import cfg

from zaqar_core import bootstrap
from zaqar_core.api.request import Request
from zaqar_core.api.service import Api
from zaqar_core.notification import outbox

CLIENT_ID = '3381af92-2b9e-11e3-b191-71861300734c'


@pytest.fixture
def api(sqlite_conf: cfg.ConfigOpts) -> Iterator[Api]:
    api = bootstrap.make_api(sqlite_conf)
    yield api
    api.stores.close()


def post(api: Api, queue: str, body: dict) -> int:
    req = Request(project_id='p', client_id=CLIENT_ID,
                  params={'queue_name': queue},
                  body={'messages': [{'body': body, 'ttl': 300}]},
                  body_size=64)
    return api.call('message_post', req).status


def test_a_post_to_a_subscribed_queue_queues_its_notification(
        api: Api) -> None:
    api.stores.queues.create('p', 'q')
    api.stores.subscriptions.create('p', 'q', 'http://127.0.0.1:9/', 3600,
                                    {})
    assert post(api, 'q', {'n': 1}) == 201
    assert api.stores.messages.stats(
        outbox.PROJECT, outbox.QUEUE)['total'] == 1
