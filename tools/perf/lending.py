"""The cost of running a request as a cooperative task
(zaqar_core.cooperative), without a server or a store::

    python tools/perf/lending.py [--requests 50000]

On uvloop, as zaqar-server's workers run, it times requests that write a
byte to a socket pair and read it back: run as tasks one after another,
once without a wait and once lending the thread while the byte is on its
way (the fd is already readable, so the wait costs only its machinery).
Prints microseconds per request, each twice.
"""

from __future__ import annotations

import argparse
import socket
import time

import uvloop

from zaqar_core import cooperative


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--requests', type=int, default=50000)
    args = parser.parse_args()
    ours, theirs = socket.socketpair()

    def request(wait: bool) -> None:
        theirs.send(b'x')
        if wait:
            cooperative.wait_readable(ours.fileno(), 5.0)
        ours.recv(1)

    async def measure() -> None:
        for wait in (False, True, False, True):
            started = time.perf_counter()
            for _ in range(args.requests):
                await cooperative.run(request, wait)
            took = (time.perf_counter() - started) / args.requests
            print(f'{"one wait" if wait else "no wait ":8}: '
                  f'{took * 1e6:6.2f} us per request')

    uvloop.run(measure())


if __name__ == '__main__':
    main()
