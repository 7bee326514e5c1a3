"""The ``websocket`` transport: the v2 API over WebSocket, as upstream
speaks it (``[drivers] transport = websocket``, port 9000), served in
pre-forked processes (:mod:`.prefork`), each with its own storage
connections, background services and push hub."""

from __future__ import annotations

import asyncio
import os
import socket

from zaqar_core.notification.hub import Hub
from zaqar_core.transport import base
from zaqar_core.transport import startup
from zaqar_core.transport.gate import Gate
from zaqar_plugins.transport import processes
from zaqar_plugins.transport.websocket import (
    options as drivers_transport_websocket,
)
from zaqar_plugins.transport.websocket import prefork
from zaqar_plugins.transport.websocket import server

GROUP = drivers_transport_websocket.GROUP


class Driver(base.DriverBase):
    """The ``websocket`` transport."""

    def listen(self) -> None:
        opts = self.conf[GROUP]
        workers = opts.workers or os.cpu_count() or 1
        try:
            sockets = prefork.listening_sockets(opts.bind, opts.port,
                                                workers)
        except OSError as exc:
            raise base.ListenError(
                f'cannot listen on {opts.bind} port {opts.port}: '
                f'{exc.strerror or exc}') from None
        startup.announce(self.conf, f'ws://{_address(sockets[0])}',
                         workers, opts.threads)
        server.quiet_library_logs()
        prefork.serve(sockets, self.serve_worker)

    def serve_worker(self, sock: socket.socket) -> int:
        """Serve in this (forked) process until stopped."""
        api, services = self.serving_api()
        api.gate = Gate(self.conf[GROUP].threads)
        hub = Hub(self.conf, api.stores).start()
        ws = server.Server(self.conf, api, hub)
        processes.settle_heap()
        try:
            asyncio.run(ws.serve(sock))
        finally:
            ws.close()
            hub.stop()
            services.stop()
            api.stores.close()
        return 0


def _address(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f'[{host}]:{port}' if ':' in host else f'{host}:{port}'
