"""The request ids the app gives each request."""

from __future__ import annotations

import os
import re
import uuid

from oslo_middleware import request_id

from zaqar_plugins.transport.wsgi import middleware


def test_request_ids_are_oslo_contexts_shape() -> None:
    shape = re.compile(request_id.ID_FORMAT)
    for _ in range(5000):
        found = middleware.new_request_id()
        assert shape.match(found), found
        random_uuid = uuid.UUID(found.removeprefix('req-'))
        assert random_uuid.version == 4
        assert random_uuid.variant == uuid.RFC_4122


def test_request_ids_are_unique_in_a_process_and_its_children() -> None:
    mine = {middleware.new_request_id() for _ in range(20000)}
    assert len(mine) == 20000
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # a forked worker: its own ids, not its parent's next ones
        os.close(read)
        os.write(write, middleware.new_request_id().encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        childs = pipe.read()
    os.waitpid(pid, 0)
    parents = middleware.new_request_id()
    assert childs != parents
    assert childs not in mine
