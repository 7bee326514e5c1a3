"""Pools that hold queues, through the API over a real SQLite store:
their URI stays and they are not deleted (409, with the count), while
the rest of a pool may change. (Queues are placed on pools through the
API, and forgotten when the pool goes if they are gone; test_placement.py
has the rest of placement.)"""

from __future__ import annotations

import dataclasses
from concurrent import futures
from pathlib import Path

import pytest

from zaqar_core.api.service import Api
from zaqar_core.storage import pools as pooling

from .admin_calls import PROJECT
from .admin_calls import call
from .admin_calls import refused


@pytest.fixture
def busy(api: Api, tmp_path: Path) -> str:
    """A pool with two queues mapped to it."""
    uri = f'sqlite:///{tmp_path / "busy.sqlite"}'
    assert call(api, 'pool_create', {'uri': uri, 'weight': 10},
                pool_name='busy').status == 201
    for queue in ('q1', 'q2'):
        assert call(api, 'queue_create', queue_name=queue).status == 201
        assert api.stores.catalogue.lookup(PROJECT, queue) == 'busy'
    return uri


def test_a_pool_holding_queues_is_not_deleted(api: Api, busy: str) -> None:
    error = refused(api, 'pool_delete', pool_name='busy')
    assert error.status == 409
    assert 'holds 2 queue' in error.description
    assert api.stores.pools.get('busy').uri == busy


@pytest.mark.parametrize('action', ['pool_update', 'pool_create'])
def test_a_pool_holding_queues_keeps_its_uri(api: Api, busy: str,
                                             tmp_path: Path,
                                             action: str) -> None:
    other = f'sqlite:///{tmp_path / "other.sqlite"}'
    error = refused(api, action, {'uri': other, 'weight': 10},
                    pool_name='busy')
    assert error.status == 409
    assert 'holds 2 queue' in error.description
    assert api.stores.pools.get('busy').uri == busy


def test_a_pool_holding_queues_may_change_the_rest(api: Api,
                                                   busy: str) -> None:
    result = call(api, 'pool_update', {'weight': 3, 'flavor': 'gold'},
                  pool_name='busy')
    assert result.body == {'name': 'busy', 'uri': busy, 'weight': 3,
                           'flavor': 'gold'}


def test_a_pool_is_deleted_once_its_queues_are_gone(api: Api,
                                                    busy: str) -> None:
    call(api, 'subscription_create',
         {'subscriber': 'mailto:a@example.com', 'ttl': 3600},
         queue_name='q2')
    for queue in ('q1', 'q2'):
        call(api, 'queue_delete', queue_name=queue)
    # q2's subscription outlives its queue, in the pool: q2 stays there.
    error = refused(api, 'pool_delete', pool_name='busy')
    assert (error.status, error.description) == (
        409, 'Pool busy still holds 1 queue(s); move or delete them first.')
    assert api.stores.catalogue.lookup(PROJECT, 'q1') is None
    call(api, 'queue_purge', {'resource_types': ['subscriptions']},
         queue_name='q2')
    assert call(api, 'pool_delete', pool_name='busy').status == 204
    assert api.stores.pools.get('busy') is None


def test_pool_options_reach_only_that_pool(api: Api, tmp_path: Path) -> None:
    uri = f'sqlite:///{tmp_path / "own.sqlite"}'
    driver = api.stores.open_pool(uri, {'max_pool_size': 3, 'other': 1})
    try:
        assert driver.options.max_pool_size == 3
        group = api.conf['drivers:message_store:sqlalchemy']
        assert group.max_pool_size == 10
        assert group.uri != uri
    finally:
        driver.close()


def test_pools_registered_at_once_each_get_their_schema(
        api: Api, tmp_path: Path) -> None:
    # Request threads migrate new SQL pools at the same time: alembic's
    # module-level state once mixed them up (a KeyError, or a crash).
    def register(n: int) -> int:
        uri = f'sqlite:///{tmp_path / f"p{n}.sqlite"}'
        return call(api, 'pool_create', {'uri': uri, 'weight': 1},
                    pool_name=f'p{n}').status

    with futures.ThreadPoolExecutor(8) as pool:
        assert list(pool.map(register, range(16))) == [201] * 16
    for n in range(16):
        driver = api.stores.open_pool(
            f'sqlite:///{tmp_path / f"p{n}.sqlite"}', {})
        try:
            assert driver.check(1.0).problem is None
        finally:
            driver.close()


def test_a_pool_store_is_reopened_when_its_record_changes(
        api: Api, tmp_path: Path) -> None:
    drivers = api.stores.pool_drivers
    pool = pooling.Pool('p', f'sqlite:///{tmp_path / "p.sqlite"}', 1)
    first = drivers.driver(pool)
    assert drivers.driver(pool) is first
    assert drivers.driver(dataclasses.replace(pool, weight=5)) is first
    moved = dataclasses.replace(pool, uri=f'sqlite:///{tmp_path / "q.sqlite"}')
    second = drivers.driver(moved)
    assert second is not first
    assert second.options.uri == moved.uri
    tuned = dataclasses.replace(moved, options={'max_pool_size': 2})
    third = drivers.driver(tuned)
    assert third is not second and third.options.max_pool_size == 2
    drivers.forget(set())
    assert drivers.driver(tuned) is not third
