"""Checks shared by the actions: query parameters, ranges, names.

Bodies are checked by each action, next to the limits that come from
configuration, with upstream's error texts (clients and tests match
them).
"""

import re
from typing import Any

from zaqar_core.api import errors
from zaqar_core.notification import retry

QUEUE_NAME = re.compile(r'^[a-zA-Z0-9_\-.]{1,64}$')
MAX_PROJECT_ID = 256

_TRUE = frozenset(('true', 'True', 'TRUE', '1', 'yes', 'on', 'y', 't'))
_FALSE = frozenset(('false', 'False', 'FALSE', '0', 'no', 'off', 'n', 'f'))


def _single(params: dict[str, Any], name: str) -> str | None:
    value = params.get(name)
    if isinstance(value, list):
        # A repeated key: the last one wins, as in most web frameworks.
        value = value[-1] if value else None
    if value == '':
        # Blank values count as absent.
        return None
    return value


def get_bool(params: dict[str, Any], name: str,
             default: bool = False) -> bool:
    value = _single(params, name)
    if value is None:
        return default
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise errors.invalid_parameter(
        f'The value of the "{name}" query parameter must be a boolean.')


def get_int(params: dict[str, Any], name: str,
            default: int | None = None) -> int | None:
    value = _single(params, name)
    if value is None:
        return default
    value = value.strip()
    if not value.removeprefix('-').isdigit() or not value.isascii() or \
            len(value) > 19:
        raise errors.invalid_parameter(
            f'The value of the "{name}" query parameter must be an '
            f'integer.')
    return int(value)


def get_str(params: dict[str, Any], name: str) -> str | None:
    return _single(params, name)


def get_list(params: dict[str, Any], name: str) -> list[str] | None:
    """A comma-separated (or repeated) parameter as a list, or None."""
    value = params.get(name)
    if value is None:
        return None
    parts = value if isinstance(value, list) else [value]
    items = [item.strip() for part in parts for item in part.split(',')]
    items = [item for item in items if item]
    return items or None


def is_int(value: Any) -> bool:
    """An integer of JSON: ``true`` and ``false`` are not."""
    return isinstance(value, int) and not isinstance(value, bool)


def check_retry_policy(document: dict[str, Any]) -> None:
    """Refuse a bad ``_retry_policy`` in queue metadata or subscription
    options."""
    if retry.KEY in document:
        try:
            retry.validate(document[retry.KEY])
        except ValueError as exc:
            raise errors.BadRequest(str(exc)) from None


def check_range(value: int, low: int, high: int, message: str) -> int:
    if not low <= value <= high:
        raise errors.BadRequest(message)
    return value


def limit_param(params: dict[str, Any], name: str, default: int,
                maximum: int) -> int:
    limit = get_int(params, name, default)
    return check_range(
        limit, 1, maximum,
        f'Limit must be at least 1 and no greater than {maximum}.')


def check_queue_name(name: str) -> None:
    if not QUEUE_NAME.fullmatch(name):
        raise errors.BadRequest(
            'The format of the submitted queue name or project id is not '
            'valid.', title='Invalid queue identification')
