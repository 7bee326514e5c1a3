"""A real webhook receiver on loopback, for notification tests.

It records every request and answers with the statuses it is told to,
one by one (then 200), so tests can make a subscriber fail and recover.
"""

from __future__ import annotations

import dataclasses
import http.server
import json
import threading
import time
from collections.abc import Callable
from typing import Any


@dataclasses.dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = 0.0  # when it arrived (time.time())

    def json(self) -> Any:
        return json.loads(self.body)


class WebhookReceiver:
    """``with WebhookReceiver() as hook: ... hook.url ...``"""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.attempts = 0
        self.statuses: list[int] = []
        #: Answer this status to everything while set (after ``statuses``).
        self.failing: int | None = None
        self._cond = threading.Condition()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(length)
                status = receiver._answer(Received(
                    'POST', self.path, dict(self.headers.items()), body,
                    time.time()))
                self.send_response(status)
                self.send_header('Content-Length', '0')
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        class Server(http.server.ThreadingHTTPServer):
            # The default backlog of 5 drops connections under load, and
            # a dropped SYN costs the sender a second.
            request_queue_size = 128

        self._server = Server(('127.0.0.1', 0), Handler)
        self._server.daemon_threads = True
        self.url = f'http://127.0.0.1:{self._server.server_port}'

    def _answer(self, received: Received) -> int:
        with self._cond:
            self.attempts += 1
            if self.statuses:
                status = self.statuses.pop(0)
            else:
                status = self.failing or 200
            if status < 300:
                self.requests.append(received)
            self._cond.notify_all()
            return status

    def wait_for(self, check: Callable[[WebhookReceiver], bool],
                 timeout: float = 15.0) -> None:
        """Wait until ``check(self)`` holds; fail after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not check(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f'webhook: condition not met in {timeout} s; got '
                        f'{self.attempts} attempts, '
                        f'{[r.body for r in self.requests]}')
                self._cond.wait(left)

    def wait_count(self, count: int, timeout: float = 15.0
                   ) -> list[Received]:
        """The first ``count`` delivered requests, once they arrived."""
        self.wait_for(lambda r: len(r.requests) >= count, timeout)
        return self.requests[:count]

    def __enter__(self) -> WebhookReceiver:
        threading.Thread(target=self._server.serve_forever,
                         daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
