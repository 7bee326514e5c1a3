"""What a transport plugin (``zaqar_core.transport``) implements.

A transport carries the v2 API over one wire protocol. It is loaded by
:func:`zaqar_core.bootstrap.load_transport` under the name ``[drivers]
transport`` gives (``wsgi``, ``websocket``) and is handed a factory of the
:class:`~zaqar_core.api.service.Api`. Its contract:

* **Serve.** :meth:`DriverBase.listen` serves until SIGTERM or SIGINT
  (graceful: requests in progress end), in as many processes as the
  transport's own ``workers`` option says; SIGHUP restarts the serving
  processes gracefully.
* **One API per serving process.** Each process that serves calls
  :meth:`DriverBase.serving_api` once, after any fork: it opens that
  process's storage connections and starts its background services
  (garbage collection, notification delivery).
* **Only adapt.** A request is turned into an action name and a
  :class:`~zaqar_core.api.request.Request` (Client-ID, project, the
  action's parameters, its document, the policy context, the URL-*
  headers of a pre-signed request) and run with
  :meth:`~zaqar_core.api.service.Api.call`; the
  :class:`~zaqar_core.api.request.Result` (data) and any
  :class:`~zaqar_core.api.errors.ApiError` are rendered in the wire
  format. Checks, policy, storage and notifications are the API's.
* **Authenticate** as ``[DEFAULT] auth_strategy`` says (Keystone tokens
  through keystonemiddleware), putting the token's identity in the
  request context and its project in the request.

A transport that is a WSGI application also implements
:class:`WsgiDriver`, for operators who run their own WSGI server
(:mod:`zaqar_core.wsgi`).
"""

import abc
from collections.abc import Callable
from typing import Any

from oslo_config import cfg

from zaqar_core import background
from zaqar_core.api.service import Api

ApiFactory = Callable[[], Api]


class ListenError(Exception):
    """The transport cannot serve: its address is in use, say."""


class DriverBase(abc.ABC):
    """Entry class of a transport plugin.

    Args:
        conf: the registered configuration.
        api_factory: builds the :class:`Api` (and so the storage
            connections). Transports that fork call it in each child.
    """

    def __init__(self, conf: cfg.ConfigOpts,
                 api_factory: ApiFactory) -> None:
        self.conf = conf
        self.api_factory = api_factory

    def serving_api(self) -> tuple[Api, background.Services]:
        """A new API for this serving process, with its background
        services started."""
        api = self.api_factory()
        return api, background.Services(api).start()

    @abc.abstractmethod
    def listen(self) -> None:
        """Serve until asked to stop (SIGTERM or SIGINT).

        Raises:
            ListenError: it cannot serve at all.
        """


class WsgiDriver(abc.ABC):
    """A transport that is a WSGI application."""

    @abc.abstractmethod
    def app(self) -> Any:
        """The WSGI application over :meth:`DriverBase.serving_api`; call
        it in the process that serves."""
