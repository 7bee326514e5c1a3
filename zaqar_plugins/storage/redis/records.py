"""How a message is stored, and the clock every time comes from.

A record is ``<client id>\\n<created> <checksum or -> <body JSON>``: the
client id comes first so that scripts can filter a listing by it without
parsing the rest (client ids are printable, so they hold no newline).
Expiry, claim and delay state live in the queue's sorted sets.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from zaqar_core import jsontext
from zaqar_core.storage import base
from zaqar_core.storage import ids


def now() -> float:
    return time.time()


def new_claim_id() -> str:
    return uuid.uuid4().hex


def pack(client_uuid: str, created: float, message: base.NewMessage) -> str:
    return (f'{client_uuid}\n{created!r} {message.get("checksum") or "-"} '
            f'{jsontext.dumps(message["body"])}')


def unpack(at: float, entry: list[Any],
           codec: ids.MessageIds) -> base.Message:
    """A message from a script's ``{number, record, expires, claim id,
    claim count}`` entry, its number shown through ``codec``; the claim
    id is ``''`` when no live claim holds it."""
    number, record, expires, claim_id, count = entry
    client_uuid, _, rest = record.partition('\n')
    created_text, checksum, body = rest.split(' ', 2)
    created = float(created_text)
    message: base.Message = {
        'id': codec.encode(int(number)),
        'ttl': round(float(expires) - created),
        'age': max(0, int(at - created)),
        'body': json.loads(body),
        'claim_id': claim_id or None,
        'claim_count': int(count),
        'client_uuid': client_uuid,
    }
    if checksum != '-':
        message['checksum'] = checksum
    return message


def created_of(record: str) -> float:
    return float(record.partition('\n')[2].split(' ', 1)[0])
