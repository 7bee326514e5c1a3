"""gunicorn's threaded worker, answering HTTP protocol errors in JSON.

gunicorn refuses malformed requests (control characters in a header, a
bad request line) itself, with an HTML page. Zaqar clients expect every
error as ``{"title", "description"}``, so this worker swaps gunicorn's
error writer for one that speaks JSON. The swap is process-wide, and these
processes serve nothing else.
"""

import json

from gunicorn import util
from gunicorn.workers import gthread


def write_json_error(sock, status_int: int, reason: str, mesg: str) -> None:
    body = json.dumps({'title': reason,
                       'description': mesg or reason}).encode()
    head = (f'HTTP/1.1 {status_int} {reason}\r\n'
            f'Connection: close\r\n'
            f'Content-Type: application/json\r\n'
            f'Content-Length: {len(body)}\r\n\r\n').encode('latin-1')
    util.write_nonblock(sock, head + body)


class ThreadWorker(gthread.ThreadWorker):
    def init_process(self) -> None:
        util.write_error = write_json_error
        super().init_process()
