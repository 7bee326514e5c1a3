"""The pools admin API (``/v2/pools``) over HTTP, and the routes' switch.

The servers run with ``admin_mode`` and ``pooling`` on; admin calls send
``X-Roles: admin``. Each test names its own pools and deletes them (see
:mod:`.pool_catalog`). The flavors side is in :mod:`.test_flavors`.

Pools that hold queues: :mod:`.test_pool_placement` (two servers over
three pools) and the unit tests ``test_pools.py`` and ``test_placement.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from zaqar_testing.redis_servers import RedisServer

from .helpers import Server
from .helpers import assert_error
from .helpers import query_of
from .helpers import same_store
from .pool_catalog import ADMIN
from .pool_catalog import NO_DRIVER
from .pool_catalog import POOL_KEYS
from .pool_catalog import POOLING
from .pool_catalog import UNREACHABLE
from .pool_catalog import Catalog
from .pool_catalog import assert_created
from .pool_catalog import names
from .pool_catalog import unique
from .pool_catalog import walk

ON_SQLITE = pytest.mark.parametrize('backend', ['sqlite'], indirect=True)


# -- routes exist only in admin mode with pooling ---------------------------

@ON_SQLITE
@pytest.mark.parametrize('flags', [{'admin_mode': True}, {'pooling': True}],
                         ids=['admin_mode-only', 'pooling-only'])
def test_routes_need_admin_mode_and_pooling(
        make_server: Callable[..., Server], flags: dict) -> None:
    api = make_server(DEFAULT=flags).client(extra_headers=ADMIN)
    for method, path, body in (
            ('GET', '/v2/pools', None),
            ('PUT', '/v2/pools/p', {'uri': UNREACHABLE, 'weight': 1}),
            ('GET', '/v2/pools/p', None), ('DELETE', '/v2/pools/p', None),
            ('GET', '/v2/flavors', None),
            ('PUT', '/v2/flavors/f', {'pool_list': ['p']}),
            ('GET', '/v2/flavors/f', None)):
        assert_error(api.request(method, path, json=body), 404)


# -- pools ------------------------------------------------------------------

def test_fresh_store_has_no_pools_and_pages_them_by_name(
        make_server: Callable[..., Server], redis_target: RedisServer,
        tmp_path: Path) -> None:
    server = make_server(private_store=True, **POOLING)
    catalog = Catalog(server, redis_target, tmp_path)
    assert walk(catalog.api, '/v2/pools', 'pools') == [[]]
    prefix = unique('page')
    shuffled = (7, 3, 11, 0, 9, 1, 4, 10, 2, 5, 8, 6)
    made = [catalog.put_pool(f'{prefix}-{n:02d}') for n in shuffled]
    ordered = sorted(made)
    first = catalog.api.get('/v2/pools').json()
    assert [p['name'] for p in first['pools']] == ordered[:10]
    assert query_of(first['links'][0]['href'])['marker'] == [ordered[9]]
    pages = walk(catalog.api, '/v2/pools', 'pools', limit='5')
    assert names(pages) == [ordered[:5], ordered[5:10], ordered[10:], []]
    for pool in pages[0]:
        assert set(pool) == POOL_KEYS, pool
        assert pool['href'] == f'/v2/pools/{pool["name"]}'
        assert (pool['weight'], pool['flavor']) == (10, None)
    assert names(walk(catalog.api, '/v2/pools', 'pools', limit='20')) == \
        [ordered, []]
    detailed = walk(catalog.api, '/v2/pools', 'pools', limit='2',
                    detailed='true')
    assert sum(names(detailed), []) == ordered
    assert all(set(p) == POOL_KEYS | {'options'} for p in detailed[0])


def test_every_pool_listed_once_across_pages(catalog: Catalog) -> None:
    # The store may hold other tests' pools: ours, in order, each once.
    made = sorted(catalog.put_pool() for _ in range(5))
    seen = sum(names(walk(catalog.api, '/v2/pools', 'pools', limit='2')),
               [])
    assert seen == sorted(set(seen))
    assert [n for n in seen if n in made] == made


@pytest.mark.parametrize('limit', ['0', '21', '-1', 'ten'])
def test_pool_list_limit_out_of_range_is_400(catalog: Catalog,
                                             limit: str) -> None:
    assert_error(catalog.api.get('/v2/pools', params={'limit': limit}), 400)


def test_create_show_and_overwrite_a_pool(catalog: Catalog) -> None:
    name, uri = catalog.pool_name(), catalog.redis_uri(dbid=2)
    resp = catalog.api.put(f'/v2/pools/{name}', json={
        'uri': uri, 'weight': 10, 'options': {'max_retry_sleep': 1}})
    assert_created(resp, f'/v2/pools/{name}')
    href = f'/v2/pools/{name}'
    assert catalog.pool(name) == {'name': name, 'uri': uri, 'weight': 10,
                                  'flavor': None, 'href': href}
    assert catalog.pool(name, detailed=True)['options'] == {
        'max_retry_sleep': 1}
    # PUT again replaces the whole pool, even what it leaves out.
    flavor = unique('flavor')
    resp = catalog.api.put(f'/v2/pools/{name}', json={
        'uri': uri, 'weight': 3, 'flavor': flavor})
    assert_created(resp, href)
    assert catalog.pool(name, detailed=True) == {
        'name': name, 'uri': uri, 'weight': 3, 'flavor': flavor,
        'options': {}, 'href': href}
    resp = catalog.api.put(href, json={'uri': uri, 'weight': 4})
    assert_created(resp, href)
    assert catalog.pool(name)['flavor'] is None


@pytest.mark.parametrize('kind', ['redis', 'redis-dbid', 'sqlite', 'store'])
def test_reachable_uris_are_stored_verbatim(catalog: Catalog, pooled: Server,
                                            kind: str) -> None:
    [store] = [s['uri'] for name, s in same_store(pooled).items()
               if name.startswith('drivers:management_store:')]
    uris = {'redis': [catalog.redis_uri()],
            'redis-dbid': [catalog.redis_uri(5)],
            'sqlite': [catalog.sqlite_uri()],
            # The backend's own store: postgresql+psycopg2://,
            # mysql+pymysql://, redis+cluster://... and, where it names a
            # dialect driver, the plain postgresql:// too.
            'store': list(dict.fromkeys([
                store, store.replace('postgresql+psycopg2:', 'postgresql:',
                                     1)]))}[kind]
    for uri in uris:
        name = catalog.pool_name()
        resp = catalog.api.put(f'/v2/pools/{name}',
                               json={'uri': uri, 'weight': 1})
        assert resp.status_code == 201, (uri, resp.text)
        assert catalog.pool(name)['uri'] == uri
        # One at a time: the two spellings name one database.
        assert catalog.api.delete(f'/v2/pools/{name}').status_code == 204


@pytest.mark.parametrize('uri', [
    NO_DRIVER, UNREACHABLE, 'redis://127.0.0.1:1?dbid=3',
    'postgresql://nobody@127.0.0.1:1/none', 'nonsense'],
    ids=['mongodb', 'redis-closed-port', 'redis-dbid-closed-port',
         'postgresql-closed-port', 'no-scheme'])
def test_unusable_uri_is_400_and_stores_nothing(catalog: Catalog,
                                                uri: str) -> None:
    name = catalog.pool_name()
    started = time.monotonic()
    resp = catalog.api.put(f'/v2/pools/{name}',
                           json={'uri': uri, 'weight': 10})
    body = assert_error(resp, 400)
    assert any(word in body['description'].lower()
               for word in ('connect', 'driver')), body
    # About a second to give up, with room for a loaded machine.
    assert time.monotonic() - started < 15
    catalog.assert_no_pool(name)


def bad_pool_bodies(uri: str) -> list[Any]:
    return [
        {'weight': 10}, {'uri': uri},
        {'uri': uri, 'weight': True}, {'uri': uri, 'weight': 1.0},
        {'uri': uri, 'weight': -1}, {'uri': uri, 'weight': 2**32},
        {'uri': uri, 'weight': '10'}, {'uri': uri, 'weight': None},
        {'uri': 'redis://' + 'a' * 248, 'weight': 10},
        {'uri': 5, 'weight': 10},
        {'uri': uri, 'weight': 10, 'group': 'g'},
        {'uri': uri, 'weight': 10, 'options': [1]},
        {'uri': uri, 'weight': 10, 'flavor': 5},
        [], 'pool', None,
    ]


def test_invalid_pool_body_is_400_and_stores_nothing(catalog: Catalog
                                                     ) -> None:
    uri = catalog.sqlite_uri()
    for body in bad_pool_bodies(uri):
        name = catalog.pool_name()
        resp = catalog.api.put(f'/v2/pools/{name}', json=body)
        assert resp.status_code == 400, (body, resp.text)
        assert_error(resp, 400)
        catalog.assert_no_pool(name)
    name = catalog.pool_name()
    assert_error(catalog.api.put(f'/v2/pools/{name}', data='{"uri":'), 400)
    catalog.assert_no_pool(name)


def test_pool_name_rules(catalog: Catalog) -> None:
    longest = catalog.pool_name()
    longest += 'x' * (64 - len(longest))
    catalog.pools.append(longest)
    assert catalog.pool(catalog.put_pool(longest))['name'] == longest
    # Queue names' rule: dots are letters too.
    dotted = catalog.pool_name() + '.v2'
    catalog.pools.append(dotted)
    assert catalog.pool(catalog.put_pool(dotted))['name'] == dotted
    for bad in (longest + 'y', 'white%20space', 'at%40sign', 'caf%C3%A9'):
        resp = catalog.api.put(f'/v2/pools/{bad}',
                               json={'uri': catalog.sqlite_uri(),
                                     'weight': 1})
        if resp.status_code == 201:
            catalog.pools.append(bad)
        assert resp.status_code == 400, (bad, resp.text)
        assert_error(resp, 400)
    assert_error(catalog.api.get(f'/v2/pools/{longest}y'), (400, 404))


@pytest.mark.parametrize('weight', [0, 2**31, 2**32 - 1])
def test_weight_bounds_are_kept(catalog: Catalog, weight: int) -> None:
    name = catalog.put_pool(weight=weight)
    assert catalog.pool(name)['weight'] == weight
    resp = catalog.api.patch(f'/v2/pools/{name}', json={'weight': weight})
    assert resp.status_code == 200, resp.text


def test_another_pools_uri_is_409(catalog: Catalog) -> None:
    uri = catalog.redis_uri(dbid=7)
    first = catalog.put_pool(uri=uri)
    second = catalog.pool_name()
    resp = catalog.api.put(f'/v2/pools/{second}',
                           json={'uri': uri, 'weight': 1})
    assert_error(resp, 409)
    catalog.assert_no_pool(second)
    # Its own URI is no conflict for the pool that holds it.
    assert catalog.put_pool(first, uri=uri, weight=2) == first
    third = catalog.put_pool()
    before = catalog.pool(third)
    assert_error(catalog.api.patch(f'/v2/pools/{third}', json={'uri': uri}),
                 409)
    assert catalog.pool(third) == before


def test_missing_pool_is_404_and_delete_is_idempotent(catalog: Catalog
                                                      ) -> None:
    name = catalog.pool_name()
    catalog.assert_no_pool(name)
    assert_error(catalog.api.patch(f'/v2/pools/{name}', json={'weight': 1}),
                 404)
    catalog.put_pool(name)
    for _ in range(2):
        resp = catalog.api.delete(f'/v2/pools/{name}')
        assert resp.status_code == 204, resp.text
        assert resp.content == b''
        catalog.assert_no_pool(name)


def test_patch_pool_fields(catalog: Catalog) -> None:
    name = catalog.put_pool(options={'a': 1})
    href = f'/v2/pools/{name}'
    resp = catalog.api.patch(href, json={'weight': 20})
    assert resp.status_code == 200, resp.text
    assert resp.json() == {**catalog.pool(name), 'weight': 20}
    assert set(resp.json()) == POOL_KEYS
    assert resp.json()['href'] == href
    flavor = unique('flavor')
    new_uri = catalog.redis_uri(dbid=9)
    for patch, field, want in (
            ({'options': {'b': 2}}, 'options', {'b': 2}),
            ({'flavor': flavor}, 'flavor', flavor),
            ({'flavor': ''}, 'flavor', None),
            ({'uri': new_uri}, 'uri', new_uri)):
        resp = catalog.api.patch(href, json=patch)
        assert resp.status_code == 200, (patch, resp.text)
        assert catalog.pool(name, detailed=True)[field] == want, patch
    assert catalog.pool(name)['weight'] == 20


@pytest.mark.parametrize('body', [
    {}, {'color': 'red'}, {'weight': 1, 'group': 'g'}, {'weight': -1},
    {'weight': True}, {'weight': 2**32}, {'uri': 5}, {'options': [1]},
    {'flavor': 5}, [], None], ids=repr)
def test_invalid_pool_patch_is_400_and_changes_nothing(catalog: Catalog,
                                                       body: Any) -> None:
    name = catalog.put_pool()
    before = catalog.pool(name, detailed=True)
    assert_error(catalog.api.patch(f'/v2/pools/{name}', json=body), 400)
    assert catalog.pool(name, detailed=True) == before


def test_unusable_uri_leaves_an_existing_pool_alone(catalog: Catalog
                                                    ) -> None:
    name = catalog.put_pool(options={'a': 1})
    before = catalog.pool(name, detailed=True)
    for uri in (UNREACHABLE, NO_DRIVER):
        for method in ('PUT', 'PATCH'):
            resp = catalog.api.request(method, f'/v2/pools/{name}',
                                       json={'uri': uri, 'weight': 99})
            assert resp.status_code == 400, (method, uri, resp.text)
            assert_error(resp, 400)
            assert catalog.pool(name, detailed=True) == before


def test_uri_of_255_characters_is_accepted(catalog: Catalog,
                                           tmp_path: Path) -> None:
    prefix = f'sqlite:///{tmp_path}/'
    uri = prefix + 'x' * (255 - len(prefix) - len('.sqlite')) + '.sqlite'
    assert len(uri) == 255
    assert catalog.pool(catalog.put_pool(uri=uri))['uri'] == uri
    name = catalog.pool_name()
    resp = catalog.api.put(f'/v2/pools/{name}',
                           json={'uri': uri[:-7] + 'y.sqlite', 'weight': 1})
    assert_error(resp, 400)
    catalog.assert_no_pool(name)


def test_weight_patch_skips_the_connectivity_check(
        catalog: Catalog, tmp_path: Path) -> None:
    doomed = RedisServer(tmp_path / 'doomed').start()
    try:
        name = catalog.put_pool(uri=doomed.uri)
    finally:
        doomed.stop()
    resp = catalog.api.patch(f'/v2/pools/{name}', json={'weight': 30})
    assert resp.status_code == 200, resp.text
    # The URI is checked whenever it is sent, even unchanged.
    assert_error(catalog.api.patch(f'/v2/pools/{name}',
                                   json={'uri': doomed.uri}), 400)
    assert catalog.pool(name) == {
        'name': name, 'uri': doomed.uri, 'weight': 30, 'flavor': None,
        'href': f'/v2/pools/{name}'}


@pytest.mark.parametrize('roles', [None, 'member,reader'])
def test_pools_are_admin_only(catalog: Catalog, pooled: Server,
                              roles: str | None) -> None:
    name = catalog.put_pool()
    before = catalog.pool(name)
    other = catalog.pool_name()
    api = pooled.client(extra_headers={'X-Roles': roles} if roles else {})
    for method, path, body in (
            ('GET', '/v2/pools', None), ('GET', f'/v2/pools/{name}', None),
            ('PUT', f'/v2/pools/{other}',
             {'uri': catalog.sqlite_uri(), 'weight': 1}),
            ('PATCH', f'/v2/pools/{name}', {'weight': 99}),
            ('DELETE', f'/v2/pools/{name}', None)):
        assert_error(api.request(method, path, json=body), 403)
    assert catalog.pool(name) == before
    catalog.assert_no_pool(other)


def test_health_reports_each_pool_and_answers_with_one_down(
        catalog: Catalog, tmp_path: Path) -> None:
    doomed = RedisServer(tmp_path / 'doomed').start()
    try:
        down = catalog.put_pool(uri=doomed.uri)
        up = catalog.put_pool()
        resp = catalog.api.get('/v2/health')
        assert resp.status_code == 200, resp.text
        probed = resp.json()['pools'][down]
        assert probed['storage_reachable'] is True
        # Upstream's write probe, in the pool itself.
        status = probed['operation_status']
        assert status['post_messages']['succeeded'] is True
        assert status['claim_messages']['succeeded'] is True
        assert 'create_queue' not in status
    finally:
        doomed.stop()
    started = time.monotonic()
    resp = catalog.api.get('/v2/health')
    elapsed = time.monotonic() - started
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body['catalog_reachable'] is True
    assert body['pools'][up]['storage_reachable'] is True
    assert 'operation_status' in body['pools'][up]
    assert body['pools'][down]['storage_reachable'] is False
    assert 'operation_status' not in body['pools'][down]
    assert f'The pool {down} ({doomed.uri})' in \
        body['pools'][down]['problem']
    # The configured stores answer: their probe still runs.
    assert body['storage_reachable'] is True
    assert 'operation_status' in body
    assert elapsed < 5, elapsed
    catalog.api.delete(f'/v2/pools/{down}')
    resp = catalog.api.get('/v2/health')
    assert down not in resp.json()['pools']
