"""One server per listening address.

granian's workers each bind the address with ``SO_REUSEPORT``, so that
the kernel spreads connections over them; but that also lets a second
server of the same user bind the same address and silently take part of
its traffic. The master first binds an abstract Unix socket named after
the address, which its workers inherit: it is exclusive, so a second
server finds it taken and stops, and the kernel frees it when the last
process holding it dies, whatever killed it.
"""

from __future__ import annotations

import errno
import socket


def claim(address: str) -> socket.socket:
    """Hold ``address`` (``host:port``) for this process and the workers
    it forks; keep the socket open while serving.

    Raises:
        OSError: EADDRINUSE, another server holds it.
    """
    guard = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        guard.bind(f'\0zaqar-server {address}')
    except OSError as exc:
        guard.close()
        if exc.errno != errno.EADDRINUSE:
            raise
        raise OSError(errno.EADDRINUSE, 'Address already in use (by '
                      'another zaqar-server)') from None
    return guard
