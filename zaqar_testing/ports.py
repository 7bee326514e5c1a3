"""Loopback ports for servers the tests start."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from collections.abc import Sequence

HOST = '127.0.0.1'


def free_port(preferred: int | None = None, taken: Sequence[int] = (),
              host: str = HOST) -> int:
    """A port of ``host`` nothing listens on: ``preferred`` if it is free,
    else one the kernel picks; never one of ``taken`` (chosen for another
    server, not bound yet).

    The port is free when this returns; a server that binds it later may
    still lose it to another process, so starters retry on "in use".
    """
    candidates = [preferred] if preferred and preferred not in taken else []
    for port in [*candidates, *[0] * 5]:
        with socket.socket() as sock:
            # As servers bind: a port whose last connections linger in
            # TIME_WAIT is free for them.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
            except OSError:
                continue
            found = sock.getsockname()[1]
            if found not in taken:
                return found
    raise OSError(f'no free port on {host}')


@contextlib.contextmanager
def taken_port() -> Iterator[int]:
    """A loopback port another socket listens on, while the block runs."""
    with socket.socket() as taken:
        taken.bind((HOST, 0))
        taken.listen()
        yield taken.getsockname()[1]


@contextlib.contextmanager
def refusing_address() -> Iterator[str]:
    """``host:port`` of a loopback port bound without listening, while
    the block runs: connecting to it is refused at once."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        yield f'{HOST}:{sock.getsockname()[1]}'
