"""The registry of v2 actions: name -> function, policy rule, inputs.

Action names are the WebSocket action names (``queue_create``,
``message_post``, ...). Each action also has its resource address: the
method and path template of its REST route. Transports find actions here
(the HTTP routes are built from these addresses, the WebSocket envelope
names the action), and the API uses the address to check pre-signed
URLs, which sign paths.

Inputs are declared, so that every transport passes the same ones:

* path parameters, named in the path template (``{queue_name}``);
* ``query``: optional parameters and their types (strings from a query
  string, JSON values from a WebSocket body; :mod:`.params` converts);
* the *document*: a JSON body, for actions that take one.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from collections.abc import Mapping
from typing import TYPE_CHECKING
from typing import Any

from zaqar_core.api.request import Request
from zaqar_core.api.request import Result

if TYPE_CHECKING:
    from zaqar_core.api.service import Api

Handler = Callable[['Api', Request], Result]

#: Types a declared parameter may have.
PARAM_TYPES = (str, int, bool, list)

_PATH_PARAM = re.compile(r'\{(\w+)\}')


@dataclasses.dataclass(frozen=True)
class Action:
    """One v2 action.

    Attributes:
        name: the action name.
        handler: the function that implements it.
        rule: the policy rule enforced before it runs (None: none).
        method: the HTTP method of its REST route.
        path: the path template of its REST route.
        query: optional parameters by name, with their types.
        document: whether it takes a JSON document (the request body).
        anonymous: runs without Client-ID and project (version list).
        requires: the ``[DEFAULT]`` switches without which it does not
            exist (:data:`ADMIN`, :data:`POOLING`).
        body_limit: the ``[transport]`` option bounding the body size;
            None means :data:`DEFAULT_BODY_LIMIT`.
        too_large: the error description past that size (``{limit}`` is
            replaced by it).
        kind: the resource collection the action works on: ``queues``,
            or ``topics`` for the topic twins of queue actions.
        base: the action whose handler this is (itself, but for the
            topic twins).
    """

    name: str
    handler: Handler
    rule: str | None
    method: str
    path: str
    query: Mapping[str, type] = dataclasses.field(default_factory=dict)
    document: bool = False
    anonymous: bool = False
    requires: tuple[str, ...] = ()
    body_limit: str | None = None
    too_large: str = 'Request body is too large. Max size: {limit}'
    kind: str = 'queues'
    base: str = ''

    @property
    def path_params(self) -> tuple[str, ...]:
        """The parameters the path template names, in order."""
        return tuple(_PATH_PARAM.findall(self.path))

    def address(self, params: Mapping[str, str]) -> str:
        """The concrete path for ``params`` (which hold every path
        parameter)."""
        return _PATH_PARAM.sub(lambda found: params[found.group(1)],
                               self.path)


#: The ``[DEFAULT]`` switches an action may require: admin actions exist
#: with ``admin_mode``, pools and flavors with ``pooling`` too (upstream).
ADMIN = ('admin_mode',)
POOLING = ('admin_mode', 'pooling')
SWITCHES = ('admin_mode', 'pooling')


def switches(conf: Any) -> frozenset[str]:
    """The switches ``conf`` turns on."""
    return frozenset(name for name in SWITCHES if conf[name])


def exists(entry: Action, on: frozenset[str]) -> bool:
    """Whether ``entry`` exists with the switches ``on``."""
    return on.issuperset(entry.requires)


# Bodies of actions without a limit of their own (claims, purge) are tiny.
DEFAULT_BODY_LIMIT = 64 * 1024

ACTIONS: dict[str, Action] = {}


def largest_body(limits: Any) -> int:
    """The largest request body (bytes) that any action accepts under
    ``limits``, the ``[transport]`` options."""
    return max([DEFAULT_BODY_LIMIT] + [
        limits[entry.body_limit] for entry in ACTIONS.values()
        if entry.body_limit is not None])


def action(name: str, rule: str | None, method: str, path: str, *,
           query: Mapping[str, type] | None = None, document: bool = False,
           anonymous: bool = False, requires: tuple[str, ...] = (),
           body_limit: str | None = None,
           too_large: str | None = None) -> Callable[[Handler], Handler]:
    """Register the decorated function as the action ``name``."""
    def register(handler: Handler) -> Handler:
        extra = {'too_large': too_large} if too_large else {}
        _add(Action(name, handler, rule, method, path, dict(query or {}),
                    document, anonymous, requires, body_limit, base=name,
                    **extra))
        return handler
    return register


def alias(name: str, of: str, rule: str, kind: str) -> None:
    """Register ``name`` as action ``of`` under another rule and kind
    (its path names ``kind`` where ``of``'s names ``queues``)."""
    original = ACTIONS[of]
    _add(dataclasses.replace(
        original, name=name, rule=rule, kind=kind,
        path=original.path.replace('/queues', f'/{kind}', 1)))


def _add(entry: Action) -> None:
    if entry.name in ACTIONS:
        raise RuntimeError(f'action {entry.name} registered twice')
    for name, kind in entry.query.items():
        if kind not in PARAM_TYPES or name in entry.path_params:
            raise RuntimeError(f'action {entry.name}: bad parameter {name}')
    ACTIONS[entry.name] = entry


def address(name: str, **params: str) -> str:
    """The path of action ``name`` for ``params``: the resource address
    pre-signed URLs and confirmation documents name."""
    return ACTIONS[name].address(params)
