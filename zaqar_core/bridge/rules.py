"""What the bridge makes of one notification: whether to take it, whose
project it belongs to, which queue it goes to, and the message body.

Pure functions of the notification and the ``[bridge]`` options, so they
are tested without a bus or a store.
"""

import dataclasses
import fnmatch
import re
import string
from typing import Any

from oslo_config import cfg

# Placeholders a queue name template may use.
TEMPLATE_FIELDS = frozenset(('event_type', 'service', 'publisher_id'))

MAX_QUEUE_NAME = 64
_NOT_IN_QUEUE_NAME = re.compile(r'[^a-zA-Z0-9_\-.]')

# Where a project id may be, most telling first. The payload names the
# owner of the resource; the context names whoever made the request,
# which is an administrator's project when an admin acts on a user's
# server, so the payload wins.
_PAYLOAD_KEYS = ('tenant_id', 'project_id')
_CONTEXT_KEYS = ('project_id', 'tenant_id', 'project', 'tenant')
# Versioned notifications (Nova, Cinder...) wrap the fields in an object.
_VERSIONED_DATA_SUFFIX = '_object.data'


class ConfigError(ValueError):
    """``[bridge]`` options that cannot work."""


class TemplateError(ConfigError):
    """The queue name template uses something other than its fields."""


def check_template(template: str) -> None:
    """Refuse a template with unknown, indexed or formatted fields.

    Raises:
        TemplateError: what is wrong with it.
    """
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise TemplateError(f'queue_name "{template}": {exc}') from None
    for _, field, spec, conversion in parts:
        if field is None:
            continue
        # Attribute and index lookups would reach into Python objects.
        if field not in TEMPLATE_FIELDS or spec or conversion:
            raise TemplateError(
                f'queue_name "{template}": unknown field "{{{field}}}"; '
                f'use {", ".join(sorted(TEMPLATE_FIELDS))}.')


def sanitize_queue_name(name: str) -> str:
    """``name`` made valid: bad characters become ``_``, cut to 64."""
    cleaned = _NOT_IN_QUEUE_NAME.sub('_', name)[:MAX_QUEUE_NAME]
    return cleaned or '_'


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def project_of(ctxt: dict | None, payload: Any) -> str | None:
    """The project a notification belongs to, or None."""
    if isinstance(payload, dict):
        candidates = [payload] + [
            value for key, value in payload.items()
            if isinstance(key, str) and key.endswith(_VERSIONED_DATA_SUFFIX)
            and isinstance(value, dict)]
        for source in candidates:
            for key in _PAYLOAD_KEYS:
                if _text(source.get(key)):
                    return source[key]
    for key in _CONTEXT_KEYS:
        if isinstance(ctxt, dict) and _text(ctxt.get(key)):
            return ctxt[key]
    return None


@dataclasses.dataclass(frozen=True)
class Rules:
    """The ``[bridge]`` options that decide what happens to a
    notification."""

    queue_name: str = 'cloud-events'
    event_types: tuple[str, ...] = ('*',)
    exclude_event_types: tuple[str, ...] = ()
    payload_fields: tuple[str, ...] = ()
    message_ttl: int = 3600
    default_project: str | None = None

    def __post_init__(self) -> None:
        check_template(self.queue_name)

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts) -> 'Rules':
        group = conf.bridge
        return cls(queue_name=group.queue_name,
                   event_types=tuple(group.event_types),
                   exclude_event_types=tuple(group.exclude_event_types),
                   payload_fields=tuple(group.payload_fields),
                   message_ttl=group.message_ttl,
                   default_project=group.default_project or None)

    def accepts(self, event_type: str) -> bool:
        """Whether ``event_type`` is to be bridged."""
        def matches(patterns: tuple[str, ...]) -> bool:
            return any(fnmatch.fnmatchcase(event_type, p) for p in patterns)
        return matches(self.event_types) and \
            not matches(self.exclude_event_types)

    def project(self, ctxt: dict | None, payload: Any) -> str | None:
        """The notification's project, else ``default_project``."""
        return project_of(ctxt, payload) or self.default_project

    def queue(self, event_type: str, publisher_id: str) -> str:
        """The queue name for this notification, always a valid one."""
        name = self.queue_name.format(
            event_type=event_type, publisher_id=publisher_id,
            service=event_type.split('.', 1)[0])
        return sanitize_queue_name(name)

    def shape_payload(self, payload: Any) -> Any:
        """The payload as the message carries it."""
        if not self.payload_fields:
            return payload
        if not isinstance(payload, dict):
            # Nothing to pick from, and nothing else may leak.
            return {}
        return {k: payload[k] for k in self.payload_fields if k in payload}

    def message(self, priority: str, publisher_id: str, event_type: str,
                payload: Any, metadata: dict) -> dict[str, Any]:
        """The message to post (``{"ttl", "body"}``)."""
        return {'ttl': self.message_ttl, 'body': {
            'event_type': event_type,
            'publisher_id': publisher_id,
            'priority': priority,
            'timestamp': metadata.get('timestamp'),
            'message_id': metadata.get('message_id'),
            'payload': self.shape_payload(payload),
        }}
