"""Long polling, an extension of the v2 API: a listing of messages or a
claim that finds nothing may ``wait`` up to that many seconds for messages
to arrive, and answers as soon as some do (see :mod:`.arrivals`).

Without ``wait`` (or with ``wait=0``) a request answers at once, as
upstream's do. ``wait`` is a query parameter of ``GET .../messages`` and
``POST .../claims``, 0 to ``[transport] max_message_wait`` seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING
from typing import TypeVar

from zaqar_core.api import validation
from zaqar_core.api.request import Request

if TYPE_CHECKING:
    from zaqar_core.api.service import Api

T = TypeVar('T')

#: The query parameter.
PARAM = 'wait'


def wait_param(api: Api, req: Request) -> int:
    """Seconds the request may wait: 0 when it does not ask to."""
    wait = validation.get_int(req.params, PARAM, 0)
    if not wait:
        return 0
    # Only a request that asks to wait pays for the option and the text.
    longest = api.settings.transport.max_message_wait
    return validation.check_range(
        wait, 0, longest,
        f'Wait must be at least 0 and no greater than {longest} seconds.'
        if longest else 'This server does not wait for messages: wait '
                        'must be 0.')


def until_found(api: Api, req: Request, seconds: int, look: Callable[[], T],
                found: Callable[[T], bool]) -> T:
    """``look()`` at the request's queue, and again each time messages may
    have arrived there, until ``found`` says it found some or ``seconds``
    have passed; what it found last.

    Raises:
        TooManyRequests: the process holds as many waiting requests as it
            may (before anything is looked at).
    """
    if not seconds:
        return look()
    deadline = time.monotonic() + seconds
    with api.arrivals.waiter(req.project_id,
                             req.params['queue_name']) as waiter:
        while True:
            result = look()
            left = deadline - time.monotonic()
            if found(result) or left <= 0 or api.arrivals.stopping:
                return result
            with api.gate.stepped_out():
                waiter.sleep(left)
