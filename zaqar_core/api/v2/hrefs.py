"""Relative hrefs and representations shared by the v2 actions."""

import datetime
import urllib.parse
from collections.abc import Callable
from typing import Any

from zaqar_core.storage import base

PREFIX = '/v2'


# ``kind`` is the collection: ``queues``, or ``topics`` for a topic.


def queue(name: str, kind: str = 'queues') -> str:
    return f'{PREFIX}/{kind}/{name}'


def messages(name: str, kind: str = 'queues') -> str:
    return f'{queue(name, kind)}/messages'


def message(name: str, message_id: str, claim_id: str | None = None,
            kind: str = 'queues') -> str:
    href = f'{messages(name, kind)}/{message_id}'
    # python-zaqarclient reads the claim id as the last query value.
    return f'{href}?claim_id={claim_id}' if claim_id else href


def claim(name: str, claim_id: str) -> str:
    return f'{queue(name)}/claims/{claim_id}'


def subscriptions(name: str, kind: str = 'queues') -> str:
    return f'{queue(name, kind)}/subscriptions'


def next_link(path: str, params: dict[str, Any], marker: str,
              **forced: str) -> list[dict[str, str]]:
    """``links`` with a "next" page after ``marker``, echoing ``params``."""
    query = {k: v for k, v in params.items()
             if k not in ('marker', 'queue_name') and v not in (None, '')}
    query.update(forced)
    query['marker'] = marker
    return [{'rel': 'next',
             'href': f'{path}?{urllib.parse.urlencode(query, doseq=True)}'}]


def render_message(queue_name: str, msg: base.Message,
                   reveal: Callable[[Any], Any],
                   kind: str = 'queues') -> dict[str, Any]:
    """A message as GET, list and claim responses show it; ``reveal``
    turns the stored body into the one to show (see
    :func:`zaqar_core.api.encryption.opener`)."""
    shown = {'id': msg['id'],
             'href': message(queue_name, msg['id'], msg['claim_id'], kind),
             'ttl': msg['ttl'], 'age': msg['age'],
             'body': reveal(msg['body'])}
    if 'checksum' in msg:
        shown['checksum'] = msg['checksum']
    return shown


def render_popped(msg: base.Message,
                  reveal: Callable[[Any], Any]) -> dict[str, Any]:
    """A message as a pop returns it (storage form, no href)."""
    shown = {'id': msg['id'], 'age': msg['age'], 'ttl': msg['ttl'],
             'body': reveal(msg['body']), 'claim_id': msg['claim_id'],
             'claim_count': msg['claim_count']}
    if 'checksum' in msg:
        shown['checksum'] = msg['checksum']
    return shown


def isotime(epoch: float) -> str:
    moment = datetime.datetime.fromtimestamp(epoch, datetime.UTC)
    return moment.strftime('%Y-%m-%dT%H:%M:%SZ')
