"""HTTP routes of the v2 API: path template and method -> action name.

Transports over HTTP match a request here and call the action through
:class:`zaqar_core.api.service.Api`; unknown paths give 404 and known paths
with another method 405.
"""

import dataclasses
import re
from collections.abc import Callable
from typing import Any

from zaqar_core.api import errors
from zaqar_core.api import validation

Chooser = Callable[[dict[str, Any]], str]


def _by_ids(params: dict[str, Any]) -> str:
    # GET .../messages lists, unless ids are given.
    if validation.get_list(params, 'ids') is not None:
        return 'message_get_many'
    return 'message_list'


@dataclasses.dataclass(frozen=True)
class Route:
    template: str
    methods: dict[str, str | Chooser]
    admin_only: bool = False
    pattern: re.Pattern = dataclasses.field(init=False, compare=False)

    def __post_init__(self) -> None:
        regex = re.sub(r'\{(\w+)\}', r'(?P<\1>[^/]+)', self.template)
        object.__setattr__(self, 'pattern', re.compile(f'^{regex}$'))


_Q = '/v2/queues/{queue_name}'

ROUTES = [
    Route('/', {'GET': 'get_versions'}),
    Route('/v2/', {'GET': 'get_home_doc'}),
    Route('/v2/ping', {'GET': 'ping_node', 'HEAD': 'ping_node_head'}),
    Route('/v2/health', {'GET': 'check_node_health'}, admin_only=True),
    Route('/v2/queues', {'GET': 'queue_list'}),
    Route(_Q, {'GET': 'queue_get', 'PUT': 'queue_create',
               'PATCH': 'queue_update', 'DELETE': 'queue_delete'}),
    Route(_Q + '/stats', {'GET': 'queue_get_stats'}),
    Route(_Q + '/purge', {'POST': 'queue_purge'}),
    Route(_Q + '/messages', {'GET': _by_ids, 'POST': 'message_post',
                             'DELETE': 'message_delete_many'}),
    Route(_Q + '/messages/{message_id}', {'GET': 'message_get',
                                          'DELETE': 'message_delete'}),
    Route(_Q + '/claims', {'POST': 'claim_create'}),
    Route(_Q + '/claims/{claim_id}', {'GET': 'claim_get',
                                      'PATCH': 'claim_update',
                                      'DELETE': 'claim_delete'}),
]


def match(method: str, path: str, query: dict[str, Any],
          admin_mode: bool = False) -> tuple[str, dict[str, str]]:
    """The action for ``method`` on ``path``, and the path parameters.

    Raises:
        NotFound: no route has this path.
        MethodNotAllowed: the route exists but not for this method; its
            Allow header lists the methods that are.
    """
    for route in ROUTES:
        if route.admin_only and not admin_mode:
            continue
        found = route.pattern.match(path)
        if found is None:
            continue
        target = route.methods.get(method)
        if target is None:
            allowed = ', '.join(sorted(route.methods))
            raise errors.MethodNotAllowed(
                f'{method} is not allowed on {route.template}.',
                headers={'Allow': allowed})
        name = target if isinstance(target, str) else target(query)
        return name, found.groupdict()
    raise errors.NotFound('The resource could not be found.',
                          title='404 Not Found')
