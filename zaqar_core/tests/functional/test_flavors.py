"""The flavors admin API (``/v2/flavors``) over HTTP.

Flavors belong to a project, but a flavor name is unique across projects.
A flavor's pools are the pools tagged with it, whichever side tagged them:
a flavor PUT or PATCH, or a pool PUT or PATCH with ``"flavor"``. Each test
names its own pools and flavors and deletes them (see
:mod:`.pool_catalog`); the servers run with ``admin_mode`` and
``pooling`` on.
"""

from __future__ import annotations

from typing import Any

import pytest

from .helpers import ApiClient
from .helpers import Server
from .helpers import assert_error
from .pool_catalog import FLAVOR_KEYS
from .pool_catalog import Catalog
from .pool_catalog import assert_created
from .pool_catalog import names
from .pool_catalog import unique
from .pool_catalog import walk


def flavor_of(catalog: Catalog, pool: str) -> str | None:
    return catalog.pool(pool)['flavor']


def test_create_and_show_a_flavor(catalog: Catalog) -> None:
    first, second = sorted(catalog.put_pool() for _ in range(2))
    name = catalog.flavor_name()
    href = f'/v2/flavors/{name}'
    resp = catalog.api.put(href, json={
        'pool_list': [second, first], 'capabilities': {'fifo': True}})
    assert_created(resp, href)
    shown = catalog.flavor(name)
    assert set(shown) == FLAVOR_KEYS, shown
    assert (shown['name'], shown['href']) == (name, href)
    assert shown['pool_list'] == [first, second]
    assert isinstance(shown['capabilities'], list), shown
    assert all(isinstance(c, str) for c in shown['capabilities']), shown
    assert flavor_of(catalog, first) == flavor_of(catalog, second) == name


def test_put_on_a_flavor_replaces_its_pools(catalog: Catalog) -> None:
    old, kept, new = (catalog.put_pool() for _ in range(3))
    name = catalog.put_flavor([old, kept])
    resp = catalog.api.put(f'/v2/flavors/{name}',
                           json={'pool_list': [kept, new]})
    assert_created(resp, f'/v2/flavors/{name}')
    assert catalog.flavor(name)['pool_list'] == sorted([kept, new])
    assert flavor_of(catalog, old) is None
    assert flavor_of(catalog, kept) == flavor_of(catalog, new) == name


def test_unknown_pool_is_400_naming_it_and_changes_nothing(
        catalog: Catalog) -> None:
    pool, missing = catalog.put_pool(), unique('missing')
    name = catalog.flavor_name()
    body = assert_error(catalog.api.put(
        f'/v2/flavors/{name}', json={'pool_list': [pool, missing]}), 400)
    assert missing in body['description'], body
    catalog.assert_no_flavor(name)
    assert flavor_of(catalog, pool) is None
    # On an existing flavor neither PUT nor PATCH moves anything.
    catalog.put_flavor([pool], name)
    other = catalog.put_pool()
    for method in ('PUT', 'PATCH'):
        resp = catalog.api.request(method, f'/v2/flavors/{name}',
                                   json={'pool_list': [other, missing]})
        assert missing in assert_error(resp, 400)['description']
        assert catalog.flavor(name)['pool_list'] == [pool]
        assert flavor_of(catalog, other) is None


@pytest.mark.parametrize('body', [
    {}, {'pool_list': []}, {'pool_list': None}, {'pool_list': 'pool'},
    {'pool_list': [5]}, {'pool_list': [['pool']]},
    {'pool_list': '<pool>', 'pool_group': 'g'}, {'capabilities': {}},
    {'pool_list': '<pool>', 'capabilities': ['fifo']},
    [], None], ids=repr)
def test_invalid_flavor_body_is_400_and_changes_nothing(
        catalog: Catalog, body: Any) -> None:
    pool = catalog.put_pool()
    if isinstance(body, dict) and body.get('pool_list') == '<pool>':
        body = {**body, 'pool_list': [pool]}  # valid but for one key
    name = catalog.flavor_name()
    assert_error(catalog.api.put(f'/v2/flavors/{name}', json=body), 400)
    catalog.assert_no_flavor(name)
    assert flavor_of(catalog, pool) is None


def test_patch_a_flavor(catalog: Catalog) -> None:
    old, new = catalog.put_pool(), catalog.put_pool()
    name = catalog.put_flavor([old])
    href = f'/v2/flavors/{name}'
    resp = catalog.api.patch(href, json={'pool_list': [new]})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert set(body) == FLAVOR_KEYS, body
    assert (body['name'], body['pool_list'], body['href']) == \
        (name, [new], href)
    assert isinstance(body['capabilities'], list), body
    assert catalog.flavor(name)['pool_list'] == [new]
    assert (flavor_of(catalog, old), flavor_of(catalog, new)) == (None, name)
    for bad in ({}, {'pool_list': []}, {'pool_list': None}):
        assert_error(catalog.api.patch(href, json=bad), 400)
    assert catalog.flavor(name)['pool_list'] == [new]
    assert_error(catalog.api.patch(f'/v2/flavors/{unique("missing")}',
                                   json={'pool_list': [new]}), 404)


def test_delete_a_flavor_untags_its_pools(catalog: Catalog) -> None:
    pools = [catalog.put_pool() for _ in range(2)]
    name = catalog.put_flavor(pools)
    for _ in range(2):
        resp = catalog.api.delete(f'/v2/flavors/{name}')
        assert resp.status_code == 204, resp.text
        assert resp.content == b''
        catalog.assert_no_flavor(name)
    assert [flavor_of(catalog, pool) for pool in pools] == [None, None]


def test_tagging_pools_moves_them_in_and_out_of_flavors(
        catalog: Catalog) -> None:
    first = catalog.put_pool()
    name = catalog.put_flavor([first])
    # A pool PUT or PATCH naming the flavor adds the pool...
    second = catalog.put_pool(flavor=name)
    third = catalog.put_pool()
    patched = catalog.api.patch(f'/v2/pools/{third}', json={'flavor': name})
    assert patched.status_code == 200, patched.text
    assert catalog.flavor(name)['pool_list'] == sorted([first, second,
                                                         third])
    # ...and untagging, or tagging with another flavor, takes it out.
    untag = catalog.api.patch(f'/v2/pools/{first}', json={'flavor': ''})
    assert untag.status_code == 200, untag.text
    catalog.put_pool(second, uri=catalog.pool(second)['uri'],
                     flavor=unique('elsewhere'))
    assert catalog.flavor(name)['pool_list'] == [third]


def test_pool_tagged_before_its_flavor_exists(catalog: Catalog) -> None:
    name = catalog.flavor_name()
    pool = catalog.put_pool(flavor=name)
    assert flavor_of(catalog, pool) == name
    catalog.assert_no_flavor(name)
    catalog.put_flavor([pool], name)
    assert catalog.flavor(name)['pool_list'] == [pool]


def test_flavors_are_listed_per_project_in_pages(catalog: Catalog) -> None:
    # A project of its own: its list holds exactly its flavors.
    api = catalog.admin()
    prefix = unique('page')
    made = []
    for n in (3, 0, 4, 1, 2):
        pool = catalog.put_pool()
        name = f'{prefix}-{n}'
        catalog.flavors.append((api, name))
        made.append((catalog.put_flavor([pool], name, api=api), pool))
    made.sort()
    ordered = [name for name, _ in made]
    pages = walk(api, '/v2/flavors', 'flavors', limit='2')
    assert names(pages) == [ordered[:2], ordered[2:4], ordered[4:], []]
    for flavor, (name, pool) in zip(sum(pages, []), made, strict=True):
        assert flavor == {'name': name, 'href': f'/v2/flavors/{name}',
                          'pool_list': [pool]}
    detailed = sum(walk(api, '/v2/flavors', 'flavors', limit='20',
                        detailed='true'), [])
    assert [f['name'] for f in detailed] == ordered
    assert all(set(f) == {'name', 'href', 'pool_list', 'capabilities'}
               for f in detailed), detailed
    # A flavor whose pools all left lists without pool_list.
    untag = catalog.api.patch(f'/v2/pools/{made[0][1]}', json={'flavor': ''})
    assert untag.status_code == 200, untag.text
    [emptied, *_] = api.get('/v2/flavors').json()['flavors']
    assert emptied == {'name': ordered[0],
                       'href': f'/v2/flavors/{ordered[0]}'}
    assert walk(catalog.admin(), '/v2/flavors', 'flavors') == [[]]
    for limit in ('0', '21', 'x'):
        assert_error(api.get('/v2/flavors', params={'limit': limit}), 400)


def test_other_projects_cannot_see_or_take_a_flavor(catalog: Catalog
                                                    ) -> None:
    pool = catalog.put_pool()
    name = catalog.put_flavor([pool])
    other = catalog.admin()
    their_pool = catalog.put_pool()
    resp = other.put(f'/v2/flavors/{name}', json={'pool_list': [their_pool]})
    assert_error(resp, 409)
    assert flavor_of(catalog, their_pool) is None
    catalog.assert_no_flavor(name, api=other)
    assert_error(other.patch(f'/v2/flavors/{name}',
                             json={'pool_list': [their_pool]}), 404)
    # Missing from their point of view: 204, and the owner's stays.
    assert other.delete(f'/v2/flavors/{name}').status_code == 204
    assert catalog.flavor(name)['pool_list'] == [pool]
    assert flavor_of(catalog, pool) == name
    assert name not in [f['name'] for f in
                        other.get('/v2/flavors').json()['flavors']]


@pytest.mark.parametrize('roles', [None, 'member,reader'])
def test_anyone_reads_flavors_only_admins_change_them(
        catalog: Catalog, pooled: Server, roles: str | None) -> None:
    pool, spare = catalog.put_pool(), catalog.put_pool()
    name = catalog.put_flavor([pool])
    user = ApiClient(pooled.url, project_id=catalog.api.project_id,
                     extra_headers={'X-Roles': roles} if roles else {})
    listed = user.get('/v2/flavors')
    assert listed.status_code == 200, listed.text
    assert [f['name'] for f in listed.json()['flavors']] == [name]
    shown = user.get(f'/v2/flavors/{name}')
    assert shown.status_code == 200, shown.text
    assert shown.json() == catalog.flavor(name)
    new = catalog.flavor_name()
    for method, path, body in (
            ('PUT', f'/v2/flavors/{new}', {'pool_list': [spare]}),
            ('PATCH', f'/v2/flavors/{name}', {'pool_list': [spare]}),
            ('DELETE', f'/v2/flavors/{name}', None)):
        assert_error(user.request(method, path, json=body), 403)
    catalog.assert_no_flavor(new)
    assert catalog.flavor(name)['pool_list'] == [pool]
    assert flavor_of(catalog, spare) is None
