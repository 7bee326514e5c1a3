"""Checks shared by the actions: parameters, ranges, names.

Parameters come as strings from a query string or as JSON values from a
WebSocket body; the getters accept both.

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
_INT_MIN, _INT_MAX = -2 ** 63, 2 ** 63 - 1


def _single(params: dict[str, Any], name: str) -> Any:
    value = params.get(name)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        # A repeated query key: the last one wins, as in most web
        # frameworks.
        value = value[-1] if value else None
    if value == '':
        # Blank values count as absent.
        return None
    return value


def _wrong_type(name: str, what: str) -> errors.BadRequest:
    return errors.invalid_parameter(
        f'The value of the "{name}" parameter must be {what}.')


def get_bool(params: dict[str, Any], name: str,
             default: bool = False) -> bool:
    """A boolean: JSON ``true``/``false``, or a word of a query string."""
    value = _single(params, name)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
    raise _wrong_type(name, 'a boolean')


def get_int(params: dict[str, Any], name: str,
            default: int | None = None) -> int | None:
    """An integer: a JSON integer, or the digits of a query string."""
    value = _single(params, name)
    if value is None:
        return default
    if is_int(value):
        if not _INT_MIN <= value <= _INT_MAX:
            raise _wrong_type(name, 'an integer')
        return value
    if not isinstance(value, str):
        raise _wrong_type(name, 'an integer')
    value = value.strip()
    if not value.removeprefix('-').isdigit() or not value.isascii() or \
            len(value) > 19:
        raise _wrong_type(name, 'an integer')
    return int(value)


def check_text(name: str, value: str) -> str:
    """``value`` of parameter ``name``, refused if it holds NUL, which
    not every store can hold (PostgreSQL text cannot)."""
    if '\x00' in value:
        raise _wrong_type(name, 'text without NUL characters')
    return value


def get_str(params: dict[str, Any], name: str) -> str | None:
    value = _single(params, name)
    if value is not None and not isinstance(value, str):
        raise _wrong_type(name, 'a string')
    return value if value is None else check_text(name, value)


def get_list(params: dict[str, Any], name: str) -> list[str] | None:
    """A list of strings: a JSON array, or a comma-separated (or
    repeated) query value; None when it lists nothing."""
    value = params.get(name)
    if value is None:
        return None
    parts = value if isinstance(value, list) else [value]
    if not all(isinstance(part, str) for part in parts):
        raise _wrong_type(name, 'a list of strings')
    items = [item.strip() for part in parts for item in part.split(',')]
    items = [check_text(name, item) for item in items if item]
    return items or None


_GETTERS = {bool: get_bool, int: get_int, str: get_str, list: get_list}


def typed(params: dict[str, Any], name: str, kind: type) -> Any:
    """Parameter ``name`` as ``kind`` (str, int, bool or list), None when
    absent or blank.

    Raises:
        BadRequest: the value is not of that type; the error names the
            parameter.
    """
    if kind is bool:
        value = _single(params, name)
        return None if value is None else get_bool(params, name)
    return _GETTERS[kind](params, name)


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


def page_params(params: dict[str, Any], maximum: int
                ) -> tuple[str | None, int, bool]:
    """``marker``, ``limit`` (1 to ``maximum``, 10 if absent) and
    ``detailed`` of a listing."""
    return (get_str(params, 'marker'),
            limit_param(params, 'limit', 10, maximum),
            get_bool(params, 'detailed'))


def check_queue_name(name: str, noun: str = 'queue') -> None:
    """``noun``: what the name names (``topic`` says so, as upstream)."""
    if not QUEUE_NAME.fullmatch(name):
        raise errors.BadRequest(
            f'The format of the submitted {noun} name or project id is not '
            f'valid.', title=f'Invalid {noun} identification')


def check_resource_name(name: str, noun: str) -> None:
    """The name of a pool or flavor: as a queue's (at most 64 letters,
    digits, ``_``, ``-`` and ``.``), so that every store holds it."""
    if not QUEUE_NAME.fullmatch(name):
        raise errors.BadRequest(
            f'The {noun} name must have 1 to 64 letters, digits, "_", "-" '
            f'or ".".', title=f'Invalid {noun} name')
