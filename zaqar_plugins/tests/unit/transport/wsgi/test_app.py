"""The Pecan app behind the middleware: what it answers on its own."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from oslo_config import cfg
from oslo_log import log

from zaqar_core import bootstrap
from zaqar_core import conf as zconf
from zaqar_core.tests.unit import sqlite_copies
from zaqar_plugins.transport.wsgi import app as wsgi_app
from zaqar_plugins.transport.wsgi import controllers
from zaqar_plugins.transport.wsgi import views


@pytest.fixture
def pecan_app(tmp_path: Path):
    """The Pecan application of the full stack, on SQLite."""
    conf = zconf.register_opts(cfg.ConfigOpts())
    log.register_options(conf)  # the app reads debug
    conf([], project='zaqar', default_config_files=[],
         default_config_dirs=[])
    (tmp_path / 'db').mkdir()
    sqlite_copies.use_copy(conf, sqlite_copies.migrate(tmp_path / 'db'),
                           tmp_path)
    app = wsgi_app.setup_app(conf, bootstrap.make_api(conf))
    while not isinstance(app, wsgi_app.Application):
        app = app.app
    return app


def call(app, query: str) -> tuple[str, dict]:
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen['status'] = status

    environ = {'REQUEST_METHOD': 'GET', 'PATH_INFO': '/v2/queues',
               'QUERY_STRING': query, 'SERVER_NAME': 'localhost',
               'SERVER_PORT': '80', 'wsgi.url_scheme': 'http',
               'wsgi.input': io.BytesIO(), 'HTTP_X_PROJECT_ID': 'p',
               'HTTP_CLIENT_ID': '3b7a8c0e-1111-4bb5-9a3c-7a0f1e2d3c4b'}
    body = b''.join(app(environ, start_response))
    return seen['status'], json.loads(body)


def test_a_query_that_is_not_utf8_is_a_400_without_the_middleware(
        pecan_app) -> None:
    # DecodedRequest refuses it in front of the app; the app, mounted
    # without it, still answers 400 rather than failing on WebOb's decoding.
    status, body = call(pecan_app, 'marker=%FF')
    assert status.startswith('400')
    assert 'not UTF-8' in body['description']
    status, body = call(pecan_app, 'limit=1')
    assert status.startswith('200'), body


@pytest.mark.parametrize(('status', 'body', 'sent', 'content_type'), [
    (200, {'a': 1}, 200, 'application/json'),
    (200, None, 204, None),  # nothing to show: as stock Pecan answers it
    (201, None, 201, None),
    (204, None, 204, None),
    (204, {'ignored': True}, 204, None),
])
def test_a_response_has_the_status_and_type_of_what_it_shows(
        status: int, body: Any, sent: int, content_type: str | None
) -> None:
    response = controllers.render(views.Shown(status, body))
    assert response.status_code == sent
    assert response.headers.get('Content-Type') == content_type
    assert bool(response.body) == (sent != 204 and body is not None)
