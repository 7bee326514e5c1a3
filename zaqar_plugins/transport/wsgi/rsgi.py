"""The WSGI app served through granian's RSGI interface, so that requests
waiting for messages do not cost the others.

Why not granian's WSGI interface (measured, see
doc/source/admin/performance.rst, "Requests that may wait"): it runs every
request on one of a pool of threads, and a process that may hold
``[transport] max_waiting_requests`` long-polling requests needs that many
more threads. Under load granian hands ordinary requests to all of those
threads in turn, each one woken for a single request and passing the
interpreter lock to the next: a Redis post cost half as much CPU again
(300 against 200 µs) as with four threads and no reserve.

Here an ordinary request runs on the worker's event loop thread (with
``threads`` above 1, on that many threads instead), as a cooperative task
(:mod:`zaqar_core.cooperative`): while it waits for its store's reply, the
loop serves the next request, on the same thread. Only a request that may
wait for messages (``wait`` in its query string) gets a thread of its own,
which sleeps while it waits. The app still sees a PEP 3333 request and
answers as a WSGI app; it runs unchanged under any WSGI server.
"""

from __future__ import annotations

import asyncio
import io
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib import parse

from oslo_log import log

from zaqar_core import cooperative
from zaqar_core.api import errors
from zaqar_plugins.transport.wsgi import controllers
from zaqar_plugins.transport.wsgi import views

LOG = log.getLogger(__name__)

WSGIApp = Callable[..., Any]
Answer = tuple[int, list[tuple[str, str]], bytes]

#: What granian puts in place of bytes of the path that are no UTF-8.
_REPLACED = '\ufffd'


def may_wait(query_string: str) -> bool:
    """True for a request that may wait for messages (long polling).

    Generous on purpose: a request taken for one only runs on a thread of
    its own; one missed would hold the event loop while it waits. The app
    reads the query percent-decoded, so ``wai%74=5`` asks to wait too.
    """
    return 'wait=' in query_string or (
        '%' in query_string and 'wait=' in parse.unquote(query_string))


class Bridge:
    """An RSGI app (granian's ``__rsgi__`` protocol) that answers with the
    WSGI app ``app``.

    Args:
        app: the WSGI app.
        threads: ordinary requests that run at once; 1 runs them on the
            event loop's thread, with no hand-off between threads, as
            cooperative tasks.
        waiting: threads for requests that may wait for messages; the app
            refuses (429) those beyond ``[transport] max_waiting_requests``,
            so a few more than that leave a thread to refuse them on.
        largest_body: the largest body (bytes) the app may accept. A body
            announced larger (and larger than the app drains) is not read:
            the app refuses it by its Content-Length.
        body_timeout: seconds a client has to send a request's body; it
            is answered 408 after that.
        started: called on the event loop's thread before the first
            request, once granian has set up the worker.
    """

    def __init__(self, app: WSGIApp, threads: int, waiting: int,
                 largest_body: Callable[[], int], body_timeout: float,
                 started: Callable[[], None] = lambda: None) -> None:
        self.app = app
        self.largest_body = largest_body
        self.body_timeout = body_timeout
        self.started = started
        self._working = (ThreadPoolExecutor(threads, 'zaqar-work')
                         if threads > 1 else None)
        self._waiting = (ThreadPoolExecutor(waiting, 'zaqar-wait')
                         if waiting else self._working)

    def __rsgi_init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.started()

    def __rsgi_del__(self, loop: asyncio.AbstractEventLoop) -> None:
        for pool in (self._working, self._waiting):
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)

    async def __rsgi__(self, scope: Any, protocol: Any) -> None:
        limit, chunked = self._to_read(scope.headers)
        body = b''
        try:
            if limit:
                # Read here, on the loop: a client that is slow to send its
                # body holds no thread, and none past the deadline.
                async with asyncio.timeout(self.body_timeout):
                    body = await _read(protocol, limit, chunked)
        except TimeoutError:
            status, headers, body = _error(errors.RequestTimeout(
                'The request body did not arrive in time.',
                headers={'Connection': 'close'}))
        else:
            environ = wsgi_environ(scope, body)
            pool = (self._waiting if may_wait(scope.query_string)
                    else self._working)
            if pool is None:
                status, headers, body = await cooperative.run(
                    self.answer, environ)
            else:
                status, headers, body = await asyncio.get_running_loop(
                ).run_in_executor(pool, self.answer, environ)
        try:
            protocol.response_bytes(status, headers, body)
        except RuntimeError:
            # The client went away (granian's ProtocolClosed): nothing to
            # answer, as a WSGI server writing to a closed socket.
            pass

    def _to_read(self, headers: Any) -> tuple[int, bool]:
        """How much of the request body to read (as much as the app reads:
        the WSGI app reads it before it answers and cannot wait for it
        here; 0 for none), and whether it comes chunked."""
        declared = headers.get('content-length')
        if declared is None:
            # HTTP/1 (all granian serves here): a request with neither
            # header has no body. Not waiting for one that cannot come
            # saves a turn of the event loop, a tenth of a message delete.
            if 'transfer-encoding' not in headers:
                return 0, False
            # Chunked: as much as the app reads of such a body.
            return controllers.DRAIN_LIMIT + 1, True
        if not (declared.isdecimal() and declared.isascii()):
            return 0, False  # the app refuses the header
        limit = int(declared)
        if limit > controllers.DRAIN_LIMIT and limit > self.largest_body():
            return 0, False  # the app refuses it by its length, unread
        return limit, False

    def answer(self, environ: dict[str, Any]) -> Answer:
        """The WSGI app's answer to the request in ``environ``."""
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]],
                           exc_info: Any = None) -> Callable[[bytes], None]:
            started[:] = (status, headers)
            return chunks.append

        chunks: list[bytes] = []
        try:
            result = self.app(environ, start_response)
            try:
                chunks.extend(result)
            finally:
                if hasattr(result, 'close'):
                    result.close()
            status, headers = started
            return int(status[:3]), headers, b''.join(chunks)
        except Exception:
            # The app answers its own errors; this is a bug in it.
            LOG.exception('The application failed to answer %s %s',
                          environ['REQUEST_METHOD'], environ['PATH_INFO'])
            return _error(errors.unexpected())


def _error(error: errors.ApiError) -> Answer:
    """The answer to ``error``, rendered as the app renders its own."""
    response = controllers.render(views.Shown(
        error.status, error.to_dict(), error.headers))
    return error.status, response.headerlist, response.body


async def _read(protocol: Any, limit: int, chunked: bool) -> bytes:
    """The body ``protocol`` receives, up to ``limit`` bytes. A client that
    stops short ends it early, and the app refuses the short body."""
    if not chunked:
        # Its length is known, and granian reads no more than that: whole,
        # in one step of the loop, not one per chunk and one more for the
        # end (a fifth of the bridge's cost of a message post).
        try:
            return await protocol()
        except RuntimeError:  # granian's ProtocolClosed: it stopped short
            return b''
    chunks, size = [], 0
    async for chunk in protocol:
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b''.join(chunks)


def wsgi_environ(scope: Any, body: bytes) -> dict[str, Any]:
    """The PEP 3333 environ of the RSGI request ``scope`` with ``body``."""
    path = scope.path
    if not path.isascii():
        # PEP 3333 wants the bytes sent, as Latin-1. granian decoded them as
        # UTF-8 and replaced what is none: such a path keeps a byte that is
        # no UTF-8, for the app to refuse (400) as it does under any server.
        path = b'\xff'.join(part.encode('utf-8') for part in
                             path.split(_REPLACED)).decode('latin-1')
    host, port = _host_port(scope.server)
    environ = {
        'REQUEST_METHOD': scope.method, 'SCRIPT_NAME': '',
        'PATH_INFO': path, 'QUERY_STRING': scope.query_string,
        'SERVER_NAME': host, 'SERVER_PORT': port,
        'SERVER_PROTOCOL': 'HTTP/' + scope.http_version,
        'REMOTE_ADDR': _host_port(scope.client)[0],
        'wsgi.version': (1, 0), 'wsgi.url_scheme': scope.scheme,
        'wsgi.input': io.BytesIO(body), 'wsgi.input_terminated': True,
        'wsgi.errors': sys.stderr, 'wsgi.multithread': True,
        'wsgi.multiprocess': True, 'wsgi.run_once': False,
    }
    for name, value in scope.headers.items():
        if name == 'content-type':
            key = 'CONTENT_TYPE'
        elif name == 'content-length':
            key = 'CONTENT_LENGTH'
        else:
            key = 'HTTP_' + name.upper().replace('-', '_')
        # A header sent more than once: its values in one, as RFC 9110
        # (5.3) allows and WSGI servers do.
        environ[key] = (environ[key] + ',' + value if key in environ
                        else value)
    if 'CONTENT_LENGTH' not in environ and body:
        # A chunked body: the app reads it by its length.
        environ['CONTENT_LENGTH'] = str(len(body))
    return environ


def _host_port(address: str) -> tuple[str, str]:
    host, _, port = address.rpartition(':')
    return host.strip('[]'), port
