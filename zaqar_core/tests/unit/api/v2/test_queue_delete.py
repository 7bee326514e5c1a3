"""Queue delete over the real API and an SQLite store: what a crash
between its two writes leaves."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from oslo_config import cfg

from zaqar_core import bootstrap
from zaqar_core.api.request import Request
from zaqar_core.api.service import Api

from .test_message_post import CLIENT_ID
from .test_message_post import post


@pytest.fixture
def api(sqlite_conf: cfg.ConfigOpts) -> Iterator[Api]:
    api = bootstrap.make_api(sqlite_conf)
    yield api
    api.stores.close()


def delete(api: Api, queue: str) -> int:
    req = Request(project_id='p', client_id=CLIENT_ID,
                  params={'queue_name': queue})
    return api.call('queue_delete', req).status


def test_a_crash_mid_delete_leaves_no_messages_behind(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    assert post(api, 'q', {'n': 1}) == 201

    def crash(*args: object) -> None:
        raise SystemExit('crashed')

    # The process dies at the second write.
    monkeypatch.setattr(api.stores.queues, 'delete', crash)
    with pytest.raises(SystemExit):
        delete(api, 'q')
    monkeypatch.undo()
    # A queue made again under that name starts empty.
    messages, _ = api.stores.messages.list('p', 'q', echo=True)
    assert messages == []
    # And the client's retry finishes the delete.
    assert delete(api, 'q') == 204
    assert api.stores.queues.count('p') == 0
