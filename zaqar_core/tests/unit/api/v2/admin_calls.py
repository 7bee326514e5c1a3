"""Calling API actions in-process as an admin of one project (the
``api`` and ``make_api`` fixtures of this directory's conftest give a
pooling server's API over real stores): what the pool and placement tests
share."""

from __future__ import annotations

import pytest
from oslo_context import context as oslo_context

from zaqar_core.api import errors
from zaqar_core.api.request import Request
from zaqar_core.api.request import Result
from zaqar_core.api.service import Api

CLIENT_ID = '3381af92-2b9e-11e3-b191-71861300734c'
PROJECT = 'project-a'


def call(api: Api, name: str, body: object = None, **params: str) -> Result:
    """Action ``name`` with ``body`` and path or query ``params``."""
    req = Request(project_id=PROJECT, client_id=CLIENT_ID,
                  params=dict(params), body=body,
                  body_size=0 if body is None else 64)
    req.context = oslo_context.RequestContext(project_id=PROJECT,
                                              roles=['admin'])
    return api.call(name, req)


def refused(api: Api, name: str, body: object = None,
            **params: str) -> errors.ApiError:
    """The API error action ``name`` answers with."""
    with pytest.raises(errors.ApiError) as caught:
        call(api, name, body, **params)
    return caught.value
