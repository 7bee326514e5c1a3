"""A WebSocket client for the end-to-end tests: Zaqar's envelope over a
real connection (``websocket-client``), nothing of the server imported.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import uuid
from collections.abc import Mapping
from typing import Any

import msgpack
import websocket

TIMEOUT = 30.0


@dataclasses.dataclass
class Reply:
    """A reply frame, decoded."""

    status: int
    body: Any
    request: dict[str, Any]
    binary: bool = False


class WsClient:
    """One connection with a project and a Client-ID.

    ``request`` sends a request and returns its reply; pushes that arrive
    meanwhile are kept for ``push``.
    """

    def __init__(self, url: str, project_id: str | None = None,
                 client_id: str | None = None,
                 headers: Mapping[str, Any] | None = None,
                 timeout: float = TIMEOUT) -> None:
        self.url = url
        self.project_id = project_id or uuid.uuid4().hex
        self.client_id = client_id or str(uuid.uuid4())
        self.headers = {'Client-ID': self.client_id,
                        'X-Project-ID': self.project_id, **(headers or {})}
        self.ws = websocket.create_connection(url, timeout=timeout)
        self.pushes: collections.deque[dict[str, Any]] = collections.deque()

    def send(self, action: Any, body: Any = None,
             headers: Mapping[str, Any] | None = None,
             binary: bool = False) -> None:
        """Send one request without waiting for its reply."""
        document: dict[str, Any] = {
            'action': action,
            'headers': self.headers if headers is None else dict(headers)}
        if body is not None:
            document['body'] = body
        self.send_document(document, binary)

    def send_document(self, document: Any, binary: bool = False) -> None:
        if binary:
            self.ws.send_binary(msgpack.packb(document))
        else:
            self.ws.send(json.dumps(document))

    def send_raw(self, data: str | bytes) -> None:
        if isinstance(data, bytes):
            self.ws.send_binary(data)
        else:
            self.ws.send(data)

    def reply(self) -> Reply:
        """The next reply (pushes before it are kept)."""
        while True:
            frame, binary = self._frame()
            if isinstance(frame, dict) and 'request' in frame and \
                    'headers' in frame:
                return Reply(frame['headers']['status'], frame['body'],
                             frame['request'], binary)
            self.pushes.append(frame)

    def request(self, action: Any, body: Any = None, *,
                headers: Mapping[str, Any] | None = None,
                binary: bool = False) -> Reply:
        self.send(action, body, headers, binary)
        return self.reply()

    def call(self, action: str, **body: Any) -> Reply:
        """``request(action, body)`` with the body as keywords."""
        return self.request(action, body)

    def push(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The next push (``websocket.WebSocketTimeoutException`` if none
        comes in time)."""
        if self.pushes:
            return self.pushes.popleft()
        self.ws.settimeout(timeout)
        try:
            frame, _ = self._frame()
        finally:
            self.ws.settimeout(TIMEOUT)
        assert not (isinstance(frame, dict) and 'request' in frame), frame
        return frame

    def _frame(self) -> tuple[Any, bool]:
        opcode, data = self.ws.recv_data()
        if opcode == websocket.ABNF.OPCODE_BINARY:
            return msgpack.unpackb(data), True
        return json.loads(data), False

    def close(self) -> None:
        self.ws.close()

    def __enter__(self) -> WsClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
