"""The WSGI application: Pecan and its middleware, assembled in one place.

Order, outermost first, and why:

1. CORS: answers preflight requests before anything else looks at them.
2. HTTPProxyToWSGI: trusts X-Forwarded-* from a reverse proxy, so that
   what follows sees the client's scheme and host.
3. RequestId: every response, errors included, carries
   x-openstack-request-id.
4. keystonemiddleware auth_token (``auth_strategy = keystone``), skipped
   for ``GET /`` (version discovery never needs a token).
5. Pecan, routed by the API's table.

Around it all, :class:`RelativeLocation` undoes WebOb's habit of making
Location absolute: Zaqar sends relative paths.
"""

import inspect

import webob
from keystonemiddleware import auth_token
from oslo_config import cfg
from oslo_middleware import cors
from oslo_middleware import http_proxy_to_wsgi
from oslo_middleware import request_id
from pecan import core

from zaqar_core.api.service import Api
from zaqar_plugins.transport.wsgi import controllers
from zaqar_plugins.transport.wsgi import hooks


class Application(core.ExplicitPecan):
    """Pecan with the API's route table in place of object dispatch.

    Routing, content negotiation and form parsing of stock Pecan are
    skipped: the route table answers 404/405, the adapter checks Accept,
    and bodies are decoded once, after their size is checked (stock
    Pecan would decode any JSON body first, whatever its size).
    """

    def find_controller(self, state):
        req = state.request
        req.pecan['routing_path'] = req.path_info
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


class _AuthErrorsAsJson:
    """Reshapes auth_token's refusals (HTML, or ``{"error": {...}}``) into
    Zaqar's ``{"title", "description"}``, keeping their status and
    headers (WWW-Authenticate)."""

    def __init__(self, app) -> None:
        self.app = app

    def __call__(self, environ, start_response):
        response = webob.Request(environ).get_response(self.app)
        if response.status_int >= 400 and not _zaqar_error(response):
            reason = response.status.split(' ', 1)[-1]
            description = f'{reason}.'
            try:
                description = response.json['error']['message']
            except (ValueError, KeyError, TypeError):
                pass
            response.json = {'title': reason, 'description': description}
            response.content_type = controllers.JSON
            response.charset = None
        return response(environ, start_response)


def _zaqar_error(response: webob.Response) -> bool:
    if response.content_type != controllers.JSON:
        return False
    try:
        return 'title' in response.json
    except ValueError:
        return False


class _RootWithoutAuth:
    """Sends ``/`` straight to the app, everything else through auth."""

    def __init__(self, app, authenticated) -> None:
        self.app = app
        self.authenticated = authenticated

    def __call__(self, environ, start_response):
        if environ.get('PATH_INFO', '') in ('', '/'):
            return self.app(environ, start_response)
        return self.authenticated(environ, start_response)


class RelativeLocation:
    """Strips this server's own origin from Location headers.

    Every WebOb layer (Pecan, each oslo middleware) rewrites a relative
    Location as an absolute URL built from the request; Zaqar's contract
    is the relative path.
    """

    def __init__(self, app) -> None:
        self.app = app

    def __call__(self, environ, start_response):
        origin = webob.Request(environ).host_url

        def relative(status, headers, exc_info=None):
            headers = [(k, v[len(origin):])
                       if k.lower() == 'location' and v.startswith(origin)
                       else (k, v) for k, v in headers]
            return start_response(status, headers, exc_info)

        return self.app(environ, relative)


def setup_app(conf: cfg.ConfigOpts, api: Api):
    """The full WSGI application for ``api``."""
    app = Application(
        controllers.RootController(api),
        hooks=[hooks.ErrorHook(), hooks.ContextHook()],
        force_canonical=False,
        guess_content_type_from_ext=False,
        use_context_locals=False,
    )
    if conf.auth_strategy == 'keystone':
        app = _RootWithoutAuth(app, _AuthErrorsAsJson(auth_token.AuthProtocol(
            app, {'oslo_config_config': conf})))
    app = request_id.RequestId(app)
    app = http_proxy_to_wsgi.HTTPProxyToWSGI(app, conf)
    app = cors.CORS(app, conf)
    return RelativeLocation(app)
