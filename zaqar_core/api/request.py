"""The plain request an action takes and the result it returns."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING
from typing import Any

from oslo_context import context as oslo_context

from zaqar_core.api.signed_url import Signed

if TYPE_CHECKING:
    from zaqar_core.notification.hub import Connection


@dataclasses.dataclass
class Request:
    """One API call, whatever transport carried it.

    Attributes:
        project_id: the tenant (from X-Project-Id, or the Keystone token).
        client_id: the Client-ID header.
        params: path and optional parameters: strings (or lists of
            strings, for a repeated key) from a query string, JSON values
            from a WebSocket body; the API turns the declared ones into
            their types before the action runs.
        body: the decoded JSON body, or None when there was none.
        body_size: the size in bytes of the body as sent.
        context: the oslo.context request context, for policy.
        signed: the URL-* headers, when the request claims a pre-signed
            URL; the action's method and path are checked against them.
        method: the action's HTTP method (set by the API).
        path: the action's resource path (set by the API).
        kind: ``queues``, or ``topics`` for the topic resources (which
            run the queue actions on the project's topic scope).
        tenant: the project as the client named it; set by the API
            service, which points ``project_id`` at the topic scope for
            topic actions.
        connection: the connection the request came on, for transports
            that can push to it (WebSocket): ``subscription_create``
            without a subscriber subscribes it.
    """

    project_id: str | None
    client_id: str | None
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    body: Any = None
    body_size: int = 0
    context: oslo_context.RequestContext | None = None
    signed: Signed | None = None
    method: str = ''
    path: str = ''
    kind: str = 'queues'
    tenant: str | None = None
    connection: Connection | None = None


@dataclasses.dataclass
class Result:
    """What an action answers, as data: each transport renders it (REST
    adds hrefs, links and headers; WebSocket wraps it in its envelope).

    Attributes:
        status: the outcome, as an HTTP-style status (201 created, 204
            nothing to show...).
        body: JSON-able data, or None.
        next: for a page of a listing, the parameters that fetch the next
            page (``marker`` and any the action fixed); None when there
            is no next page.
    """

    status: int = 200
    body: Any = None
    next: dict[str, Any] | None = None
