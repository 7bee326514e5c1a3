"""The Pecan hook that renders errors as JSON."""

from oslo_log import log
from pecan import hooks
from webob import exc as webob_exc

from zaqar_core.api import errors
from zaqar_plugins.transport.wsgi import controllers
from zaqar_plugins.transport.wsgi import views

LOG = log.getLogger(__name__)


class ErrorHook(hooks.PecanHook):
    """Every error becomes ``{"title", "description"}`` with its status;
    anything unexpected is logged and answered 500 without details."""

    priority = 1

    def on_error(self, state, exc: Exception):
        if isinstance(exc, errors.ApiError):
            error = exc
        elif isinstance(exc, webob_exc.HTTPClientError):
            # Pecan's and WebOb's own refusals (DecodedRequest refuses
            # undecodable requests first, where it is in front).
            error = errors.BadRequest(
                'The request could not be decoded: the path, query string '
                'and headers must be UTF-8 text.')
            error.status = exc.code
        else:
            # The raw environ: WebOb's decoded path may be what failed.
            environ = state.request.environ
            LOG.exception('Unexpected error in %s %r',
                          environ.get('REQUEST_METHOD'),
                          environ.get('PATH_INFO'))
            error = errors.unexpected()
        response = controllers.render(views.Shown(
            error.status, error.to_dict(), error.headers))
        if error.status == 406:
            # Whoever cannot read JSON gets no body at all.
            response.body = b''
            response.content_type = None
        return response
