"""The plain request an action takes and the result it returns."""

import dataclasses
from typing import Any

from oslo_context import context as oslo_context

from zaqar_core.api.signed_url import Signed


@dataclasses.dataclass
class Request:
    """One API call, whatever transport carried it.

    Attributes:
        project_id: the tenant (from X-Project-Id, or the Keystone token).
        client_id: the Client-ID header.
        params: path and query parameters; query values are strings, or
            lists of strings where a key was repeated.
        body: the decoded JSON body, or None when there was none.
        body_size: the size in bytes of the body as sent.
        content_type: the body's media type, without parameters.
        context: the oslo.context request context, for policy.
        signed: the URL-* headers, when the request claims a pre-signed
            URL; ``method`` and ``path`` are then checked against them.
        kind: ``queues``, or ``topics`` for the topic resources (which
            run the queue actions on the project's topic scope).
        tenant: the project as the client named it; set by the API
            service, which points ``project_id`` at the topic scope for
            topic actions.
    """

    project_id: str | None
    client_id: str | None
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    body: Any = None
    body_size: int = 0
    content_type: str = ''
    context: oslo_context.RequestContext | None = None
    signed: Signed | None = None
    method: str = ''
    path: str = ''
    kind: str = 'queues'
    tenant: str | None = None


@dataclasses.dataclass
class Result:
    """What an action answers: a status, a JSON-able body, headers."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
