"""Claim actions."""

from typing import TYPE_CHECKING
from typing import Any

from zaqar_core.api import encryption
from zaqar_core.api import errors
from zaqar_core.api import validation
from zaqar_core.api import waiting
from zaqar_core.api.request import Request
from zaqar_core.api.request import Result
from zaqar_core.api.seen_metadata import Seen
from zaqar_core.api.v2 import messages
from zaqar_core.api.v2.registry import action
from zaqar_core.storage import base

if TYPE_CHECKING:
    from zaqar_core.api.service import Api

CLAIMS = '/v2/queues/{queue_name}/claims'
CLAIM = CLAIMS + '/{claim_id}'


def _int_field(body: dict, key: str, default: int) -> int:
    value: Any = body.get(key)
    if value is None:
        # python-zaqarclient sends null for what its caller left out.
        return default
    if not validation.is_int(value):
        raise errors.invalid_body(f'The value of the "{key}" field must be '
                                  f'a int.')
    return value


def _ttl_and_grace(api: 'Api', body: Any,
                   check_grace: bool = True) -> tuple[int, int]:
    limits = api.settings.transport
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise errors.invalid_body('Document type not supported.')
    ttl = validation.check_range(
        _int_field(body, 'ttl', limits.default_claim_ttl),
        limits.min_claim_ttl, limits.max_claim_ttl,
        f'The TTL for a claim may not exceed {limits.max_claim_ttl} '
        f'seconds, and must be at least {limits.min_claim_ttl} seconds '
        f'long.')
    grace = _int_field(body, 'grace', limits.default_claim_grace)
    # Renewals accept any grace up to the maximum, as upstream does.
    low = limits.min_claim_grace if check_grace else 0
    validation.check_range(
        grace, low, limits.max_claim_grace,
        f'The grace for a claim may not exceed {limits.max_claim_grace} '
        f'seconds, and must be at least {low} seconds long.')
    return ttl, grace


def _dead_letter(meta: dict) -> base.DeadLetter | None:
    if meta.get('_max_claim_count') and meta.get('_dead_letter_queue'):
        return {'max_claim_count': meta['_max_claim_count'],
                'queue': meta['_dead_letter_queue'],
                'ttl': meta.get('_dead_letter_queue_messages_ttl') or None}
    return None


@action('claim_create', 'claims:create', 'POST', CLAIMS, document=True,
        query={'limit': int, waiting.PARAM: int})
def claim_create(api: 'Api', req: Request) -> Result:
    name = req.params['queue_name']
    limit = validation.limit_param(
        req.params, 'limit', 10,
        api.settings.transport.max_messages_per_claim_or_pop)
    ttl, grace = _ttl_and_grace(api, req.body)
    wait = waiting.wait_param(api, req)

    def claim(seen: Seen, checked: bool
              ) -> tuple[base.DeadLetter | None, tuple] | None:
        if seen.text is None:
            # Claiming never creates a queue; a missing one has nothing
            # free.
            return None
        dead_letter = _dead_letter(seen.metadata)
        return dead_letter, api.stores.claims.create(
            req.project_id, name, ttl, grace, limit, dead_letter,
            seen_metadata=seen.text if checked else None)

    def look() -> tuple[str | None, list[dict]]:
        done = api.seen_metadata.run(req.project_id, name, claim)
        if done is None:
            return None, []
        dead_letter, (claim_id, claimed, moved) = done
        if moved and dead_letter is not None:
            # The dead-letter queue exists from its first message on.
            api.stores.queues.create(req.project_id, dead_letter['queue'])
            api.arrivals.announce(req.project_id, dead_letter['queue'])
        return claim_id, claimed

    claim_id, claimed = waiting.until_found(
        api, req, wait, look, lambda looked: looked[0] is not None)
    if claim_id is None:
        return Result(204)
    reveal = encryption.opener(api.settings, req.project_id)
    return Result(201, {
        'claim_id': claim_id,
        'messages': [messages.shown(m, reveal) for m in claimed]})


@action('claim_get', 'claims:get', 'GET', CLAIM)
def claim_get(api: 'Api', req: Request) -> Result:
    info, held = api.stores.claims.get(
        req.project_id, req.params['queue_name'], req.params['claim_id'])
    reveal = encryption.opener(api.settings, req.project_id)
    return Result(200, {
        'id': info['id'], 'age': info['age'], 'ttl': info['ttl'],
        'messages': [messages.shown(m, reveal) for m in held]})


@action('claim_update', 'claims:update', 'PATCH', CLAIM, document=True)
def claim_update(api: 'Api', req: Request) -> Result:
    if req.body is None:
        raise errors.invalid_body('Request body can not be empty')
    ttl, grace = _ttl_and_grace(api, req.body, check_grace=False)
    api.stores.claims.update(req.project_id, req.params['queue_name'],
                             req.params['claim_id'], ttl, grace)
    return Result(204)


@action('claim_delete', 'claims:delete', 'DELETE', CLAIM)
def claim_delete(api: 'Api', req: Request) -> Result:
    api.stores.claims.delete(req.project_id, req.params['queue_name'],
                             req.params['claim_id'])
    # What it held is free again.
    api.arrivals.announce(req.project_id, req.params['queue_name'])
    return Result(204)
