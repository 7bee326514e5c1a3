"""The WSGI application: Pecan and its middleware, assembled in one place.

Order, outermost first, and why:

1. CORS: answers preflight requests before anything else looks at them
   (only requests with an Origin header, and OPTIONS, pass through it).
2. HTTPProxyToWSGI, when ``[oslo_middleware] enable_proxy_headers_parsing``
   is on: trusts X-Forwarded-* from a reverse proxy, so that what follows
   sees the client's scheme and host.
3. RequestId: every response, errors included, carries
   x-openstack-request-id.
4. DecodedRequest: a path, query string or header that is not UTF-8
   text is a 400 before anything below decodes it.
5. keystonemiddleware auth_token (``auth_strategy = keystone``), skipped
   for ``GET /`` (version discovery never needs a token).
6. Pecan, routed by the API's table.

Around it all, :class:`RelativeLocation` undoes WebOb's habit of making
Location absolute: Zaqar sends relative paths. Under zaqar-server, the
:class:`Working` gate lets ``threads`` requests work at a time (the
threads beyond are for requests that wait for messages). Outermost, when
``[drivers:transport:wsgi] access_log`` is on (or ``debug``), the request
log (:mod:`.access_log`): it times the whole request and sees the
response's request id.
"""

import inspect

import webob
from keystonemiddleware import auth_token
from oslo_config import cfg
from oslo_middleware import cors
from oslo_middleware import http_proxy_to_wsgi
from pecan import core

from zaqar_core.api import errors
from zaqar_core.api.service import Api
from zaqar_plugins.transport.wsgi import access_log
from zaqar_plugins.transport.wsgi import controllers
from zaqar_plugins.transport.wsgi import hooks
from zaqar_plugins.transport.wsgi import middleware
from zaqar_plugins.transport.wsgi import options as drivers_transport_wsgi


class Unanswered:
    """What Pecan makes per request for the controller to fill in. The
    controller here returns a response of its own (controllers.render), as
    does the error hook, so this one is never sent, and need not be a WebOb
    response: building one was 1% of a message delete."""


class Application(core.ExplicitPecan):
    """Pecan with the API's route table in place of object dispatch.

    Routing, content negotiation and form parsing of stock Pecan are
    skipped: the route table answers 404/405, the adapter checks Accept,
    and bodies are decoded once, after their size is checked (stock
    Pecan would decode any JSON body first, whatever its size).
    """

    def find_controller(self, state):
        req = state.request
        # PEP 3333 hands the path over as Latin-1. DecodedRequest refused
        # any that is not UTF-8; this app may be mounted without it.
        try:
            req.pecan['routing_path'] = req.environ.get(
                'PATH_INFO', '').encode('latin-1').decode('utf-8')
        except UnicodeError:
            raise errors.BadRequest(
                'The request path is not UTF-8 text.') from None
        self.handle_hooks(self.hooks, 'on_route', state)
        controller = self.root.dispatch
        state.controller = controller
        req.pecan['content_type'] = controllers.JSON
        args = [req, state.response]
        state.arguments = inspect.Arguments(args, [], {})
        self.handle_hooks(self.determine_hooks(controller), 'before', state)
        return controller, args, {}

    def invoke_controller(self, controller, args, kwargs, state) -> None:
        # The adapter takes no keyword arguments and builds the response
        # itself; stock Pecan would inspect its signature on every request
        # (12% of a message post) to drop unknown query keys.
        state.response = controller(*args)

    def _handle_empty_response_body(self, state) -> None:
        # Stock Pecan turns a 200 without a body into a 204 (reading the
        # body as text to see), and takes the Content-Type off a 204. Every
        # response here is controllers.render's, which does both as it
        # builds the response: on a message delete, deleting the
        # Content-Type again was 2% of the request.
        pass


def setup_app(conf: cfg.ConfigOpts, api: Api):
    """The full WSGI application for ``api``."""
    pecan_app = Application(
        controllers.RootController(api),
        # WebOb's own request: Pecan's wraps every attribute read in a
        # Python call, to turn an undecodable value into a 400
        # (DecodedRequest refuses those before Pecan, and the query, the
        # one value read through WebOb, says so itself). Its base class:
        # webob.Request keeps the attributes Pecan sets on it in the
        # environ, through a Python __setattr__.
        request_cls=webob.request.BaseRequest, response_cls=Unanswered,
        hooks=[hooks.ErrorHook()],
        force_canonical=False,
        guess_content_type_from_ext=False,
        use_context_locals=False,
    )
    app = pecan_app
    if conf.auth_strategy == 'keystone':
        app = middleware.RootWithoutAuth(
            pecan_app, middleware.AuthErrorsAsJson(
                auth_token.AuthProtocol(pecan_app,
                                        {'oslo_config_config': conf})))
    app = middleware.RequestId(middleware.DecodedRequest(app))
    proxied = http_proxy_to_wsgi.HTTPProxyToWSGI(app, conf)
    # It does nothing unless enabled; skip it then.
    if proxied._conf_get('enable_proxy_headers_parsing'):
        app = proxied
    app = middleware.CrossOrigin(app, cors.CORS(app, conf))
    app = middleware.RelativeLocation(app)
    if api.gate.limits:
        app = middleware.Working(app, api.gate)
    if conf[drivers_transport_wsgi.GROUP].access_log or conf.debug:
        app = access_log.AccessLog(app)
    return app
