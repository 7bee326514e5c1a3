"""The pooling contract (:mod:`zaqar_core.storage.pools`) as tests.

A driver's test module subclasses each ``*Contract`` class as a
``Test*`` class and supplies a ``management`` fixture: a
:class:`Stores` whose controllers share one empty store (a fresh one
for each test).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent import futures
from typing import Any
from typing import NamedTuple

import pytest

from zaqar_core.storage import pools as pooling
from zaqar_core.storage.stores import Stores
from zaqar_core.tests.contract.storage.helpers import OTHER_PROJECT
from zaqar_core.tests.contract.storage.helpers import PROJECT
from zaqar_core.tests.contract.storage.helpers import QUEUE

URI = 'redis://127.0.0.1:6379?dbid=1'
OTHER_URI = 'redis://127.0.0.1:6379?dbid=2'
# The longest values the API lets through.
LONG_NAME = 'p' * 64
LONG_URI = 'redis://' + 'h' * 239 + ':6379'
LONG_PROJECT = 'x' * 256
BIG_WEIGHT = 2**32 - 1


def pool(name: str = 'alpha', uri: str | None = None, weight: int = 100,
         flavor: str | None = None,
         options: dict[str, Any] | None = None) -> pooling.Pool:
    """A pool whose URI is unique to its name unless given."""
    return pooling.Pool(name=name, uri=uri or f'redis://{name}:6379',
                        weight=weight, flavor=flavor, options=options or {})


def names(found: list[pooling.Pool]) -> list[str]:
    return [p.name for p in found]


def put_pools(m: Stores, *pool_names: str,
              flavor: str | None = None) -> None:
    for name in pool_names:
        m.pools.put(pool(name, flavor=flavor))


class Outcome(NamedTuple):
    value: Any = None
    error: BaseException | None = None


def race(*tasks: Callable[[], Any]) -> list[Outcome]:
    """Run ``tasks`` in threads released at the same moment; what each
    returned or raised, in order."""
    start = threading.Barrier(len(tasks))

    def run(task: Callable[[], Any]) -> Outcome:
        start.wait(timeout=30)
        try:
            return Outcome(task())
        except pooling.PoolConflict as exc:
            return Outcome(error=exc)
        except pooling.PoolNotFound as exc:
            return Outcome(error=exc)

    with futures.ThreadPoolExecutor(len(tasks)) as executor:
        running = [executor.submit(run, task) for task in tasks]
        return [future.result() for future in running]


class PoolControllerContract:
    def test_put_creates_then_replaces_every_field(
            self, management: Stores) -> None:
        assert management.pools.put(pool(
            'alpha', URI, 10, 'gold', {'a': 1, 'b': 2})) is True
        assert management.pools.put(pool('alpha', OTHER_URI, 20)) is False
        assert management.pools.get('alpha') == pooling.Pool(
            'alpha', OTHER_URI, 20, None, {})

    def test_get_of_a_missing_pool_is_none(self, management: Stores
                                           ) -> None:
        assert management.pools.get('alpha') is None

    def test_fields_round_trip_at_their_limits(
            self, management: Stores) -> None:
        options = {'ünïcode': '✓ 😀', 'nested': {'list': [1, 'two', None,
                                                         True, 2.5]},
                   'big': 2**53, 'empty': {}}
        big = pooling.Pool(LONG_NAME, LONG_URI, BIG_WEIGHT, 'f' * 64,
                           options)
        management.pools.put(big)
        assert management.pools.get(LONG_NAME) == big
        assert management.pools.list() == [big]
        assert management.pools.with_flavor('f' * 64) == [big]

    def test_a_unicode_uri_and_weight_zero_round_trip(
            self, management: Stores) -> None:
        odd = pool('alpha', 'mongodb://ünï:pässwörd@höst/😀?a=b&c', 0)
        management.pools.put(odd)
        assert management.pools.get('alpha') == odd

    def test_names_are_case_sensitive(self, management: Stores
                                      ) -> None:
        management.pools.put(pool('alpha', URI, 1))
        management.pools.put(pool('Alpha', OTHER_URI, 2))
        assert management.pools.get('alpha').weight == 1
        assert management.pools.get('Alpha').weight == 2

    def test_list_is_sorted_by_name_and_pages_after_the_marker(
            self, management: Stores) -> None:
        everyone = [f'pool{n}' for n in range(7)]
        for name in ('pool3', 'pool0', 'pool6', 'pool1', 'pool5', 'pool2',
                     'pool4'):
            management.pools.put(pool(name))
        pages = [management.pools.list(limit=2)]
        while pages[-1]:
            pages.append(management.pools.list(pages[-1][-1].name, 2))
        assert [names(page) for page in pages] == [
            everyone[0:2], everyone[2:4], everyone[4:6], everyone[6:], []]
        assert names(management.pools.list(limit=100)) == everyone
        assert management.pools.list(limit=100)[0] == pool('pool0')

    def test_list_marker_need_not_name_a_pool(
            self, management: Stores) -> None:
        put_pools(management, 'alpha', 'charlie')
        assert names(management.pools.list('bravo')) == ['charlie']
        assert management.pools.list('charlie') == []

    def test_put_of_another_pools_uri_raises(
            self, management: Stores) -> None:
        management.pools.put(pool('alpha', URI))
        with pytest.raises(pooling.DuplicateUri) as caught:
            management.pools.put(pool('bravo', URI))
        assert (caught.value.uri, caught.value.other_pool) == (URI, 'alpha')
        assert management.pools.get('bravo') is None

    def test_uris_compare_exactly(self, management: Stores) -> None:
        management.pools.put(pool('alpha', 'redis://Host:6379'))
        management.pools.put(pool('bravo', 'redis://host:6379'))
        management.pools.put(pool('charlie', 'redis://host:6379 '))
        assert management.pools.get('charlie').uri == 'redis://host:6379 '

    def test_a_uri_left_behind_is_free_again(
            self, management: Stores) -> None:
        management.pools.put(pool('alpha', URI))
        management.pools.update('alpha', uri=OTHER_URI)
        assert management.pools.put(pool('bravo', URI))
        management.pools.delete('bravo')
        management.pools.put(pool('alpha', URI))
        assert management.pools.put(pool('bravo', OTHER_URI))

    def test_update_changes_only_the_fields_given(
            self, management: Stores) -> None:
        management.pools.put(pool('alpha', URI, 10, 'gold', {'a': 1}))
        assert management.pools.update('alpha', weight=BIG_WEIGHT) == \
            pooling.Pool('alpha', URI, BIG_WEIGHT, 'gold', {'a': 1})
        assert management.pools.update('alpha', options={'b': 2}) == \
            pooling.Pool('alpha', URI, BIG_WEIGHT, 'gold', {'b': 2})
        assert management.pools.update('alpha', uri=OTHER_URI,
                                       flavor='silver').flavor == 'silver'
        assert management.pools.update('alpha', flavor=None) == \
            pooling.Pool('alpha', OTHER_URI, BIG_WEIGHT, None, {'b': 2})
        assert management.pools.update('alpha') == \
            management.pools.get('alpha')

    def test_update_of_a_missing_pool_is_none_and_creates_nothing(
            self, management: Stores) -> None:
        assert management.pools.update('alpha', uri=URI, weight=1,
                                       flavor='gold', options={}) is None
        assert management.pools.list() == []
        assert management.pools.with_flavor('gold') == []

    def test_update_to_another_pools_uri_raises(
            self, management: Stores) -> None:
        management.pools.put(pool('alpha', URI))
        management.pools.put(pool('bravo', OTHER_URI))
        with pytest.raises(pooling.DuplicateUri) as caught:
            management.pools.update('bravo', uri=URI, weight=5)
        assert caught.value.other_pool == 'alpha'
        assert management.pools.get('bravo') == pool('bravo', OTHER_URI)

    def test_an_empty_flavor_is_no_flavor(self, management: Stores
                                          ) -> None:
        management.pools.put(pool('alpha', flavor=''))
        management.pools.put(pool('bravo', flavor='gold'))
        management.pools.update('bravo', flavor='')
        assert management.pools.get('alpha').flavor is None
        assert names(management.pools.with_flavor(None)) == [
            'alpha', 'bravo']
        assert management.pools.with_flavor('') == \
            management.pools.with_flavor(None)

    def test_a_uri_change_of_a_pool_holding_queues_raises(
            self, management: Stores) -> None:
        management.pools.put(pool('alpha', URI, 10))
        management.catalogue.place(PROJECT, QUEUE, 'alpha')
        with pytest.raises(pooling.PoolInUse) as caught:
            management.pools.put(pool('alpha', OTHER_URI, 10))
        assert (caught.value.pool, caught.value.queues) == ('alpha', 1)
        with pytest.raises(pooling.PoolInUse):
            management.pools.update('alpha', uri=OTHER_URI, weight=99)
        assert management.pools.get('alpha') == pool('alpha', URI, 10)
        # The queues stay where they are: the other fields may change.
        assert management.pools.put(pool('alpha', URI, 20, 'gold',
                                         {'a': 1})) is False
        assert management.pools.update('alpha', uri=URI, weight=30,
                                       flavor=None).weight == 30
        # Nothing holds the other URI.
        assert management.pools.put(pool('bravo', OTHER_URI))

    def test_delete_tells_whether_it_deleted(
            self, management: Stores) -> None:
        management.pools.put(pool('alpha', URI))
        assert management.pools.delete('alpha') is True
        assert management.pools.get('alpha') is None
        assert management.pools.delete('alpha') is False
        assert management.pools.list() == []
        assert management.pools.put(pool('alpha', URI)) is True

    def test_delete_of_a_pool_holding_queues_raises(
            self, management: Stores) -> None:
        management.pools.put(pool('alpha', URI, flavor='gold'))
        management.catalogue.place(PROJECT, QUEUE, 'alpha')
        management.catalogue.place(OTHER_PROJECT, QUEUE, 'alpha')
        with pytest.raises(pooling.PoolInUse) as caught:
            management.pools.delete('alpha')
        assert (caught.value.pool, caught.value.queues) == ('alpha', 2)
        assert management.pools.get('alpha') == pool('alpha', URI,
                                                      flavor='gold')
        assert management.catalogue.lookup(PROJECT, QUEUE) == 'alpha'
        management.catalogue.remove(PROJECT, QUEUE)
        management.catalogue.remove(OTHER_PROJECT, QUEUE)
        assert management.pools.delete('alpha') is True
        assert management.pools.with_flavor('gold') == []

    def test_with_flavor_keeps_unflavored_queues_off_flavored_pools(
            self, management: Stores) -> None:
        put_pools(management, 'echo', 'alpha', flavor='gold')
        put_pools(management, 'delta', flavor='silver')
        put_pools(management, 'charlie', 'bravo')
        assert names(management.pools.with_flavor('gold')) == [
            'alpha', 'echo']
        assert names(management.pools.with_flavor(None)) == [
            'bravo', 'charlie']
        assert management.pools.with_flavor('bronze') == []
        assert management.pools.with_flavor('silver') == [
            pool('delta', flavor='silver')]


class FlavorControllerContract:
    def test_put_creates_a_flavor_and_tags_its_pools(
            self, management: Stores) -> None:
        put_pools(management, 'charlie', 'alpha', 'bravo')
        assert management.flavors.put(PROJECT, 'gold',
                                      ['charlie', 'alpha']) is True
        assert management.flavors.get(PROJECT, 'gold') == pooling.Flavor(
            'gold', PROJECT, ('alpha', 'charlie'))
        assert management.pools.get('alpha').flavor == 'gold'
        assert names(management.pools.with_flavor('gold')) == [
            'alpha', 'charlie']
        assert names(management.pools.with_flavor(None)) == ['bravo']

    def test_put_replaces_the_pools_of_a_flavor(
            self, management: Stores) -> None:
        put_pools(management, 'alpha', 'bravo', 'charlie')
        management.flavors.put(PROJECT, 'gold', ['alpha', 'bravo'])
        assert management.flavors.put(PROJECT, 'gold',
                                      ['bravo', 'charlie']) is False
        assert management.flavors.get(PROJECT, 'gold').pools == (
            'bravo', 'charlie')
        assert management.pools.get('alpha').flavor is None
        assert names(management.pools.with_flavor(None)) == ['alpha']
        management.flavors.put(PROJECT, 'gold', [])
        assert management.flavors.get(PROJECT, 'gold') == pooling.Flavor(
            'gold', PROJECT, ())
        assert len(management.pools.with_flavor(None)) == 3

    def test_put_with_unknown_pools_changes_nothing(
            self, management: Stores) -> None:
        put_pools(management, 'alpha', 'bravo')
        with pytest.raises(pooling.PoolNotFound) as caught:
            management.flavors.put(PROJECT, 'gold',
                                   ['zulu', 'alpha', 'yankee', 'zulu'])
        assert caught.value.names == ('yankee', 'zulu')
        assert management.flavors.get(PROJECT, 'gold') is None
        assert management.pools.get('alpha').flavor is None
        management.flavors.put(PROJECT, 'gold', ['alpha'])
        with pytest.raises(pooling.PoolNotFound):
            management.flavors.put(PROJECT, 'gold', ['bravo', 'zulu'])
        with pytest.raises(pooling.PoolNotFound):
            management.flavors.update(PROJECT, 'gold', ['bravo', 'zulu'])
        assert management.flavors.get(PROJECT, 'gold').pools == ('alpha',)
        assert management.pools.get('bravo').flavor is None

    def test_repeated_pools_count_once(self, management: Stores
                                       ) -> None:
        put_pools(management, 'alpha')
        management.flavors.put(PROJECT, 'gold', ['alpha', 'alpha'])
        assert management.flavors.get(PROJECT, 'gold').pools == ('alpha',)

    def test_a_flavor_name_belongs_to_one_project(
            self, management: Stores) -> None:
        put_pools(management, 'alpha', 'bravo')
        management.flavors.put(PROJECT, 'gold', ['alpha'])
        with pytest.raises(pooling.FlavorTaken) as caught:
            management.flavors.put(OTHER_PROJECT, 'gold', ['bravo'])
        assert caught.value.name == 'gold'
        assert management.flavors.get(OTHER_PROJECT, 'gold') is None
        assert management.flavors.list(OTHER_PROJECT) == []
        assert management.flavors.update(OTHER_PROJECT, 'gold',
                                         ['bravo']) is None
        assert management.flavors.delete(OTHER_PROJECT, 'gold') is False
        assert management.flavors.get(PROJECT, 'gold').pools == ('alpha',)
        assert management.pools.get('bravo').flavor is None
        # Once deleted, the name is anyone's.
        management.flavors.delete(PROJECT, 'gold')
        assert management.flavors.put(OTHER_PROJECT, 'gold', ['bravo'])
        assert management.flavors.get(PROJECT, 'gold') is None

    def test_list_shows_one_project_by_name_page_after_page(
            self, management: Stores) -> None:
        put_pools(management, 'alpha', 'bravo', 'charlie')
        for name, members in (('iron', []), ('gold', ['bravo', 'alpha']),
                              ('lead', []), ('copper', []),
                              ('silver', ['charlie'])):
            management.flavors.put(PROJECT, name, members)
        management.flavors.put(OTHER_PROJECT, 'bronze', [])
        management.flavors.put(OTHER_PROJECT, 'hafnium', [])
        pages = [management.flavors.list(PROJECT, limit=2)]
        while pages[-1]:
            pages.append(management.flavors.list(
                PROJECT, pages[-1][-1].name, limit=2))
        assert [[f.name for f in page] for page in pages] == [
            ['copper', 'gold'], ['iron', 'lead'], ['silver'], []]
        assert pages[0][1] == pooling.Flavor('gold', PROJECT,
                                             ('alpha', 'bravo'))
        assert pages[2][0].pools == ('charlie',)
        assert [f.name for f in management.flavors.list(PROJECT, 'h')] == [
            'iron', 'lead', 'silver']
        assert management.flavors.list(OTHER_PROJECT) == [
            pooling.Flavor('bronze', OTHER_PROJECT, ()),
            pooling.Flavor('hafnium', OTHER_PROJECT, ())]

    def test_update_sets_the_pools_of_an_existing_flavor(
            self, management: Stores) -> None:
        put_pools(management, 'alpha', 'bravo')
        assert management.flavors.update(PROJECT, 'gold', ['alpha']) is None
        assert management.flavors.get(PROJECT, 'gold') is None
        assert management.pools.get('alpha').flavor is None
        management.flavors.put(PROJECT, 'gold', ['alpha'])
        assert management.flavors.update(PROJECT, 'gold', ['bravo']) == \
            pooling.Flavor('gold', PROJECT, ('bravo',))
        assert names(management.pools.with_flavor('gold')) == ['bravo']

    def test_delete_untags_the_pools(self, management: Stores) -> None:
        put_pools(management, 'alpha', 'bravo')
        management.flavors.put(PROJECT, 'gold', ['alpha', 'bravo'])
        assert management.flavors.delete(PROJECT, 'gold') is True
        assert management.flavors.get(PROJECT, 'gold') is None
        assert management.flavors.list(PROJECT) == []
        assert management.pools.with_flavor('gold') == []
        assert names(management.pools.with_flavor(None)) == [
            'alpha', 'bravo']
        assert management.flavors.delete(PROJECT, 'gold') is False

    def test_pools_may_be_tagged_before_the_flavor_exists(
            self, management: Stores) -> None:
        # What upstream's client tests do: pool first, then flavor.
        management.pools.put(pool('stomach', flavor='tasty'))
        assert management.flavors.get(PROJECT, 'tasty') is None
        management.flavors.put(PROJECT, 'tasty', ['stomach'])
        assert management.flavors.get(PROJECT, 'tasty').pools == (
            'stomach',)
        # A pool tagged later joins it.
        management.pools.put(pool('belly', flavor='tasty'))
        assert management.flavors.get(PROJECT, 'tasty').pools == (
            'belly', 'stomach')

    def test_a_pool_serves_one_flavor(self, management: Stores
                                      ) -> None:
        put_pools(management, 'alpha', 'bravo')
        management.flavors.put(PROJECT, 'gold', ['alpha', 'bravo'])
        management.flavors.put(PROJECT, 'silver', ['alpha'])
        assert management.flavors.get(PROJECT, 'gold').pools == ('bravo',)
        management.pools.update('bravo', flavor='silver')
        assert management.flavors.get(PROJECT, 'gold').pools == ()
        assert management.flavors.get(PROJECT, 'silver').pools == (
            'alpha', 'bravo')

    def test_a_deleted_pool_leaves_its_flavor(
            self, management: Stores) -> None:
        put_pools(management, 'alpha', 'bravo')
        management.flavors.put(PROJECT, 'gold', ['alpha', 'bravo'])
        management.pools.delete('alpha')
        assert management.flavors.get(PROJECT, 'gold').pools == ('bravo',)
        # Made again, it serves no flavor.
        management.pools.put(pool('alpha'))
        assert management.flavors.get(PROJECT, 'gold').pools == ('bravo',)

    def test_long_names_and_projects(self, management: Stores) -> None:
        put_pools(management, LONG_NAME)
        name = 'f' * 64
        assert management.flavors.put(LONG_PROJECT, name, [LONG_NAME])
        assert management.flavors.get(LONG_PROJECT, name) == \
            pooling.Flavor(name, LONG_PROJECT, (LONG_NAME,))
        assert management.flavors.list(LONG_PROJECT) == [
            pooling.Flavor(name, LONG_PROJECT, (LONG_NAME,))]

    def test_projects_that_prefix_each_other_stay_apart(
            self, management: Stores) -> None:
        management.flavors.put('ab', 'c', [])
        management.flavors.put('a', 'bc', [])
        management.flavors.put('', 'd', [])
        assert [f.name for f in management.flavors.list('a')] == ['bc']
        assert [f.name for f in management.flavors.list('ab')] == ['c']
        assert [f.name for f in management.flavors.list('')] == ['d']


class CatalogueControllerContract:
    def test_place_maps_an_unmapped_queue(self, management: Stores
                                          ) -> None:
        put_pools(management, 'alpha')
        assert management.catalogue.lookup(PROJECT, QUEUE) is None
        assert management.catalogue.place(PROJECT, QUEUE, 'alpha') == \
            'alpha'
        assert management.catalogue.lookup(PROJECT, QUEUE) == 'alpha'
        assert management.catalogue.count('alpha') == 1

    def test_an_existing_mapping_wins(self, management: Stores
                                      ) -> None:
        put_pools(management, 'alpha', 'bravo')
        management.catalogue.place(PROJECT, QUEUE, 'alpha')
        assert management.catalogue.place(PROJECT, QUEUE, 'bravo') == \
            'alpha'
        assert management.catalogue.place(PROJECT, QUEUE, 'alpha') == \
            'alpha'
        assert management.catalogue.place(PROJECT, QUEUE, 'zulu') == \
            'alpha'
        assert management.catalogue.lookup(PROJECT, QUEUE) == 'alpha'
        assert (management.catalogue.count('alpha'),
                management.catalogue.count('bravo')) == (1, 0)

    def test_place_onto_a_missing_pool_writes_nothing(
            self, management: Stores) -> None:
        with pytest.raises(pooling.PoolNotFound) as caught:
            management.catalogue.place(PROJECT, QUEUE, 'alpha')
        assert caught.value.names == ('alpha',)
        assert management.catalogue.lookup(PROJECT, QUEUE) is None
        assert management.catalogue.count('alpha') == 0
        put_pools(management, 'alpha')
        assert management.pools.delete('alpha') is True

    def test_queues_are_mapped_per_project(self, management: Stores
                                           ) -> None:
        put_pools(management, 'alpha', 'bravo')
        management.catalogue.place(PROJECT, QUEUE, 'alpha')
        management.catalogue.place(OTHER_PROJECT, QUEUE, 'bravo')
        # Pairs that would run together if joined naively.
        management.catalogue.place('ab', 'c', 'alpha')
        management.catalogue.place('a', 'bc', 'bravo')
        assert management.catalogue.lookup(PROJECT, QUEUE) == 'alpha'
        assert management.catalogue.lookup(OTHER_PROJECT, QUEUE) == 'bravo'
        assert management.catalogue.lookup('ab', 'c') == 'alpha'
        assert management.catalogue.lookup('a', 'bc') == 'bravo'
        assert management.catalogue.lookup('a', 'b') is None
        management.catalogue.remove(PROJECT, QUEUE)
        assert management.catalogue.lookup(OTHER_PROJECT, QUEUE) == 'bravo'

    def test_long_and_odd_names(self, management: Stores) -> None:
        put_pools(management, LONG_NAME)
        odd = ['', LONG_PROJECT, 'p' * 256 + '\x1ftopics', 'a:b}c{d',
               'ünï😀']
        for project in odd:
            assert management.catalogue.place(
                project, 'q' * 64, LONG_NAME) == LONG_NAME
        assert management.catalogue.count(LONG_NAME) == len(odd)
        for project in odd:
            assert management.catalogue.lookup(project, 'q' * 64) == \
                LONG_NAME
            management.catalogue.remove(project, 'q' * 64)
        assert management.catalogue.count(LONG_NAME) == 0

    def test_move_is_a_compare_and_set(self, management: Stores
                                       ) -> None:
        put_pools(management, 'alpha', 'bravo', 'charlie')
        management.catalogue.place(PROJECT, QUEUE, 'alpha')
        assert management.catalogue.move(PROJECT, QUEUE, 'bravo',
                                         'charlie') is False
        assert management.catalogue.lookup(PROJECT, QUEUE) == 'alpha'
        assert management.catalogue.move(PROJECT, QUEUE, 'alpha',
                                         'bravo') is True
        assert management.catalogue.lookup(PROJECT, QUEUE) == 'bravo'
        assert [management.catalogue.count(p)
                for p in ('alpha', 'bravo')] == [0, 1]
        assert management.catalogue.move(PROJECT, QUEUE, 'alpha',
                                         'charlie') is False
        assert management.catalogue.move(PROJECT, QUEUE, 'bravo',
                                         'bravo') is True
        assert management.catalogue.lookup(PROJECT, QUEUE) == 'bravo'
        assert management.pools.delete('alpha') is True

    def test_move_of_an_unmapped_queue_maps_nothing(
            self, management: Stores) -> None:
        put_pools(management, 'alpha', 'bravo')
        assert management.catalogue.move(PROJECT, QUEUE, 'alpha',
                                         'bravo') is False
        assert management.catalogue.lookup(PROJECT, QUEUE) is None
        assert management.catalogue.count('bravo') == 0

    def test_move_to_a_missing_pool_raises(self, management: Stores
                                           ) -> None:
        put_pools(management, 'alpha')
        management.catalogue.place(PROJECT, QUEUE, 'alpha')
        with pytest.raises(pooling.PoolNotFound) as caught:
            management.catalogue.move(PROJECT, QUEUE, 'alpha', 'zulu')
        assert caught.value.names == ('zulu',)
        assert management.catalogue.lookup(PROJECT, QUEUE) == 'alpha'

    def test_remove_is_idempotent(self, management: Stores) -> None:
        put_pools(management, 'alpha')
        management.catalogue.remove(PROJECT, QUEUE)
        management.catalogue.place(PROJECT, QUEUE, 'alpha')
        management.catalogue.remove(PROJECT, QUEUE)
        management.catalogue.remove(PROJECT, QUEUE)
        assert management.catalogue.lookup(PROJECT, QUEUE) is None
        assert management.catalogue.count('alpha') == 0
        assert management.catalogue.place(PROJECT, QUEUE, 'alpha') == \
            'alpha'

    def test_count_counts_the_queues_of_a_pool(
            self, management: Stores) -> None:
        put_pools(management, 'alpha', 'alpha2', 'bravo')
        for n in range(5):
            management.catalogue.place(PROJECT, f'q{n}', 'alpha')
        management.catalogue.place(OTHER_PROJECT, 'q0', 'alpha')
        management.catalogue.place(PROJECT, 'other', 'alpha2')
        management.catalogue.remove(PROJECT, 'q3')
        assert [management.catalogue.count(p) for p in (
            'alpha', 'alpha2', 'bravo', 'zulu')] == [5, 1, 0, 0]

    def test_placed_pages_through_the_queues_of_a_pool(
            self, management: Stores) -> None:
        put_pools(management, 'alpha', 'alpha2')
        expected = {(PROJECT, f'q{n}') for n in range(7)} | {
            (OTHER_PROJECT, 'q0'), ('p', 'x' * 64), ('p' * 200, 'q')}
        for project, queue in expected:
            management.catalogue.place(project, queue, 'alpha')
        management.catalogue.place(PROJECT, 'elsewhere', 'alpha2')
        management.catalogue.remove(PROJECT, 'q3')
        expected.discard((PROJECT, 'q3'))
        seen: list[tuple[str, str]] = []
        while page := management.catalogue.placed(
                'alpha', seen[-1] if seen else None, 3):
            assert len(page) <= 3
            seen += page
        assert sorted(seen) == sorted(expected)
        assert len(seen) == len(set(seen))
        assert management.catalogue.placed('alpha2') == [
            (PROJECT, 'elsewhere')]
        assert management.catalogue.placed('zulu') == []


class PoolingConcurrencyContract:
    """Racing writers end in a state one of them alone could leave."""

    rounds = 20

    def test_a_delete_racing_a_place_never_strands_a_queue(
            self, management: Stores) -> None:
        for n in range(self.rounds):
            management.pools.put(pool('alpha', URI))
            queue = f'q{n}'
            deleted, placed = race(
                lambda: management.pools.delete('alpha'),
                lambda q=queue: management.catalogue.place(PROJECT, q,
                                                           'alpha'))
            if deleted.error is None:
                assert deleted.value is True
                assert isinstance(placed.error, pooling.PoolNotFound)
                assert management.catalogue.lookup(PROJECT, queue) is None
                assert management.pools.get('alpha') is None
            else:
                assert isinstance(deleted.error, pooling.PoolInUse)
                assert placed.value == 'alpha'
                assert management.catalogue.lookup(PROJECT, queue) == \
                    'alpha'
                assert management.pools.get('alpha') is not None
                management.catalogue.remove(PROJECT, queue)
                assert management.pools.delete('alpha') is True
            assert management.catalogue.count('alpha') == 0

    def test_concurrent_places_of_one_queue_agree(
            self, management: Stores) -> None:
        put_pools(management, 'alpha', 'bravo', 'charlie')
        for n in range(self.rounds):
            queue = f'q{n}'
            outcomes = race(*(
                lambda p=p, q=queue: management.catalogue.place(
                    PROJECT, q, p)
                for p in ('alpha', 'bravo', 'charlie')))
            answers = {o.value for o in outcomes}
            assert len(answers) == 1, outcomes
            assert management.catalogue.lookup(PROJECT, queue) in answers
        assert sum(management.catalogue.count(p)
                   for p in ('alpha', 'bravo', 'charlie')) == self.rounds

    def test_a_uri_change_racing_a_place_never_strands_a_queue(
            self, management: Stores) -> None:
        for n in range(self.rounds):
            management.pools.put(pool('alpha', URI))
            queue = f'q{n}'
            changed, placed = race(
                lambda: management.pools.update('alpha', uri=OTHER_URI),
                lambda q=queue: management.catalogue.place(PROJECT, q,
                                                           'alpha'))
            assert placed.value == 'alpha'
            # Placed first, the queue keeps its pool's URI; changed first,
            # it was placed on the new one. Never both.
            expected = URI if changed.error else OTHER_URI
            if changed.error:
                assert isinstance(changed.error, pooling.PoolInUse)
            assert management.pools.get('alpha').uri == expected
            management.catalogue.remove(PROJECT, queue)
            management.pools.delete('alpha')

    def test_one_of_two_projects_racing_for_a_flavor_name_wins(
            self, management: Stores) -> None:
        put_pools(management, 'alpha', 'bravo')
        for n in range(self.rounds):
            name = f'flavor{n}'
            first, second = race(
                lambda f=name: management.flavors.put(PROJECT, f,
                                                      ['alpha']),
                lambda f=name: management.flavors.put(OTHER_PROJECT, f,
                                                      ['bravo']))
            assert sorted([first.value is True, second.value is True]) == [
                False, True], (first, second)
            loser = second if first.value else first
            assert isinstance(loser.error, pooling.FlavorTaken)
            winner, member = ((PROJECT, 'alpha') if first.value
                              else (OTHER_PROJECT, 'bravo'))
            assert management.flavors.get(winner, name).pools == (member,)
            assert names(management.pools.with_flavor(name)) == [member]
            management.flavors.delete(winner, name)

    def test_one_of_two_pools_racing_for_a_uri_wins(
            self, management: Stores) -> None:
        for n in range(self.rounds):
            uri = f'redis://shared:{n}'
            first, second = race(
                lambda u=uri: management.pools.put(pool('alpha', u)),
                lambda u=uri: management.pools.put(pool('bravo', u)))
            assert [o.value for o in (first, second)].count(True) == 1
            loser = first if first.error else second
            assert isinstance(loser.error, pooling.DuplicateUri)
            assert len(management.pools.list()) == 1
            for name in ('alpha', 'bravo'):
                management.pools.delete(name)

    def test_puts_racing_to_create_one_pool_both_succeed(
            self, management: Stores) -> None:
        for n in range(self.rounds):
            name = f'pool{n}'
            outcomes = race(*(
                lambda w=w, p=name: management.pools.put(pool(p, weight=w))
                for w in (1, 2)))
            assert sorted(o.value for o in outcomes) == [False, True]
            assert management.pools.get(name).weight in (1, 2)
