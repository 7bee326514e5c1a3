"""HTTP routes of the v2 API: path and method -> action name.

Built from the action registry: every action names its method and path
template. Where two actions share one (``GET .../messages`` lists, or
gets the messages its ``ids`` name), a chooser picks by the query.
Unknown paths give 404 and known paths with another method 405.
"""

import dataclasses
import re
from collections.abc import Callable
from collections.abc import Collection
from typing import Any

from zaqar_core.api import errors
from zaqar_core.api import validation
from zaqar_core.api.v2 import actions  # noqa: F401 (registers actions)
from zaqar_core.api.v2 import registry

Chooser = Callable[[dict[str, Any]], str]


def _by_ids(listing: str, getting: str) -> Chooser:
    def choose(query: dict[str, Any]) -> str:
        # GET .../messages lists, unless ids are given.
        if validation.get_list(query, 'ids') is not None:
            return getting
        return listing
    return choose


#: (path template, method) -> how to pick among the actions it serves.
CHOOSERS: dict[tuple[str, str], Chooser] = {
    (registry.ACTIONS[f'{p}message_list'].path, 'GET'): _by_ids(
        f'{p}message_list', f'{p}message_get_many')
    for p in ('', 'topic_')}


@dataclasses.dataclass(frozen=True)
class Route:
    template: str
    methods: dict[str, str | Chooser]
    requires: frozenset[str] = frozenset()
    pattern: re.Pattern = dataclasses.field(init=False, compare=False)

    def __post_init__(self) -> None:
        # Literal parts escaped: ``/v2/openapi.json`` has a dot.
        parts = re.split(r'\{(\w+)\}', self.template)
        regex = ''.join(f'(?P<{part}>[^/]+)' if index % 2
                        else re.escape(part)
                        for index, part in enumerate(parts))
        if self.template.endswith('/'):
            # ``/v2`` is ``/v2/``: clients drop the slash of a base URL.
            regex += '?'
        object.__setattr__(self, 'pattern', re.compile(f'^{regex}$'))


def _build() -> list[Route]:
    by_path: dict[str, dict[str, list[registry.Action]]] = {}
    for action in registry.ACTIONS.values():
        by_path.setdefault(action.path, {}).setdefault(
            action.method, []).append(action)
    routes = []
    for template, methods in by_path.items():
        targets: dict[str, str | Chooser] = {}
        for method, served in methods.items():
            if len(served) == 1:
                targets[method] = served[0].name
            else:
                targets[method] = CHOOSERS[(template, method)]
        # A route exists when one of its actions does.
        requires = frozenset.intersection(*(
            frozenset(a.requires) for m in methods.values() for a in m))
        routes.append(Route(template, targets, requires))
    return routes


ROUTES = _build()


def _find(path: str, switches: Collection[str]
          ) -> tuple[Route, re.Match] | None:
    for route in ROUTES:
        if not route.requires.issubset(switches):
            continue
        found = route.pattern.fullmatch(path)
        if found is not None:
            return route, found
    return None


def _not_found() -> errors.NotFound:
    return errors.NotFound('The resource could not be found.',
                           title='404 Not Found')


def allowed_methods(path: str, switches: Collection[str] = ()) -> list[str]:
    """The methods ``path`` answers, for OPTIONS.

    Raises:
        NotFound: no route has this path.
    """
    found = _find(path, switches)
    if found is None:
        raise _not_found()
    return sorted(found[0].methods)


def match(method: str, path: str, query: dict[str, Any],
          switches: Collection[str] = ()) -> tuple[str, dict[str, str]]:
    """The action for ``method`` on ``path``, and the path parameters.

    Raises:
        NotFound: no route has this path.
        MethodNotAllowed: the route exists but not for this method; its
            Allow header lists the methods that are.
    """
    found = _find(path, switches)
    if found is None:
        raise _not_found()
    route, params = found
    target = route.methods.get(method)
    if target is None:
        raise errors.MethodNotAllowed(
            f'{method} is not allowed on {route.template}.',
            headers={'Allow': ', '.join(sorted(route.methods))})
    name = target if isinstance(target, str) else target(query)
    return name, params.groupdict()
