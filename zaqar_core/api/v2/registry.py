"""The registry of v2 actions: name -> function, policy rule, checks.

Action names are the WebSocket action names (``queue_create``,
``message_post``, ...); the HTTP routes in ``routes.py`` name the same
actions, so both transports call one function.
"""

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING

from zaqar_core.api.request import Request
from zaqar_core.api.request import Result

if TYPE_CHECKING:
    from zaqar_core.api.service import Api

Handler = Callable[['Api', Request], Result]


@dataclasses.dataclass(frozen=True)
class Action:
    """One v2 action.

    Attributes:
        name: the action name.
        handler: the function that implements it.
        rule: the policy rule enforced before it runs (None: none).
        anonymous: runs without Client-ID and project (version list).
        body_limit: the ``[transport]`` option bounding the body size;
            None means :data:`DEFAULT_BODY_LIMIT`.
        too_large: the error description past that size (``{limit}`` is
            replaced by it).
        kind: the resource collection the action works on: ``queues``,
            or ``topics`` for the topic twins of queue actions.
    """

    name: str
    handler: Handler
    rule: str | None
    anonymous: bool = False
    body_limit: str | None = None
    too_large: str = 'Request body is too large. Max size: {limit}'
    kind: str = 'queues'


# Bodies of actions without a limit of their own (claims, purge) are tiny.
DEFAULT_BODY_LIMIT = 64 * 1024

ACTIONS: dict[str, Action] = {}


def action(name: str, rule: str | None, *, anonymous: bool = False,
           body_limit: str | None = None,
           too_large: str | None = None) -> Callable[[Handler], Handler]:
    """Register the decorated function as the action ``name``."""
    def register(handler: Handler) -> Handler:
        if name in ACTIONS:
            raise RuntimeError(f'action {name} registered twice')
        extra = {'too_large': too_large} if too_large else {}
        ACTIONS[name] = Action(name, handler, rule, anonymous, body_limit,
                               **extra)
        return handler
    return register


def alias(name: str, of: str, rule: str, kind: str) -> None:
    """Register ``name`` as action ``of`` under another rule and kind."""
    if name in ACTIONS:
        raise RuntimeError(f'action {name} registered twice')
    ACTIONS[name] = dataclasses.replace(ACTIONS[of], name=name, rule=rule,
                                        kind=kind)
