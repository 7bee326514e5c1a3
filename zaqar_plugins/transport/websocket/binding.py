"""The WebSocket form of actions: a request's ``body`` to the action's
parameters and document, and a result back to a reply ``body``.

A WebSocket request carries everything in its body: the parameters that
REST puts in the path and query (``queue_name``, ``limit``...) and the
document REST sends as the request body. The parameters are the ones the
action declares (:mod:`zaqar_core.api.v2.registry`); what is left is the
document, except where upstream names it with a key of its own
(``queue_create``'s ``metadata``). Upstream's spellings are kept:
``message_ids`` for the ``ids`` of bulk gets and deletes.
"""

from __future__ import annotations

from typing import Any

from zaqar_core.api import errors
from zaqar_core.api import validation
from zaqar_core.api.request import Result
from zaqar_core.api.v2 import registry

# action (by its base) -> the body key holding its document.
DOCUMENT_KEYS = {'queue_create': 'metadata', 'queue_update': 'patch'}

# parameter -> the body keys that may carry it, preferred first.
_WIRE_NAMES = {'ids': ('message_ids', 'ids')}

# Actions whose REST request without a body is refused, and whose empty
# document asks for the defaults: a body holding no document keys is
# that empty document (a WebSocket request cannot leave its body out).
_EMPTY_DOCUMENT = frozenset(('queue_share', 'claim_update'))


def bind(action: registry.Action, body: dict[str, Any]
         ) -> tuple[dict[str, Any], Any]:
    """``(params, document)`` of a request body for ``action``.

    Raises:
        BadRequest: a key the action does not take, or a parameter of
            another type than it declares.
    """
    rest = dict(body)
    params: dict[str, Any] = {}
    for name in (*action.path_params, *action.query):
        for wire in _WIRE_NAMES.get(name, (name,)):
            if wire in rest:
                value = rest.pop(wire)
                # Typed here, so that an error names the body's key.
                params[name] = value if name not in action.query else \
                    validation.typed({wire: value}, wire, action.query[name])
                break
    document = None
    key = DOCUMENT_KEYS.get(action.base)
    if key is not None:
        document = rest.pop(key, None)
    elif action.document:
        # The remaining keys are the document; the action checks them.
        empty = {} if action.base in _EMPTY_DOCUMENT else None
        document, rest = (rest or empty), {}
    if rest:
        raise errors.BadRequest(
            f'Unknown field(s) for {action.name}: '
            f'{", ".join(sorted(map(str, rest)))}.',
            title='Invalid request body')
    return params, document


def reply_body(action: registry.Action, result: Result) -> Any:
    """The reply ``body`` for ``result``: the data itself, shaped as
    upstream shapes it where it differs, with the parameters of the next
    page as ``next`` for a listing."""
    body = result.body
    base = action.base
    if base == 'message_get':
        # Upstream answers one message under "messages".
        return {'messages': body}
    if base == 'claim_create' and result.status == 204:
        return {'claim_id': None, 'messages': []}
    if body is None:
        return {}
    if result.next is not None and isinstance(body, dict):
        body = dict(body, next=result.next)
    return body


def error_body(error: errors.ApiError) -> dict[str, Any]:
    """An error as a reply body: REST's title and description, and the
    description as ``error``, where python-zaqarclient reads it."""
    body = error.to_dict()
    body['error'] = body.get('description', body['title'])
    return body
