"""Message actions."""

import hashlib
import json
from collections.abc import Callable
from typing import TYPE_CHECKING
from typing import Any

from zaqar_core.api import encryption
from zaqar_core.api import errors
from zaqar_core.api import validation
from zaqar_core.api import waiting
from zaqar_core.api.request import Request
from zaqar_core.api.request import Result
from zaqar_core.api.seen_metadata import Seen
from zaqar_core.api.v2.registry import action
from zaqar_core.storage import base
from zaqar_core.storage import errors as storage_errors

if TYPE_CHECKING:
    from zaqar_core.api.service import Api

MESSAGES = '/v2/queues/{queue_name}/messages'
MESSAGE = MESSAGES + '/{message_id}'


def queue_metadata(api: 'Api', req: Request) -> dict:
    """The queue's stored metadata; ``{}`` when it does not exist."""
    try:
        return api.stores.queues.get_metadata(req.project_id,
                                              req.params['queue_name'])
    except storage_errors.QueueDoesNotExist:
        return {}


def _new_messages(api: 'Api', documents: list[Any], default_ttl: int,
                  delay: int | None) -> list[base.NewMessage]:
    """Check the posted messages; ``delay`` None means delays are off.

    The limits are read once per post, not per message, and checked
    inline: ``validation.check_range`` would format its refusal text for
    every message, refused or not.
    """
    limits = api.settings.transport
    min_ttl, max_ttl = limits.min_message_ttl, limits.max_message_ttl
    max_delay = limits.max_message_delay
    checksum = api.settings.enable_checksum
    messages = []
    for document in documents:
        # The shape of the document is the body's fault, as upstream
        # titles it.
        if not isinstance(document, dict):
            raise errors.invalid_body('Document type not supported.')
        if 'body' not in document:
            raise errors.invalid_body('Missing "body" field.')
        ttl = document.get('ttl', default_ttl)
        if not validation.is_int(ttl):
            raise errors.invalid_body('The value of the "ttl" field must be '
                                      'a int.')
        if not min_ttl <= ttl <= max_ttl:
            raise errors.BadRequest(
                f'The TTL for a message may not exceed {max_ttl} seconds, '
                f'and must be at least {min_ttl} seconds long.')
        message: base.NewMessage = {'body': document['body'], 'ttl': ttl,
                                    'delay': 0}
        if delay is not None:
            wanted = document.get('delay', delay)
            if not validation.is_int(wanted):
                raise errors.invalid_body('The value of the "delay" field '
                                          'must be a int.')
            if not 0 <= wanted <= max_delay:
                raise errors.BadRequest(
                    f'The delay for a message may not exceed {max_delay} '
                    f'seconds, and must be at least 0 seconds long.')
            message['delay'] = wanted
        if checksum:
            digest = hashlib.md5(json.dumps(document['body']).encode(),
                                 usedforsecurity=False).hexdigest()
            message['checksum'] = f'MD5:{digest}'
        messages.append(message)
    return messages


def shown(msg: base.Message, reveal: Callable[[Any], Any]
          ) -> dict[str, Any]:
    """A message as lists, gets and claims show it; ``reveal`` turns the
    stored body into the one to show (see
    :func:`zaqar_core.api.encryption.opener`)."""
    found = {'id': msg['id'], 'ttl': msg['ttl'], 'age': msg['age'],
             'body': reveal(msg['body']), 'claim_id': msg['claim_id']}
    if 'checksum' in msg:
        found['checksum'] = msg['checksum']
    return found


def popped(msg: base.Message, reveal: Callable[[Any], Any]
           ) -> dict[str, Any]:
    """A message as a pop returns it: with its claim count."""
    found = shown(msg, reveal)
    found['claim_count'] = msg['claim_count']
    return found


@action('message_post', 'messages:create', 'POST', MESSAGES, document=True,
        body_limit='max_messages_post_size',
        too_large='Message collection size is too large. Max size {limit}')
def message_post(api: 'Api', req: Request) -> Result:
    posted = api.seen_metadata.run(
        req.project_id, req.params['queue_name'],
        lambda seen, checked: _post(api, req, seen, checked))
    if posted.fan_out is not None:
        # Before the answer, so the client's next post notifies after.
        api.outbox.expand_posted(posted.fan_out)
    api.arrivals.announce(req.project_id, req.params['queue_name'])
    return Result(201, {'message_ids': posted.ids})


def _post(api: 'Api', req: Request, seen: Seen,
          checked: bool) -> base.Posted:
    """Check the posted messages against the queue's metadata as ``seen``
    and store them: on the condition that the metadata is still that if
    ``checked`` (else :class:`storage_errors.MetadataChanged`)."""
    limits = api.settings.transport
    name = req.params['queue_name']
    meta = seen.metadata
    max_size = meta.get('_max_messages_post_size')
    # The service-wide limit was checked before the body was read.
    if max_size and req.body_size > max_size:
        raise errors.BadRequest(f'Message collection size is too large. '
                                f'Max size {max_size}')
    if not isinstance(req.body, dict) or 'messages' not in req.body:
        raise errors.BadRequest('No messages were found in the request '
                                'body.')
    documents = req.body['messages']
    if not isinstance(documents, list):
        raise errors.invalid_body('Document type not supported.')
    if not documents:
        raise errors.BadRequest('No messages to enqueu.')
    default_ttl = meta.get('_default_message_ttl') or \
        limits.default_message_ttl
    # Per-message delays apply only in delayed queues.
    delay = meta.get('_default_message_delay') or None
    messages = _new_messages(api, documents, default_ttl, delay)
    # Sealed copies if the queue encrypts; ``messages`` stays plaintext.
    stored = encryption.seal(api.settings, req.project_id, meta, messages)
    if seen.text is None:
        # Queues are lazy; unlike upstream, bad input creates none. The
        # post goes on the metadata of no queue, whoever created it.
        api.stores.queues.create(req.project_id, name)
        checked = False
    # The notifications' fan-out job is stored with the messages, in one
    # atomic step: a crash cannot keep the one and lose the other.
    return api.stores.messages.post_counting_subscriptions(
        req.project_id, name, stored, req.client_id,
        api.outbox.fan_out(req.project_id, name, req.kind, meta),
        seen_metadata=seen.text if checked else None)


def _ids_param(api: 'Api', req: Request, name: str) -> list[str] | None:
    ids = validation.get_list(req.params, name)
    if ids is not None:
        limit = api.settings.transport.max_messages_per_page
        if len(ids) > limit:
            raise errors.BadRequest(f'Limit must be at least 1 and may not '
                                    f'be greater than {limit}.')
    return ids


@action('message_list', 'messages:get_all', 'GET', MESSAGES,
        query={'marker': str, 'limit': int, 'echo': bool,
               'include_claimed': bool, 'include_delayed': bool,
               waiting.PARAM: int})
def message_list(api: 'Api', req: Request) -> Result:
    name = req.params['queue_name']
    limit = validation.limit_param(
        req.params, 'limit', 10, api.settings.transport.max_messages_per_page)
    marker = validation.get_str(req.params, 'marker')
    echo = validation.get_bool(req.params, 'echo')
    include_claimed = validation.get_bool(req.params, 'include_claimed')
    include_delayed = validation.get_bool(req.params, 'include_delayed')
    wait = waiting.wait_param(api, req)

    def look() -> tuple[list[dict], str | None, dict[str, Any]]:
        forced: dict[str, Any] = {}
        delayed = include_delayed
        if not delayed and \
                not queue_metadata(api, req).get('_default_message_delay'):
            # Outside delayed queues, delays do not exist.
            delayed = True
            forced['include_delayed'] = True
        found, next_marker = api.stores.messages.list(
            req.project_id, name, marker, limit, echo, req.client_id,
            include_claimed, delayed)
        return found, next_marker, forced

    found, next_marker, forced = waiting.until_found(
        api, req, wait, look, lambda looked: bool(looked[0]))
    reveal = encryption.opener(api.settings, req.project_id)
    return Result(200, {'messages': [shown(m, reveal) for m in found]},
                  None if next_marker is None
                  else {**forced, 'marker': next_marker})


@action('message_get_many', 'messages:get_all', 'GET', MESSAGES,
        query={'ids': list})
def message_get_many(api: 'Api', req: Request) -> Result:
    name = req.params['queue_name']
    ids = _ids_param(api, req, 'ids') or []
    found = api.stores.messages.bulk_get(req.project_id, name, ids)
    if not found:
        raise errors.NotFound('No messages with the given ids were found.')
    reveal = encryption.opener(api.settings, req.project_id)
    return Result(200, {'messages': [shown(m, reveal) for m in found]})


@action('message_delete_many', 'messages:delete_all', 'DELETE', MESSAGES,
        query={'ids': list, 'claim_ids': list, 'pop': int})
def message_delete_many(api: 'Api', req: Request) -> Result:
    limits = api.settings.transport
    name = req.params['queue_name']
    ids = _ids_param(api, req, 'ids')
    pop = validation.get_int(req.params, 'pop')
    if ids is not None and pop is not None:
        raise errors.BadRequest('ids and pop may not be specified at the '
                                'same time.')
    if ids is None and pop is None:
        raise errors.BadRequest('ids or pop must be specified.')
    if pop is not None:
        validation.check_range(
            pop, 1, limits.max_messages_per_claim_or_pop,
            f'Pop value must be at least 1 and may not be greater than '
            f'{limits.max_messages_per_claim_or_pop}.')
        taken = api.stores.messages.pop(req.project_id, name, pop)
        reveal = encryption.opener(api.settings, req.project_id)
        return Result(200, {'messages': [popped(m, reveal)
                                         for m in taken]})
    claim_ids = None
    if limits.message_delete_with_claim_id:
        claim_ids = _ids_param(api, req, 'claim_ids')
        if claim_ids is None:
            raise errors.BadRequest('claim_ids must be specified with ids '
                                    'when message_delete_with_claim_id is '
                                    'on.')
    api.stores.messages.bulk_delete(req.project_id, name, ids, claim_ids)
    return Result(204)


@action('message_get', 'messages:get', 'GET', MESSAGE)
def message_get(api: 'Api', req: Request) -> Result:
    found = api.stores.messages.get(req.project_id, req.params['queue_name'],
                                    req.params['message_id'])
    return Result(200, shown(found,
                             encryption.opener(api.settings, req.project_id)))


@action('message_delete', 'messages:delete', 'DELETE', MESSAGE,
        query={'claim_id': str})
def message_delete(api: 'Api', req: Request) -> Result:
    name, claim_id = req.params['queue_name'], validation.get_str(
        req.params, 'claim_id')
    try:
        api.stores.messages.delete(req.project_id, name,
                                   req.params['message_id'], claim_id)
    except storage_errors.ClaimDoesNotMatch as exc:
        # Upstream answers a live claim of other messages with 403 (the
        # message is claimed), and only an unknown one with 400.
        try:
            api.stores.claims.get(req.project_id, name, claim_id or '')
        except storage_errors.ClaimDoesNotExist:
            raise exc from None
        raise storage_errors.MessageIsClaimed(
            req.params['message_id']) from exc
    return Result(204)
