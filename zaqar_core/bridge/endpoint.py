"""The notification endpoint: each notification becomes one message,
posted through the API so that validation, lazy queue creation and
subscribers apply as for any client."""

import functools
import json
import threading
from typing import Any

import oslo_messaging
from oslo_log import log

from zaqar_core.api import errors
from zaqar_core.api.request import Request
from zaqar_core.api.service import Api
from zaqar_core.bridge.rules import Rules

LOG = log.getLogger(__name__)

# The Client-ID of every message the bridge posts: fixed, so that its
# posts can be told from any client's.
CLIENT_ID = '4451b08d-0df6-5d81-bce5-49bb39a9d651'

# The event Zaqar emits when a message is posted. If the bridge also
# consumes Zaqar's own events, its posts would be bridged forever.
_POST_EVENT = 'messaging.message.post'

HANDLED = None  # what oslo.messaging takes for "done"
REQUEUE = oslo_messaging.NotificationResult.REQUEUE


class Endpoint:
    """An oslo.messaging notification endpoint over one :class:`Api`.

    It has a method per priority in ``priorities`` (the listener consumes
    those priorities only).

    Args:
        api: the API service that posts the messages.
        rules: what to take and where it goes.
        priorities: the priorities to consume.
        requeue_delay: seconds to wait before handing back a notification
            the store could not take, so that an outage is not a busy
            loop of redeliveries.
    """

    def __init__(self, api: Api, rules: Rules, priorities: list[str],
                 requeue_delay: float = 1.0) -> None:
        self.api = api
        self.rules = rules
        self.requeue_delay = requeue_delay
        self.stopping = threading.Event()
        for priority in priorities:
            setattr(self, priority, functools.partial(self.handle, priority))

    def handle(self, priority: str, ctxt: dict | None, publisher_id: str,
               event_type: str, payload: Any, metadata: dict) -> str | None:
        """Post one notification; REQUEUE when the store is down."""
        event_type = event_type or ''
        publisher_id = publisher_id or ''
        what = (event_type, metadata.get('message_id'))
        if not self.rules.accepts(event_type):
            LOG.debug('Dropped %s %s: event type not bridged', *what)
            return HANDLED
        if event_type == _POST_EVENT and isinstance(payload, dict) and \
                payload.get('client_id') == CLIENT_ID:
            LOG.debug('Dropped %s %s: a post of this bridge', *what)
            return HANDLED
        project = self.rules.project(ctxt, payload)
        if project is None:
            LOG.debug('Dropped %s %s: no project', *what)
            return HANDLED
        queue = self.rules.queue(event_type, publisher_id)
        message = self.rules.message(priority, publisher_id, event_type,
                                     payload, metadata)
        return self._post(project, queue, message, what)

    def _post(self, project: str, queue: str, message: dict,
              what: tuple) -> str | None:
        body = {'messages': [message]}
        size = len(json.dumps(body).encode())
        req = Request(project_id=project, client_id=CLIENT_ID,
                      params={'queue_name': queue}, body=body,
                      body_size=size)
        try:
            self.api.check_body_size('message_post', size)
            self.api.call('message_post', req)
        except errors.ApiError as exc:
            if exc.status == 503:
                LOG.warning('Store unavailable, %s %s handed back: %s',
                            *what, exc)
                self.stopping.wait(self.requeue_delay)
                return REQUEUE
            # Refused for good (too large, bad project...): redelivering
            # would fail the same way forever.
            LOG.warning('Dropped %s %s: queue %s of project %s refused '
                        'it: %s', *what, queue, project, exc)
            return HANDLED
        except Exception:
            # A bug must not turn into an endless redelivery loop.
            LOG.exception('Dropped %s %s: posting failed', *what)
            return HANDLED
        LOG.debug('Posted %s %s to queue %s of project %s', *what, queue,
                  project)
        return HANDLED
