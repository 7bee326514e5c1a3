"""Listening addresses of the pre-forked servers of both transports."""

from __future__ import annotations

import socket


def family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ':' in host else socket.AF_INET


def check_free(host: str, port: int) -> None:
    """Fail as a plain bind would.

    Both servers bind their workers' sockets with ``SO_REUSEPORT``, so
    that the kernel spreads connections over the workers; alone, that
    would let a second server of the same user share the port, and part of
    the traffic, instead of failing. A socket bound without it is refused
    while any other socket holds the port, workers left of a killed server
    included.

    Raises:
        OSError: the address is in use (or cannot be bound at all).
    """
    with socket.socket(family(host)) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
