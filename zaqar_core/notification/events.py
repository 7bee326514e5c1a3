"""Queue events on the OpenStack notification bus.

After each successful mutating action the API emits an ``info``
notification (``messaging.queue.create``, ``messaging.message.post``...)
the standard OpenStack way, so that Ceilometer, auditing or billing see
Zaqar as they see Nova. Configured with oslo.messaging's own options:
``[oslo_messaging_notifications] driver`` (unset: nothing is sent),
``topics`` and ``transport_url``.

Payloads carry the project, the queue (or topic) and the ids involved;
never message bodies, subscribers or anything else a user wrote.

Sending happens on a thread of its own by default: a broker that is slow
or down (oslo.messaging retries forever by default) must not hold up API
requests. Up to :data:`MAX_PENDING` events wait; past that they are
dropped with a warning.
"""

import os
import queue
import socket
import threading
import warnings
from collections.abc import Callable
from typing import Any

from oslo_config import cfg
from oslo_context import context as oslo_context
from oslo_log import log

with warnings.catch_warnings():
    # oslo.messaging imports oslo.service's eventlet backend, which warns
    # on import that eventlet is deprecated; nothing here uses eventlet.
    warnings.filterwarnings('ignore', message=r'\s*Eventlet is deprecated')
    import oslo_messaging
    from oslo_messaging import opts as messaging_opts

from zaqar_core.api.request import Request
from zaqar_core.api.request import Result

LOG = log.getLogger(__name__)

NOTIFICATIONS_GROUP = 'oslo_messaging_notifications'
MAX_PENDING = 1000

# Action name -> event type, for the actions that change something.
EVENT_TYPES = {
    'queue_create': 'messaging.queue.create',
    'queue_update': 'messaging.queue.update',
    'queue_delete': 'messaging.queue.delete',
    'queue_purge': 'messaging.queue.purge',
    'message_post': 'messaging.message.post',
    'message_delete': 'messaging.message.delete',
    'message_delete_many': 'messaging.message.delete',
    'claim_create': 'messaging.claim.create',
    'claim_update': 'messaging.claim.update',
    'claim_delete': 'messaging.claim.delete',
    'subscription_create': 'messaging.subscription.create',
    'subscription_update': 'messaging.subscription.update',
    'subscription_delete': 'messaging.subscription.delete',
    'subscription_confirm': 'messaging.subscription.confirm',
}

# topic_* actions that only read.
_READ_ONLY_VERBS = ('get', 'list', 'stats', 'share')

# Actions whose success may have changed nothing: 204 from queue_create
# or topic_create (it existed), claim_create (nothing to claim).
_NO_CHANGE = {'queue_create': 204, 'topic_create': 204, 'claim_create': 204}


def event_type(action_name: str) -> str | None:
    """The event type of ``action_name``; None: it emits nothing."""
    if action_name in EVENT_TYPES:
        return EVENT_TYPES[action_name]
    if action_name.startswith('topic_'):
        verbs = action_name[len('topic_'):].split('_')
        if verbs[0] and not any(v in _READ_ONLY_VERBS for v in verbs):
            return 'messaging.topic.' + '.'.join(verbs)
    return None


def _ids_param(params: dict) -> list[str] | None:
    ids = params.get('ids')
    if isinstance(ids, str):
        ids = ids.split(',')
    return [i for i in ids if i] if isinstance(ids, list) else None


def payload(action_name: str, req: Request, result: Result
            ) -> dict[str, Any]:
    """The notification payload: who, where, which ids."""
    params = req.params or {}
    body = result.body if isinstance(result.body, dict) else {}
    # For topics the API points project_id at the project's topic scope;
    # ``tenant`` keeps the project as the client named it.
    data: dict[str, Any] = {'project_id': req.tenant or req.project_id}
    base = action_name.removeprefix('topic_')
    # Topic routes carry the topic's name as queue_name.
    name_key = 'topic_name' if base != action_name else 'queue_name'
    if params.get('queue_name'):
        data[name_key] = params['queue_name']
    for key in ('topic_name', 'message_id', 'claim_id', 'subscription_id'):
        if params.get(key):
            data[key] = params[key]
    if base.endswith('message_post'):
        data['message_ids'] = list(body.get('message_ids', []))
        # Lets the bridge recognise (and skip) its own posts.
        data['client_id'] = req.client_id
    elif base.endswith('message_delete_many'):
        popped = body.get('messages')
        if isinstance(popped, list):
            data['message_ids'] = [m.get('id') for m in popped
                                   if isinstance(m, dict)]
        else:
            data['message_ids'] = _ids_param(params) or []
    elif base.endswith('claim_create'):
        data['claim_id'] = body.get('claim_id')
        data['message_ids'] = [m.get('id') for m in body.get('messages', [])
                               if isinstance(m, dict)]
    elif base.endswith('subscription_create') and \
            body.get('subscription_id'):
        data['subscription_id'] = body['subscription_id']
    elif base.endswith('subscription_confirm') and \
            isinstance(req.body, dict) and 'confirmed' in req.body:
        data['confirmed'] = req.body['confirmed']
    elif base.endswith('purge') and isinstance(req.body, dict) and \
            isinstance(req.body.get('resource_types'), list):
        data['resource_types'] = req.body['resource_types']
    return data


def _notifications_conf(conf: cfg.ConfigOpts) -> Any:
    """``[oslo_messaging_notifications]``, registered as oslo.messaging
    registers it (registering it again is harmless)."""
    for group, opts in messaging_opts.list_opts():
        if group == NOTIFICATIONS_GROUP:
            conf.register_opts(opts, group=group)
    return conf[NOTIFICATIONS_GROUP]


class Emitter:
    """Sends queue events as oslo.messaging notifications.

    Args:
        conf: the registered configuration.
        background: send from a thread of this emitter (default) rather
            than in the caller's.
        notifier: the notifier to use (tests); by default one built from
            ``[oslo_messaging_notifications]``.
    """

    def __init__(self, conf: cfg.ConfigOpts, background: bool = True,
                 notifier: oslo_messaging.Notifier | None = None) -> None:
        self.notifier = notifier
        self.transport = None
        self.background = background
        if notifier is None:
            drivers = [d for d in _notifications_conf(conf).driver
                       if d != 'noop']
            if drivers:
                self.transport = \
                    oslo_messaging.get_notification_transport(conf)
                self.notifier = oslo_messaging.Notifier(
                    self.transport,
                    publisher_id=f'messaging.{socket.gethostname()}')
        # Checked once: a disabled emitter must cost nothing per request.
        self.enabled = bool(self.notifier and self.notifier.is_enabled())
        self._pending: queue.Queue = queue.Queue(MAX_PENDING)
        self._sender: threading.Thread | None = None
        self._sender_pid: int | None = None
        self._lock = threading.Lock()
        self._dropping = False

    def emit(self, action_name: str, req: Request, result: Result) -> None:
        """Notify that ``action_name`` succeeded; never raises."""
        if not self.enabled:
            return
        try:
            kind = event_type(action_name)
            if kind is None or result.status >= 400 or \
                    _NO_CHANGE.get(action_name) == result.status:
                return
            ctxt = req.context or oslo_context.RequestContext(
                project_id=req.tenant or req.project_id)
            data = payload(action_name, req, result)
            if self.background:
                self._enqueue(lambda: self._send(ctxt, kind, data))
            else:
                self._send(ctxt, kind, data)
        except Exception:
            LOG.exception('Could not emit the event of %s', action_name)

    def _send(self, ctxt: oslo_context.RequestContext, kind: str,
              data: dict[str, Any]) -> None:
        try:
            self.notifier.info(ctxt, kind, data)
        except Exception:
            LOG.exception('Could not send %s', kind)

    def _enqueue(self, job: Callable[[], None]) -> None:
        self._ensure_sender()
        try:
            self._pending.put_nowait(job)
            self._dropping = False
        except queue.Full:
            if not self._dropping:
                LOG.warning('%d events wait to be sent; dropping new ones '
                            'until the bus catches up', MAX_PENDING)
            self._dropping = True

    def _ensure_sender(self) -> None:
        # Started on first use, and again in a forked worker (threads do
        # not survive fork).
        if self._sender_pid == os.getpid():
            return
        with self._lock:
            if self._sender_pid != os.getpid():
                self._pending = queue.Queue(MAX_PENDING)
                self._sender = threading.Thread(
                    target=self._run, args=(self._pending,),
                    name='zaqar-events', daemon=True)
                self._sender.start()
                self._sender_pid = os.getpid()

    @staticmethod
    def _run(pending: queue.Queue) -> None:
        while True:
            job = pending.get()
            try:
                if job is None:
                    return
                job()
            finally:
                pending.task_done()

    def flush(self) -> None:
        """Wait until every event emitted so far was handed to the bus."""
        if self._sender_pid == os.getpid():
            self._pending.join()

    def close(self) -> None:
        """Send what is pending, stop the sender, close the transport."""
        self.enabled = False
        if self._sender_pid == os.getpid() and self._sender is not None:
            self._pending.put(None)
            self._sender.join()
            self._sender_pid = None
        if self.transport is not None:
            self.transport.cleanup()
