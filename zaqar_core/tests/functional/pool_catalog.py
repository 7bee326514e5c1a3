"""Helpers for the pools and flavors tests (``/v2/pools``, ``/v2/flavors``).

Pools are global, and a flavor name is unique across projects: a
:class:`Catalog` names its pools and flavors uniquely and deletes them at
the end, so tests on one backend's store never see each other's. Pools
point at real stores so that the server's connectivity check passes:
databases of a private Redis server, and SQLite files. Nothing listens on
:data:`UNREACHABLE`; no driver serves :data:`NO_DRIVER`.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from zaqar_testing.redis_servers import RedisServer

from .helpers import ApiClient
from .helpers import Server
from .helpers import assert_error
from .helpers import media_type
from .helpers import query_of

#: make_server() sections that turn the admin API on.
POOLING: dict[str, dict[str, Any]] = {
    'DEFAULT': {'admin_mode': True, 'pooling': True}}
ADMIN = {'X-Roles': 'admin'}
UNREACHABLE = 'redis://127.0.0.1:1'
NO_DRIVER = 'mongodb://127.0.0.1:27017'
POOL_KEYS = {'name', 'uri', 'weight', 'flavor', 'href'}
FLAVOR_KEYS = {'name', 'pool_list', 'capabilities', 'href'}
#: A policy file that opens every pool and flavor rule to anyone: an
#: operator's choice, for clients that send no roles.
OPEN_POLICY = ''.join(f'"{rule}": ""\n' for rule in (
    'pools:get_all', 'pools:create', 'pools:get', 'pools:update',
    'pools:delete', 'flavors:create', 'flavors:update', 'flavors:delete'))


def unique(kind: str) -> str:
    return f'{kind}-{uuid.uuid4().hex[:12]}'


class Catalog:
    """One server's pools and flavors, seen by an admin of one project.

    It names pools and flavors uniquely, hands out distinct reachable
    URIs, and deletes whatever it named in :meth:`cleanup`.
    """

    def __init__(self, server: Server, redis: RedisServer,
                 directory: Path) -> None:
        self.server = server
        self.api = self.admin()
        self.redis = redis
        self.directory = directory
        self.pools: list[str] = []
        self.flavors: list[tuple[ApiClient, str]] = []

    def admin(self, project_id: str | None = None) -> ApiClient:
        """An admin client, in a project of its own unless told."""
        return self.server.client(project_id=project_id,
                                  extra_headers=ADMIN)

    def pool_name(self, prefix: str = 'pool') -> str:
        name = unique(prefix)
        self.pools.append(name)
        return name

    def flavor_name(self, api: ApiClient | None = None) -> str:
        """A new flavor name, deleted at the end by ``api``'s project."""
        name = unique('flavor')
        self.flavors.append((api or self.api, name))
        return name

    def redis_uri(self, dbid: int | None = None) -> str:
        uri = f'redis://127.0.0.1:{self.redis.port}'
        return uri if dbid is None else f'{uri}?dbid={dbid}'

    def sqlite_uri(self) -> str:
        """A fresh SQLite file: as many distinct URIs as wanted."""
        return f'sqlite:///{self.directory / unique("pool")}.sqlite'

    def put_pool(self, name: str | None = None, uri: str | None = None,
                 weight: int = 10, **fields: Any) -> str:
        name = name or self.pool_name()
        body = {'uri': uri or self.sqlite_uri(), 'weight': weight, **fields}
        resp = self.api.put(f'/v2/pools/{name}', json=body)
        assert resp.status_code == 201, resp.text
        return name

    def pool(self, name: str, detailed: bool = False) -> dict:
        resp = self.api.get(f'/v2/pools/{name}',
                            params={'detailed': 'true'} if detailed else None)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def assert_no_pool(self, name: str) -> None:
        assert_error(self.api.get(f'/v2/pools/{name}'), 404)

    def put_flavor(self, pools: list[str], name: str | None = None,
                   api: ApiClient | None = None) -> str:
        api = api or self.api
        name = name or self.flavor_name(api)
        resp = api.put(f'/v2/flavors/{name}', json={'pool_list': pools})
        assert resp.status_code == 201, resp.text
        return name

    def flavor(self, name: str, api: ApiClient | None = None) -> dict:
        resp = (api or self.api).get(f'/v2/flavors/{name}')
        assert resp.status_code == 200, resp.text
        return resp.json()

    def assert_no_flavor(self, name: str,
                         api: ApiClient | None = None) -> None:
        assert_error((api or self.api).get(f'/v2/flavors/{name}'), 404)

    def cleanup(self) -> None:
        for api, name in self.flavors:
            api.delete(f'/v2/flavors/{name}')
        for name in self.pools:
            self.api.delete(f'/v2/pools/{name}')


def assert_created(resp: requests.Response, path: str) -> None:
    """201, ``Location`` naming ``path``, and no body."""
    assert resp.status_code == 201, resp.text
    assert urlsplit(resp.headers['Location']).path == path, resp.headers
    assert resp.content == b''


def walk(api: ApiClient, path: str, key: str,
         **params: str) -> list[list[dict]]:
    """Every page of a list, following ``next`` links through the first
    empty page, and checking each link on the way."""
    pages: list[list[dict]] = []
    resp = api.get(path, params=params)
    while True:
        assert resp.status_code == 200, resp.text
        assert media_type(resp) == 'application/json'
        body = resp.json()
        assert set(body) == {key, 'links'}, body
        pages.append(body[key])
        if not body[key]:
            assert body['links'] == [], body
            return pages
        [link] = body['links']
        assert link['rel'] == 'next', link
        href = urlsplit(link['href'])
        assert href.path == path, link
        query = query_of(link['href'])
        assert query.pop('marker') == [body[key][-1]['name']], link
        for name, value in params.items():
            assert query.pop(name) == [value], link
        # Nothing else; a default limit or detailed may be spelled out.
        assert set(query) <= {'limit', 'detailed'}, link
        assert len(pages) < 30, 'the next links never end'
        resp = api.get(f'{href.path}?{href.query}')


def names(pages: list[list[dict]]) -> list[list[str]]:
    return [[item['name'] for item in page] for page in pages]
