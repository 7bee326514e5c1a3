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


def _topic_by_ids(params: dict[str, Any]) -> str:
    return f'topic_{_by_ids(params)}'


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
# Topic routes name the topic queue_name too: topic actions run the queue
# actions (see zaqar_core.api.v2.topics).
_T = '/v2/topics/{queue_name}'

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
    Route(_Q + '/share', {'POST': 'queue_share'}),
    Route(_Q + '/messages', {'GET': _by_ids, 'POST': 'message_post',
                             'DELETE': 'message_delete_many'}),
    Route(_Q + '/messages/{message_id}', {'GET': 'message_get',
                                          'DELETE': 'message_delete'}),
    Route(_Q + '/claims', {'POST': 'claim_create'}),
    Route(_Q + '/claims/{claim_id}', {'GET': 'claim_get',
                                      'PATCH': 'claim_update',
                                      'DELETE': 'claim_delete'}),
    Route(_Q + '/subscriptions', {'GET': 'subscription_list',
                                  'POST': 'subscription_create'}),
    Route(_Q + '/subscriptions/{subscription_id}',
          {'GET': 'subscription_get', 'PATCH': 'subscription_update',
           'DELETE': 'subscription_delete'}),
    Route(_Q + '/subscriptions/{subscription_id}/confirm',
          {'PUT': 'subscription_confirm'}),
    Route('/v2/topics', {'GET': 'topic_list'}),
    Route(_T, {'GET': 'topic_get', 'PUT': 'topic_create',
               'PATCH': 'topic_update', 'DELETE': 'topic_delete'}),
    Route(_T + '/stats', {'GET': 'topic_get_stats'}),
    Route(_T + '/purge', {'POST': 'topic_purge'}),
    Route(_T + '/messages', {'GET': _topic_by_ids,
                             'POST': 'topic_message_post',
                             'DELETE': 'topic_message_delete_many'}),
    Route(_T + '/messages/{message_id}', {'GET': 'topic_message_get',
                                          'DELETE': 'topic_message_delete'}),
    Route(_T + '/subscriptions', {'GET': 'topic_subscription_list',
                                  'POST': 'topic_subscription_create'}),
    Route(_T + '/subscriptions/{subscription_id}',
          {'GET': 'topic_subscription_get',
           'PATCH': 'topic_subscription_update',
           'DELETE': 'topic_subscription_delete'}),
    Route(_T + '/subscriptions/{subscription_id}/confirm',
          {'PUT': 'topic_subscription_confirm'}),
]


def _find(path: str, admin_mode: bool) -> tuple[Route, re.Match] | None:
    for route in ROUTES:
        if route.admin_only and not admin_mode:
            continue
        found = route.pattern.fullmatch(path)
        if found is not None:
            return route, found
    return None


def _not_found() -> errors.NotFound:
    return errors.NotFound('The resource could not be found.',
                           title='404 Not Found')


def allowed_methods(path: str, admin_mode: bool = False) -> list[str]:
    """The methods ``path`` answers, for OPTIONS.

    Raises:
        NotFound: no route has this path.
    """
    found = _find(path, admin_mode)
    if found is None:
        raise _not_found()
    return sorted(found[0].methods)


def match(method: str, path: str, query: dict[str, Any],
          admin_mode: bool = False) -> tuple[str, dict[str, str]]:
    """The action for ``method`` on ``path``, and the path parameters.

    Raises:
        NotFound: no route has this path.
        MethodNotAllowed: the route exists but not for this method; its
            Allow header lists the methods that are.
    """
    found = _find(path, admin_mode)
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
