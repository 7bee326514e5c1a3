"""The Pecan app behind the middleware: what it answers on its own."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from oslo_config import cfg
from oslo_log import log

from zaqar_core import bootstrap
from zaqar_core import conf as zconf
from zaqar_core.tests.unit import sqlite_copies
from zaqar_plugins.transport.wsgi import app as wsgi_app


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
