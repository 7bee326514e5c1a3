"""The request log: one line per request, written by the app itself so
that it is the same under ``zaqar-server`` (granian) and under an
operator's own uWSGI or gunicorn (``zaqar_core.wsgi``).

A line reads::

    127.0.0.1 "GET /v2/queues/jobs/messages?signature=***&expires=..." \
200 3.1 ms req-6b0e...

Query values that are credentials (signed URLs' ``signature``, anything
named like a token, a signature, a secret or a password) are masked.
The request id is the one the response carries (x-openstack-request-id),
so that a client's report finds its line.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from typing import Any

from oslo_log import log
from oslo_middleware import request_id

from zaqar_core import uris

LOG = log.getLogger(__name__)

Environ = dict[str, Any]
WSGIApp = Callable[[Environ, Callable], Iterable[bytes]]

_REQUEST_ID_HEADER = request_id.HTTP_RESP_HEADER_REQUEST_ID


def request_target(environ: Environ) -> str:
    """The path and masked query string of the request, as received."""
    path = environ.get('SCRIPT_NAME', '') + environ.get('PATH_INFO', '')
    query = environ.get('QUERY_STRING', '')
    return f'{path}?{uris.masked_query(query)}' if query else path


class AccessLog:
    """Logs each request at INFO once its response is sent (or failed)."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: Environ, start_response: Callable):
        started = time.monotonic()
        seen: dict[str, str] = {}

        def recording(status, headers, exc_info=None):
            seen['status'] = status.split(' ', 1)[0]
            seen['request_id'] = next(
                (v for k, v in headers if k.lower() == _REQUEST_ID_HEADER),
                '-')
            return start_response(status, headers, exc_info)

        try:
            body = self.app(environ, recording)
        except Exception:
            # The server answers 500 for it.
            self._log(environ, seen, started, default_status='500')
            raise
        return _Logged(body, lambda: self._log(environ, seen, started))

    def _log(self, environ: Environ, seen: dict[str, str], started: float,
             default_status: str = '-') -> None:
        LOG.info('%s "%s %s" %s %.1f ms %s',
                 environ.get('REMOTE_ADDR', '-'),
                 environ.get('REQUEST_METHOD', '-'),
                 request_target(environ),
                 seen.get('status', default_status),
                 (time.monotonic() - started) * 1000,
                 seen.get('request_id', '-'))


class _Logged:
    """The response body, logging once the server is done with it (PEP
    3333: the server calls ``close`` whatever happened)."""

    def __init__(self, body: Iterable[bytes],
                 done: Callable[[], None]) -> None:
        self.body = body
        self.done = done

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.body)

    def close(self) -> None:
        try:
            close = getattr(self.body, 'close', None)
            if close is not None:
                close()
        finally:
            self.done()
