"""The ``wsgi`` transport: the Pecan app, served by granian (see
:mod:`.server` and :mod:`.rsgi`) in pre-forked processes, each with its own
storage connections, threads and background services."""

from typing import Any

from zaqar_core.transport import base
from zaqar_core.transport.gate import Gate
from zaqar_plugins.transport.wsgi import app as wsgi_app
from zaqar_plugins.transport.wsgi import server


class Driver(base.DriverBase, base.WsgiDriver):
    """The ``wsgi`` transport."""

    def app(self) -> Any:
        api, _ = self.serving_api()
        return wsgi_app.setup_app(self.conf, api)

    def listen(self) -> None:
        server.serve(self.conf, self._served_app)

    def _served_app(self) -> Any:
        """The app of a zaqar-server worker: ``threads`` requests work at
        once, however many wait for messages (see :mod:`.rsgi`)."""
        api, _ = self.serving_api()
        api.gate = Gate(self.conf[server.GROUP].threads)
        server.when_told_to_stop(api.arrivals.release_all)
        return wsgi_app.setup_app(self.conf, api)
