"""The outbox: notifications waiting for delivery, kept in storage.

Accepting a message never waits on its subscribers. A message post
stores, in the same atomic storage operation as the messages, one
*fan-out job* when the queue has subscriptions (:meth:`Outbox.fan_out`
describes it; see ``post_counting_subscriptions`` in
:mod:`zaqar_core.storage.base`). The posting request then expands it into
one *job* per subscriber (:meth:`Outbox.expand_posted`) and deletes it,
before it answers: so a client's consecutive posts have their
notifications queued in order, whichever server process takes each one.
The delivery worker of every server process (:mod:`.delivery`) claims
jobs from the outbox, and delivers and deletes them; it expands the
fan-out jobs that a poster left (it crashed, or its storage failed) once
storage hands them over. A subscription's confirmation request is a job
too, written when the subscription is made. Jobs for a connection of a
server process (:mod:`.push`) go to that process's own queue instead,
and a signal wakes it. A job outlives a crash: its claim expires and
another process takes it, so each notification is delivered at least
once (a crash during an expansion expands it again).

The outbox queue lives in a project no tenant can name (project ids are
printable), so no API call reaches it.
"""

from __future__ import annotations

import datetime
import threading
from typing import TYPE_CHECKING
from typing import Any

from oslo_config import cfg
from oslo_log import log

from zaqar_core.api import encryption
from zaqar_core.api import signed_url
from zaqar_core.api.v2 import registry
from zaqar_core.conf.snapshot import Snapshot
from zaqar_core.notification import push
from zaqar_core.notification import retry
from zaqar_core.notification.base import Target
from zaqar_core.storage import base
from zaqar_core.storage import errors as storage_errors
from zaqar_core.storage.stores import Stores

if TYPE_CHECKING:
    from zaqar_core.api.request import Request

LOG = log.getLogger(__name__)

PROJECT = '\x1fzaqar'
QUEUE = 'outbox'
#: The Client-ID jobs are posted with.
CLIENT_ID = '00000000-0000-4000-8000-00000000000b'
#: Subscriptions read per page while fanning out.
PAGE = 100

NOTIFICATION = 'notification'
CONFIRMATION = 'confirmation'


class Outbox:
    """Writes jobs; wakes this process's delivery worker when it does."""

    def __init__(self, conf: cfg.ConfigOpts, stores: Stores,
                 wakeup: threading.Event | None = None) -> None:
        self.conf = conf
        # Read on every post (fan_out): once per change instead.
        self._snapshot = Snapshot(conf)
        self.stores = stores
        #: Set when a job was written; the delivery worker waits on it.
        self.wakeup = threading.Event() if wakeup is None else wakeup

    def fan_out(self, project: str, source: str, kind: str,
                metadata: dict[str, Any]) -> base.FanOut:
        """The fan-out job that a post to ``source`` stores with its
        messages (their stored bodies: sealed, if the queue encrypts)."""
        notification = self._snapshot.values().notification
        return {'project': PROJECT, 'queue': QUEUE, 'client_uuid': CLIENT_ID,
                'ttl': notification.outbox_ttl,
                'post': {'project': project, 'source': source, 'kind': kind,
                         'metadata': metadata},
                'confirmed_only': notification.require_confirmation}

    def expand(self, job: dict[str, Any]) -> int:
        """Write the jobs of a fan-out job's post (see :meth:`fan_out`):
        one for each subscription it names that still exists; returns how
        many were written."""
        post = job['post']
        reveal = encryption.opener(self.conf, post['project'])
        messages: list[base.NewMessage] = [
            {'body': reveal(m['body']), 'ttl': m['ttl'],
             'delay': m['delay']} for m in job['messages']]
        # Whom to notify was settled when the messages were posted (and
        # confirmed then, if that is required).
        wanted = set(job['subscriptions'])
        subscriptions = [s for s in self._subscriptions(
            post['project'], post['source'], confirmed_only=False)
            if s['id'] in wanted]
        return self._notify(post['project'], post['source'], post['kind'],
                            post['metadata'], messages, subscriptions)

    def expand_posted(self, job: base.StoredFanOut) -> None:
        """Expand the fan-out job that a post just stored, then delete
        it; if storage fails meanwhile, the job is left for a delivery
        worker (the post itself has succeeded)."""
        try:
            self.expand(job['body'])
            self.stores.messages.delete(job['project'], job['queue'],
                                        job['id'])
        except storage_errors.StorageError as exc:
            LOG.warning('Notifications of a post to %r left to the '
                        'delivery worker, in %d s: %s',
                        job['body']['post']['source'], base.FAN_OUT_GRACE,
                        exc)

    def notify_posted(self, project: str, source: str, kind: str,
                      metadata: dict[str, Any],
                      messages: list[base.NewMessage]) -> int:
        """Queue a notification of ``messages`` for every live (and, when
        required, confirmed) subscriber of ``source``; returns how many
        jobs were written."""
        return self._notify(project, source, kind, metadata, messages,
                            self._subscriptions(project, source))

    def _notify(self, project: str, source: str, kind: str,
                metadata: dict[str, Any], messages: list[base.NewMessage],
                subscriptions: list[base.Subscription]) -> int:
        documents = [self._document(source, m, metadata) for m in messages]
        jobs = []
        for subscription in subscriptions:
            jobs.append(self._job(NOTIFICATION, project, source, kind,
                                  subscription, metadata,
                                  messages=documents))
        # Jobs of a queue that encrypts are sealed too: they hold bodies.
        self._write(jobs, metadata)
        return len(jobs)

    def request_confirmation(self, req: Request, subscription_id: str,
                             unsubscribe: bool = False) -> bool:
        """Queue the (un)subscription confirmation of a subscription, if
        confirmations are on; returns whether one was queued."""
        key = self.conf.signed_url.secret_key
        if not self.conf.notification.require_confirmation or not key:
            return False
        source = req.params['queue_name']
        subscription = self.stores.subscriptions.get(
            req.project_id, source, subscription_id)
        document = confirmation(
            key, req.kind, source, subscription, req.tenant,
            unsubscribe, self.conf.transport.default_subscription_ttl)
        self._write([self._job(CONFIRMATION, req.project_id, source,
                               req.kind, subscription, {},
                               document=document)])
        return True

    def _subscriptions(self, project: str, source: str,
                       confirmed_only: bool | None = None
                       ) -> list[base.Subscription]:
        required = self.conf.notification.require_confirmation \
            if confirmed_only is None else confirmed_only
        found: list[base.Subscription] = []
        marker = None
        while True:
            page = self.stores.subscriptions.list(project, source, marker,
                                                  PAGE)
            found += [s for s in page if s['confirmed'] or not required]
            if len(page) < PAGE:
                return found
            marker = page[-1]['id']

    @staticmethod
    def _document(source: str, message: base.NewMessage,
                  metadata: dict[str, Any]) -> dict[str, Any]:
        # What upstream sends: the posted message, its queue, the type.
        document: dict[str, Any] = {'body': message['body'],
                                    'ttl': message['ttl']}
        if metadata.get('_default_message_delay'):
            document['delay'] = message['delay']
        document['queue_name'] = source
        document['Message_Type'] = 'Notification'
        return document

    @staticmethod
    def _job(what: str, project: str, source: str, kind: str,
             subscription: base.Subscription, metadata: dict[str, Any],
             **payload: Any) -> dict[str, Any]:
        target: Target = {'id': subscription['id'], 'project': project,
                          'source': source,
                          'subscriber': subscription['subscriber'],
                          'options': subscription['options']}
        return {'what': what, 'kind': kind, 'target': target,
                'retry_policy': retry.effective(subscription['options'],
                                                metadata),
                **payload}

    def _write(self, jobs: list[dict[str, Any]],
               metadata: dict[str, Any] | None = None) -> None:
        if not jobs:
            return
        by_queue: dict[str, list[dict[str, Any]]] = {}
        for job in jobs:
            by_queue.setdefault(_queue_for(job), []).append(job)
        for queue, queued in by_queue.items():
            node = None if queue == QUEUE else queue.removeprefix('push.')
            ttl = self.conf.notification.outbox_ttl if node is None \
                else push.JOB_TTL
            stored: list[base.NewMessage] = [
                {'body': job, 'ttl': ttl, 'delay': 0} for job in queued]
            stored = encryption.seal(self.conf, PROJECT, metadata or {},
                                     stored)
            self.stores.messages.post(PROJECT, queue, stored, CLIENT_ID)
            if node is None:
                self.wakeup.set()
                continue
            try:
                self.stores.signals.notify(push.channel_of(node))
            except storage_errors.StorageError as exc:
                # Its node looks again within a second anyway.
                LOG.warning('Could not wake server process %s: %s', node,
                            exc)


def _queue_for(job: dict[str, Any]) -> str:
    """The queue of a job: its connection's node's, or the shared one."""
    found = push.parse(job['target']['subscriber'])
    return QUEUE if found is None else push.queue_of(found[0])

def confirmation(key: str, kind: str, source: str,
                 subscription: base.Subscription, project: str,
                 unsubscribe: bool, default_ttl: int) -> dict[str, Any]:
    """The document that asks a subscriber to confirm (or tells it it
    unsubscribed), with a pre-signed URL for the confirm call, as
    upstream sends it."""
    # The URL lives as long as the subscription (upstream: the default
    # subscription TTL after an unsubscribe).
    lifetime = default_ttl if unsubscribe else subscription['ttl']
    expires = (signed_url.utcnow() + datetime.timedelta(seconds=lifetime)
               ).strftime(signed_url.EXPIRES_FORMAT)
    action = 'topic_subscription_confirm' if kind == 'topics' \
        else 'subscription_confirm'
    path = registry.address(action, queue_name=source,
                            subscription_id=subscription['id'])
    noun = 'topic' if kind == 'topics' else 'queue'
    if unsubscribe:
        what = 'UnsubscribeConfirmation'
        text = f'You have unsubscribed successfully to the {noun}: {source}'
    else:
        what = 'SubscriptionConfirmation'
        text = f'You have chosen to subscribe to the {noun}: {source}'
    return {
        'Message_Type': what,
        'Message': text,
        'URL-Signature': signed_url.sign(key, [path], ['PUT'], project,
                                         expires),
        'URL-Methods': 'PUT',
        'URL-Paths': path,
        'X-Project-ID': project,
        'URL-Expires': expires,
        'SubscribeBody': {'confirmed': True},
        'UnsubscribeBody': {'confirmed': False},
        'queue_name': source,
    }
