"""The ``wsgi`` transport: the Pecan app, served by uWSGI (see
:mod:`.server`) in pre-forked processes, each with its own storage
connections, threads and background services."""

from typing import Any

from oslo_log import log

from zaqar_core.transport import base
from zaqar_plugins.transport.wsgi import app as wsgi_app
from zaqar_plugins.transport.wsgi import server

LOG = log.getLogger(__name__)


class Driver(base.DriverBase, base.WsgiDriver):
    """The ``wsgi`` transport."""

    def app(self) -> Any:
        api, _ = self.serving_api()
        return wsgi_app.setup_app(self.conf, api)

    def listen(self) -> None:
        opts = self.conf[server.GROUP]
        LOG.info('Serving the Zaqar v2 API on http://%s with %d workers of '
                 '%d threads', server.address(opts.bind, opts.port),
                 server.workers(self.conf), opts.threads)
        server.serve(self.conf, self.app)
