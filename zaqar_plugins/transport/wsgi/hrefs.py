"""Relative hrefs of the REST representation."""

import urllib.parse
from typing import Any

PREFIX = '/v2'


# ``kind`` is the collection: ``queues``, or ``topics`` for a topic.


def collection(kind: str = 'queues') -> str:
    return f'{PREFIX}/{kind}'


def queue(name: str, kind: str = 'queues') -> str:
    return f'{collection(kind)}/{name}'


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


def pools() -> str:
    return f'{PREFIX}/pools'


def pool(name: str) -> str:
    return f'{pools()}/{name}'


def flavors() -> str:
    return f'{PREFIX}/flavors'


def flavor(name: str) -> str:
    return f'{flavors()}/{name}'


def _query_value(value: Any) -> Any:
    if isinstance(value, bool):
        return 'true' if value else 'false'
    return value


def next_link(path: str, query: dict[str, Any],
              page: dict[str, Any]) -> list[dict[str, str]]:
    """``links`` with the "next" page: the request's own ``query`` with
    the parameters of the next ``page`` (its marker...) over it."""
    merged = {k: v for k, v in query.items()
              if k != 'marker' and v not in (None, '')}
    merged.update({k: _query_value(v) for k, v in page.items()})
    return [{'rel': 'next',
             'href': f'{path}?{urllib.parse.urlencode(merged, doseq=True)}'}]
