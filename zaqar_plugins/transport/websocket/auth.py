"""Who a connection is: Keystone tokens of ``authenticate`` checked by
keystonemiddleware, as the REST app checks each request's.

One ``auth_token`` middleware per process wraps an app that only records
what the middleware found; each ``authenticate`` runs it on a minimal
WSGI environ holding the token, so that the token cache, the service
credentials and every ``[keystone_authtoken]`` option apply as for REST.
"""

from __future__ import annotations

import dataclasses
import datetime
import io
import time
from collections.abc import Callable
from collections.abc import Mapping
from typing import Any

from keystonemiddleware import auth_token
from oslo_config import cfg
from oslo_context import context as oslo_context

# What a noauth context may take from the client's headers, as the REST
# app takes them from HTTP headers.
_CONTEXT_HEADERS = ('X-Project-ID', 'X-User-ID', 'X-Roles', 'X-Domain-ID',
                    'X-User-Domain-ID', 'X-Project-Domain-ID')


@dataclasses.dataclass(frozen=True)
class Identity:
    """An authenticated connection's identity.

    Attributes:
        project_id: the token's project.
        context: the request context every request of the connection
            runs with (policy, trusts).
        expires: when the token expires (aware UTC), if known.
        token: the token, checked again every :attr:`recheck` seconds.
        checked: when it was last checked (``time.monotonic()``).
    """

    project_id: str
    context: oslo_context.RequestContext
    expires: datetime.datetime | None
    token: str = dataclasses.field(repr=False, default='')
    checked: float = 0.0


class Rejected(Exception):
    """The token was refused.

    Args:
        status: the HTTP-style status auth_token answered (401, 503...).
    """

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class KeystoneAuthenticator:
    """Checks tokens with keystonemiddleware's ``auth_token``."""

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self._middleware = auth_token.AuthProtocol(
            _record, {'oslo_config_config': conf})
        #: Seconds a connection's token stays trusted before it is checked
        #: again: as long as auth_token caches a check for REST, so that a
        #: revoked token stops working as soon on both transports.
        self.recheck = float(
            conf.keystone_authtoken.token_cache_time or 0) or 300.0

    def authenticate(self, token: str) -> Identity:
        """The identity ``token`` stands for (blocking: Keystone may be
        asked).

        Raises:
            Rejected: the token is not valid now, or Keystone could not
                be asked.
        """
        environ = _environ({'HTTP_X_AUTH_TOKEN': token})
        answered: list[str] = []

        def start_response(status: str, headers: list,
                           exc_info: Any = None) -> Callable:
            answered.append(status)
            return lambda data: None

        body = self._middleware(environ, start_response)
        for _ in body:
            pass
        if answered and not answered[0].startswith('200'):
            code, _, reason = answered[0].partition(' ')
            raise Rejected(int(code), reason or 'Unauthorized')
        project = environ.get('HTTP_X_PROJECT_ID')
        if not project:
            raise Rejected(401, 'The token is not scoped to a project')
        token_auth = environ.get('keystone.token_auth')
        user = getattr(token_auth, 'user', None)
        return Identity(project,
                        oslo_context.RequestContext.from_environ(environ),
                        getattr(user, 'expires', None), token,
                        time.monotonic())


def context_key(headers: Mapping[str, Any]) -> tuple:
    """What of ``headers`` :func:`context_from_headers` reads."""
    return tuple(header(headers, name) for name in _CONTEXT_HEADERS)


def context_from_headers(headers: Mapping[str, Any]
                         ) -> oslo_context.RequestContext:
    """The context of a request without Keystone: what its headers say,
    as for REST with ``auth_strategy`` unset."""
    environ = {}
    for name in _CONTEXT_HEADERS:
        value = header(headers, name)
        if isinstance(value, str):
            environ['HTTP_' + name.upper().replace('-', '_')] = value
    return oslo_context.RequestContext.from_environ(environ)


def header(headers: Mapping[str, Any], name: str) -> Any:
    """A header by name, whatever the case the client wrote it in
    (python-zaqarclient sends both X-Project-Id and X-Project-ID)."""
    if name in headers:
        return headers[name]
    lowered = name.lower()
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == lowered:
            return value
    return None


def _record(environ: dict, start_response: Callable) -> list[bytes]:
    # The middleware let the request through: it set the identity headers.
    start_response('200 OK', [])
    return []


def _environ(extra: dict[str, str]) -> dict[str, Any]:
    return {'REQUEST_METHOD': 'GET', 'PATH_INFO': '/', 'SCRIPT_NAME': '',
            'QUERY_STRING': '', 'SERVER_NAME': 'zaqar', 'SERVER_PORT': '0',
            'SERVER_PROTOCOL': 'HTTP/1.1', 'wsgi.url_scheme': 'http',
            'wsgi.input': io.BytesIO(), 'wsgi.errors': io.StringIO(),
            'wsgi.version': (1, 0), 'wsgi.multithread': True,
            'wsgi.multiprocess': True, 'wsgi.run_once': False, **extra}
