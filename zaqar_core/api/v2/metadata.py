"""Queue metadata: reserved keys, their defaults and checks, and the
JSON-patch subset that ``queue_update`` applies."""

from typing import Any

from oslo_config import cfg

from zaqar_core.api import errors
from zaqar_core.api import validation


def defaults(conf: cfg.ConfigOpts) -> dict[str, Any]:
    """Reserved keys and the value shown when a queue leaves them unset."""
    limits = conf.transport
    return {
        '_max_messages_post_size': limits.max_messages_post_size,
        '_default_message_ttl': limits.default_message_ttl,
        '_default_message_delay': limits.default_message_delay,
        '_dead_letter_queue': None,
        '_dead_letter_queue_messages_ttl': None,
        '_max_claim_count': None,
        '_enable_encrypt_messages': False,
    }


# The reserved keys a topic shows: topics have no claims, so no
# dead-letter keys; their bodies are not encrypted.
_TOPIC_KEYS = ('_max_messages_post_size', '_default_message_ttl',
               '_default_message_delay')


def with_defaults(conf: cfg.ConfigOpts, metadata: dict,
                  kind: str = 'queues') -> dict:
    """``metadata`` with every unset (falsy) reserved key at its default
    (of a queue, or of a topic with ``kind='topics'``)."""
    shown = dict(metadata)
    for key, value in defaults(conf).items():
        if kind == 'topics' and key not in _TOPIC_KEYS:
            continue
        if not shown.get(key):
            shown[key] = value
    return shown


def _int_in(metadata: dict, key: str, low: int, high: int,
            message: str) -> None:
    value = metadata.get(key)
    if not value:
        # Falsy values mean "unset" (upstream shows the default for them).
        return
    if not validation.is_int(value):
        raise errors.BadRequest(f'{key} must be integer.')
    if not low <= value <= high:
        raise errors.BadRequest(f'{key}: {message}')


def validate(conf: cfg.ConfigOpts, metadata: Any) -> None:
    """Check a whole metadata document (after PUT, or after a PATCH)."""
    if not isinstance(metadata, dict):
        raise errors.invalid_body('Queue metadata must be a JSON object.')
    limits = conf.transport
    post_size = metadata.get('_max_messages_post_size')
    # Unlike the other keys, 0 is refused here: it would block every post.
    if post_size is not None and (
            not validation.is_int(post_size) or
            not 0 < post_size <= limits.max_messages_post_size):
        raise errors.BadRequest(
            f'_max_messages_post_size can not exceed '
            f'{limits.max_messages_post_size}, and must be at least greater '
            f'than 0.')
    ttl_message = (f'The TTL for a message may not exceed '
                   f'{limits.max_message_ttl} seconds, and must be at least '
                   f'{limits.min_message_ttl} seconds long.')
    _int_in(metadata, '_default_message_ttl', limits.min_message_ttl,
            limits.max_message_ttl, ttl_message)
    _int_in(metadata, '_dead_letter_queue_messages_ttl',
            limits.min_message_ttl, limits.max_message_ttl, ttl_message)
    _int_in(metadata, '_default_message_delay', 0, limits.max_message_delay,
            f'The TTL can not exceed {limits.max_message_delay} seconds, '
            f'and must be at least 0 seconds long.')
    _int_in(metadata, '_max_claim_count', 0, 2 ** 31 - 1,
            '_max_claim_count must be a positive integer.')
    encrypt = metadata.get('_enable_encrypt_messages')
    if encrypt and not isinstance(encrypt, bool):
        raise errors.BadRequest('_enable_encrypt_messages must be boolean.')
    dead_letter = metadata.get('_dead_letter_queue')
    if dead_letter:
        if not isinstance(dead_letter, str):
            raise errors.BadRequest('_dead_letter_queue must be a string.')
        validation.check_queue_name(dead_letter)
    validation.check_retry_policy(metadata)


def _pointer_key(path: Any) -> str:
    """The metadata key a JSON pointer ``/metadata/<key>`` names."""
    if not isinstance(path, str) or not path.startswith('/'):
        raise errors.BadRequest(f'Invalid path: {path!r}. A path must be '
                                f'a JSON pointer "/metadata/<key>".')
    tokens = path[1:].split('/')
    if len(tokens) != 2 or tokens[0].lower() != 'metadata' or \
            not tokens[1]:
        raise errors.BadRequest(f'Invalid path: {path}. A path must be '
                                f'"/metadata/<key>".')
    key = tokens[1]
    # RFC 6901: "~1" is "/", "~0" is "~"; any other "~" is malformed.
    if '~' in key.replace('~0', '').replace('~1', ''):
        raise errors.BadRequest(f'Invalid path: {path}. Bad escape.')
    return key.replace('~1', '/').replace('~0', '~')


def apply_patch(conf: cfg.ConfigOpts, metadata: dict, ops: Any) -> dict:
    """``metadata`` with the add/remove/replace operations ``ops`` applied.

    Raises:
        BadRequest: the document is not a non-empty list of valid ops.
        Conflict: replace or remove of a missing, non-reserved key.
    """
    if not isinstance(ops, list):
        raise errors.invalid_body(
            'A PATCH body must be a JSON array of operations.')
    if not ops:
        raise errors.BadRequest('PATCH body could not be empty for update.')
    reserved = defaults(conf)
    result = dict(metadata)
    for op in ops:
        if not isinstance(op, dict) or 'op' not in op:
            raise errors.BadRequest('Each operation must be an object with '
                                    'an "op" field.')
        name = op['op']
        if name not in ('add', 'remove', 'replace'):
            raise errors.BadRequest(f'Invalid operation: `{name}`. It '
                                    f'must be one of add, remove, replace.')
        if 'path' not in op:
            raise errors.BadRequest(f'Missing "path" in a "{name}" '
                                    f'operation.')
        key = _pointer_key(op['path'])
        if name in ('add', 'replace') and 'value' not in op:
            raise errors.BadRequest(f'Missing "value" in a "{name}" '
                                    f'operation.')
        if name == 'add':
            result[key] = op['value']
        elif name == 'replace':
            if key not in result and key not in reserved:
                raise errors.Conflict(
                    f"Can't replace non-existent object {key}.")
            result[key] = op['value']
        elif key in result:
            del result[key]
        elif key not in reserved:
            raise errors.Conflict(f"Can't remove non-existent object {key}.")
    return result
