"""The API service: what every transport calls to run an action.

It applies, once for every transport, the checks upstream spreads over
hooks and responders: Client-ID, project, queue name, policy; then runs
the action and turns storage errors into API errors.
"""

import uuid
from collections.abc import Mapping

from oslo_config import cfg
from oslo_log import log
from oslo_policy import policy as oslo_policy

from zaqar_core import policy
from zaqar_core.api import errors
from zaqar_core.api import signed_url
from zaqar_core.api import validation
from zaqar_core.api.arrivals import Arrivals
from zaqar_core.api.request import Request
from zaqar_core.api.request import Result
from zaqar_core.api.seen_metadata import SeenMetadata
from zaqar_core.api.v2 import actions  # noqa: F401 (registers actions)
from zaqar_core.api.v2 import registry
from zaqar_core.api.v2 import topics
from zaqar_core.conf.snapshot import Snapshot
from zaqar_core.conf.snapshot import Values
from zaqar_core.notification import base as notification_base
from zaqar_core.notification.base import NotifierBase
from zaqar_core.notification.events import Emitter
from zaqar_core.notification.outbox import Outbox
from zaqar_core.storage import errors as storage_errors
from zaqar_core.storage.stores import Stores
from zaqar_core.transport.gate import Gate

LOG = log.getLogger(__name__)
#: How many UUID client ids an Api remembers as checked (then it starts
#: over): a few kilobytes.
_CLIENT_UUIDS_KEPT = 4096


class Api:
    """Runs v2 actions against one deployment's stores.

    Args:
        conf: the registered configuration.
        stores: the storage drivers.
        enforcer: the policy enforcer.
        notifiers: notifier plugins by subscriber URI scheme.
        events: emits each change onto the OpenStack notification bus.
    """

    def __init__(self, conf: cfg.ConfigOpts, stores: Stores,
                 enforcer: oslo_policy.Enforcer,
                 notifiers: Mapping[str, NotifierBase] | None = None,
                 events: Emitter | None = None) -> None:
        self.conf = conf
        self._snapshot = Snapshot(conf)
        self.stores = stores
        self.enforcer = enforcer
        self.notifiers = dict(notifiers or {})
        self.outbox = Outbox(conf, stores)
        self.events = events
        self.seen_metadata = SeenMetadata(stores)
        self.arrivals = Arrivals(stores,
                                 conf.transport.max_waiting_requests)
        #: Set by a transport that runs requests in threads (see
        #: zaqar_core.transport.gate); a waiting request steps out of it.
        self.gate = Gate()
        #: Client ids seen to be UUIDs (a strict check's passes).
        self._client_uuids: set[str] = set()

    @property
    def settings(self) -> Values | cfg.ConfigOpts:
        """The configuration's option values, for requests to read: as
        :attr:`conf` gives them, read once per change (see
        :mod:`zaqar_core.conf.snapshot`)."""
        return self._snapshot.values()

    def notifier_for(self, subscriber: str) -> NotifierBase | None:
        """The notifier that serves ``subscriber``'s URI scheme."""
        return notification_base.notifier_for(self.notifiers, subscriber)

    def call(self, name: str, req: Request) -> Result:
        """Run the action ``name``.

        Raises:
            ApiError: the request is refused; nothing was changed.
            KeyError: no such action (a transport bug).
        """
        action = registry.ACTIONS[name]
        settings = self.settings
        if not registry.exists(action, registry.switches(settings)):
            raise errors.NotFound('The resource could not be found.',
                                  title='404 Not Found')
        _bind(action, req)
        if req.signed is not None and not signed_url.allows(
                settings.signed_url.secret_key, req.signed, req.project_id,
                req.method, req.path):
            # Whatever is wrong with it, as upstream answers (falcon's
            # bare 404).
            raise errors.NotFound('The resource could not be found.',
                                  title='404 Not Found')
        if not action.anonymous:
            self._check_client_id(req.client_id)
            if req.project_id is None and not settings.auth_strategy and \
                    settings.noauth_project_id:
                self._default_project(req)
            self._check_project(req.project_id)
            queue_name = req.params.get('queue_name')
            if queue_name is not None:
                validation.check_queue_name(
                    queue_name,
                    'topic' if action.kind == topics.KIND else 'queue')
            if action.rule:
                policy.authorize(self.enforcer, action.rule, req.context,
                                 req.project_id)
            req.tenant = req.project_id
            if action.kind == topics.KIND:
                req.kind = topics.KIND
                req.project_id = topics.scope(req.project_id)
        try:
            result = action.handler(self, req)
        except storage_errors.StorageError as exc:
            if isinstance(exc, storage_errors.Unavailable):
                # The answer is a 503: the log says why.
                LOG.warning('%s answered 503: %s', name,
                            ' '.join(str(exc).split()))
            raise errors.from_storage(
                exc, req.tenant if req.kind == topics.KIND else None
            ) from exc
        if self.events is not None:
            self.events.emit(name, req, result)
        return result

    def check_body_size(self, name: str, size: int) -> None:
        """Refuse a body too large for action ``name``, before reading it.

        Raises:
            BadRequest: ``size`` bytes is more than the action accepts.
        """
        action = registry.ACTIONS[name]
        limit = registry.DEFAULT_BODY_LIMIT
        if action.body_limit is not None:
            limit = self.settings.transport[action.body_limit]
        if size > limit:
            raise errors.BadRequest(action.too_large.format(limit=limit))

    def _check_client_id(self, client_id: str | None) -> None:
        if client_id is None:
            raise errors.BadRequest('The "Client-Id" header is required.',
                                    title='Missing header value')
        limits = self.settings.transport
        if limits.client_id_uuid_safe == 'strict':
            # A client sends the same id on every request: parsing it as a
            # UUID each time was 1% of a message delete.
            if client_id in self._client_uuids:
                return
            try:
                uuid.UUID(client_id)
            except ValueError:
                raise errors.BadRequest(
                    'Malformed hexadecimal UUID.',
                    title='Wrong UUID value') from None
            if len(self._client_uuids) >= _CLIENT_UUIDS_KEPT:
                self._client_uuids.clear()
            self._client_uuids.add(client_id)
        elif not (limits.min_length_client_id <= len(client_id) <=
                  limits.max_length_client_id) or \
                not client_id.isprintable():
            raise errors.BadRequest(
                f'Length of client id must be at least '
                f'{limits.min_length_client_id} and no greater than '
                f'{limits.max_length_client_id}.')

    def _default_project(self, req: Request) -> None:
        # Development without auth: clients that cannot send the header.
        req.project_id = self.settings.noauth_project_id
        if req.context is not None:
            req.context.project_id = req.project_id

    @staticmethod
    def _check_project(project_id: str | None) -> None:
        if project_id is None:
            raise errors.BadRequest('The header X-PROJECT-ID was missing',
                                    title='Project-Id Missing')
        if project_id == '':
            raise errors.BadRequest(
                'X-PROJECT-ID cannot be an empty string. Specify the right '
                'header X-PROJECT-ID and retry.',
                title='Empty project header not allowed')
        if len(project_id) > validation.MAX_PROJECT_ID or \
                not project_id.isprintable():
            raise errors.BadRequest(
                'The format of the submitted queue name or project id is '
                'not valid.', title='Invalid queue identification')


def _bind(action: registry.Action, req: Request) -> None:
    """Check the action's path parameters, turn its declared parameters
    into their types, and set the request's method and path (which
    pre-signed URLs are checked against)."""
    params = req.params
    for name in action.path_params:
        value = params.get(name)
        if value is None:
            raise errors.BadRequest(f'Missing "{name}".',
                                    title='Missing parameter')
        if not isinstance(value, str) or not value or '/' in value:
            raise errors.invalid_parameter(
                f'The value of the "{name}" parameter must be a non-empty '
                f'string without "/".')
        if name != 'queue_name':
            # A queue name gets its own check, with upstream's error.
            validation.check_text(name, value)
    for name, kind in action.query.items():
        if name in params:
            params[name] = validation.typed(params, name, kind)
    req.method = action.method
    req.path = action.address(params)
