"""Queues placed on pools and every call routed to their pool, through the
API over real SQLite stores: the management store and one SQLite file per
pool. (Two servers over Redis and PostgreSQL pools: the functional
test_pool_placement.py.)"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

from oslo_context import context as oslo_context

from zaqar_core.api import signed_url
from zaqar_core.api.request import Request
from zaqar_core.api.service import Api
from zaqar_core.api.v2 import topics
from zaqar_core.notification import outbox
from zaqar_core.storage import base
from zaqar_core.storage import placement
from zaqar_core.storage import pools as pooling
from zaqar_core.storage import routing

from .admin_calls import CLIENT_ID
from .admin_calls import PROJECT
from .admin_calls import call
from .admin_calls import refused


def add_pool(api: Api, tmp_path: Path, name: str, weight: int = 1,
             flavor: str | None = None) -> None:
    body: dict = {'uri': f'sqlite:///{tmp_path / f"{name}.sqlite"}',
                  'weight': weight}
    if flavor is not None:
        body['flavor'] = flavor
    assert call(api, 'pool_create', body, pool_name=name).status == 201


def store(api: Api, pool: str | None) -> base.DataDriverBase:
    assert api.stores.placement is not None
    if pool is None:
        return api.stores.placement.home
    return api.stores.placement.store_named(pool)


def total(api: Api, pool: str | None, queue: str,
          project: str = PROJECT) -> int:
    return store(api, pool).message_controller.stats(project,
                                                     queue)['total']


def post(api: Api, queue: str, *bodies: object) -> list[str]:
    result = call(api, 'message_post',
                  {'messages': [{'body': b, 'ttl': 300} for b in bodies]},
                  queue_name=queue)
    return result.body['message_ids']


def test_no_pool_refuses_new_queues_and_stores_nothing(api: Api) -> None:
    error = refused(api, 'queue_create', queue_name='q')
    assert error.status == 503
    assert 'no pool without a flavor' in error.description
    assert api.stores.queues.count(PROJECT) == 0
    assert refused(api, 'message_post', {'messages': [{'body': 1}]},
                   queue_name='q').status == 503
    assert api.stores.queues.count(PROJECT) == 0


def test_the_virtual_pool_keeps_unplaced_queues_home(
        make_api: Callable[..., Api]) -> None:
    api = make_api(enable_virtual_pool=True)
    post(api, 'q', 'home')
    assert api.stores.catalogue.lookup(PROJECT, 'q') is None
    assert total(api, None, 'q') == 1


def test_queues_land_on_pools_by_weight(api: Api, tmp_path: Path) -> None:
    add_pool(api, tmp_path, 'light', weight=1)
    add_pool(api, tmp_path, 'heavy', weight=3)
    add_pool(api, tmp_path, 'off', weight=0)
    for n in range(400):
        assert call(api, 'queue_create', queue_name=f'q{n}').status == 201
    placed = Counter(api.stores.catalogue.lookup(PROJECT, f'q{n}')
                     for n in range(400))
    # Binomial(400, 1/4): 100 expected, sd 8.7; 5 sd either side.
    assert set(placed) == {'light', 'heavy'}
    assert 57 <= placed['light'] <= 143
    assert placed['light'] + placed['heavy'] == 400


def test_every_call_about_a_queue_reaches_its_pool_only(
        api: Api, tmp_path: Path) -> None:
    add_pool(api, tmp_path, 'a')
    ids = post(api, 'q', 'one', 'two')
    pool = api.stores.catalogue.lookup(PROJECT, 'q')
    assert pool == 'a'
    assert (total(api, 'a', 'q'), total(api, None, 'q')) == (2, 0)
    listed = call(api, 'message_list', queue_name='q', echo='true').body
    assert [m['body'] for m in listed['messages']] == ['one', 'two']
    claim = call(api, 'claim_create', {'ttl': 60, 'grace': 60},
                 queue_name='q')
    assert claim.status == 201
    claim_id = claim.body['claim_id']
    assert call(api, 'claim_get', queue_name='q',
                claim_id=claim_id).status == 200
    stats = call(api, 'queue_get_stats', queue_name='q').body['messages']
    assert (stats['claimed'], stats['total']) == (2, 2)
    call(api, 'message_delete', queue_name='q', message_id=ids[0],
         claim_id=claim_id)
    assert total(api, 'a', 'q') == 1
    call(api, 'queue_purge', queue_name='q')
    assert total(api, 'a', 'q') == 0


def test_a_flavor_picks_the_pools(api: Api, tmp_path: Path) -> None:
    add_pool(api, tmp_path, 'plain')
    add_pool(api, tmp_path, 'gold-1', flavor='gold')
    add_pool(api, tmp_path, 'gold-2', flavor='gold')
    assert call(api, 'flavor_create', {'pool_list': ['gold-1', 'gold-2']},
                flavor_name='gold').status == 201
    for n in range(20):
        call(api, 'queue_create', {'_flavor': 'gold'}, queue_name=f'g{n}')
        call(api, 'queue_create', queue_name=f'p{n}')
    assert {api.stores.catalogue.lookup(PROJECT, f'g{n}')
            for n in range(20)} <= {'gold-1', 'gold-2'}
    assert {api.stores.catalogue.lookup(PROJECT, f'p{n}')
            for n in range(20)} == {'plain'}


def test_an_unknown_flavor_is_refused_and_places_nothing(
        api: Api, tmp_path: Path) -> None:
    add_pool(api, tmp_path, 'plain')
    error = refused(api, 'queue_create', {'_flavor': 'nope'},
                    queue_name='q')
    assert (error.status, error.description) == (
        400, f'Flavor nope does not exist for project {PROJECT}.')
    assert refused(api, 'queue_create', {'_flavor': 7},
                   queue_name='q').status == 400
    assert api.stores.catalogue.lookup(PROJECT, 'q') is None
    call(api, 'queue_create', queue_name='q')
    patch = [{'op': 'add', 'path': '/metadata/_flavor', 'value': 'nope'}]
    assert refused(api, 'queue_update', patch, queue_name='q').status == 404


def test_a_flavor_change_that_would_move_the_queue_is_refused(
        api: Api, tmp_path: Path) -> None:
    add_pool(api, tmp_path, 'plain')
    add_pool(api, tmp_path, 'gold-1', flavor='gold')
    call(api, 'flavor_create', {'pool_list': ['gold-1']}, flavor_name='gold')
    call(api, 'queue_create', queue_name='q')
    post(api, 'q', 'kept')
    patch = [{'op': 'add', 'path': '/metadata/_flavor', 'value': 'gold'}]
    error = refused(api, 'queue_update', patch, queue_name='q')
    assert error.status == 409
    assert 'lives on pool plain' in error.description
    assert '_flavor' not in call(api, 'queue_get', queue_name='q').body
    assert total(api, 'plain', 'q') == 1
    # Where the pool serves the new flavor already, nothing moves: fine.
    call(api, 'pool_update', {'flavor': 'gold'}, pool_name='plain')
    assert call(api, 'queue_update', patch, queue_name='q').status == 200


def test_a_deleted_queue_keeps_its_pool_and_its_subscriptions(
        api: Api, tmp_path: Path) -> None:
    add_pool(api, tmp_path, 'a')
    created = call(api, 'subscription_create',
                   {'subscriber': 'mailto:a@example.com', 'ttl': 3600},
                   queue_name='q')
    call(api, 'queue_delete', queue_name='q')
    add_pool(api, tmp_path, 'b', weight=1000)
    call(api, 'queue_create', queue_name='q')
    assert api.stores.catalogue.lookup(PROJECT, 'q') == 'a'
    listed = call(api, 'subscription_list', queue_name='q').body
    assert [s['id'] for s in listed['subscriptions']] == [
        created.body['subscription_id']]


def test_topics_are_placed_too(api: Api, tmp_path: Path) -> None:
    add_pool(api, tmp_path, 'a')
    assert call(api, 'topic_create', queue_name='t').status == 201
    scoped = topics.scope(PROJECT)
    assert api.stores.catalogue.lookup(scoped, 't') == 'a'
    call(api, 'topic_message_post', {'messages': [{'body': 1}]},
         queue_name='t')
    assert total(api, 'a', 't', scoped) == 1


def dead_letter_setup(api: Api, dead_letter_flavor: str | None) -> None:
    body: dict = {} if dead_letter_flavor is None else {
        '_flavor': dead_letter_flavor}
    if dead_letter_flavor is not None:
        call(api, 'queue_create', body, queue_name='dlq')
    call(api, 'queue_create', {'_dead_letter_queue': 'dlq',
                               '_max_claim_count': 1}, queue_name='q')
    post(api, 'q', 'doomed')
    first = call(api, 'claim_create', {'ttl': 60, 'grace': 60},
                 queue_name='q').body['claim_id']
    call(api, 'claim_delete', queue_name='q', claim_id=first)
    # Claimed once already: the next claim sends it to the dead letters.
    assert call(api, 'claim_create', {'ttl': 60, 'grace': 60},
                queue_name='q').status == 204


def test_dead_letters_reach_a_queue_on_another_pool(
        api: Api, tmp_path: Path) -> None:
    add_pool(api, tmp_path, 'plain')
    add_pool(api, tmp_path, 'dead-1', flavor='dead')
    call(api, 'flavor_create', {'pool_list': ['dead-1']}, flavor_name='dead')
    dead_letter_setup(api, 'dead')
    assert api.stores.catalogue.lookup(PROJECT, 'dlq') == 'dead-1'
    assert (total(api, 'plain', 'dlq'), total(api, 'plain', 'q')) == (0, 0)
    listed = call(api, 'message_list', queue_name='dlq', echo='true').body
    assert [m['body'] for m in listed['messages']] == ['doomed']


def test_a_new_dead_letter_queue_is_placed_beside_its_source(
        api: Api, tmp_path: Path) -> None:
    add_pool(api, tmp_path, 'a')
    dead_letter_setup(api, None)
    add_pool(api, tmp_path, 'b', weight=1000)
    assert api.stores.catalogue.lookup(PROJECT, 'dlq') == 'a'
    assert total(api, 'a', 'dlq') == 1


def test_a_posts_fan_out_job_is_named_by_its_pool(
        api: Api, tmp_path: Path) -> None:
    add_pool(api, tmp_path, 'a')
    call(api, 'queue_create', queue_name='q')
    api.stores.subscriptions.create(PROJECT, 'q', 'mailto:a@example.com',
                                    3600, {})
    fan_out = api.outbox.fan_out(PROJECT, 'q', 'queues', {})
    posted = api.stores.messages.post_counting_subscriptions(
        PROJECT, 'q', [{'body': 1, 'ttl': 60, 'delay': 0}], CLIENT_ID,
        {**fan_out, 'confirmed_only': False})
    assert posted.fan_out is not None
    assert posted.fan_out['queue'] == routing.pinned(outbox.QUEUE, 'a')
    pool = store(api, 'a').message_controller
    assert pool.bulk_get(outbox.PROJECT, outbox.QUEUE,
                         [posted.fan_out['id']])
    api.stores.messages.delete(outbox.PROJECT, posted.fan_out['queue'],
                               posted.fan_out['id'])
    assert not pool.bulk_get(outbox.PROJECT, outbox.QUEUE,
                             [posted.fan_out['id']])


def test_jobs_left_in_a_pool_are_collected_home(
        api: Api, tmp_path: Path) -> None:
    add_pool(api, tmp_path, 'a')
    # What a poster that crashed leaves once the grace passed: a free job
    # in the pool's outbox.
    store(api, 'a').message_controller.post(
        outbox.PROJECT, outbox.QUEUE,
        [{'body': {'what': 'left'}, 'ttl': 60, 'delay': 0}], outbox.CLIENT_ID)
    api.stores.data.gc()
    assert total(api, 'a', outbox.QUEUE, outbox.PROJECT) == 0
    home, _ = store(api, None).message_controller.list(
        outbox.PROJECT, outbox.QUEUE, echo=True)
    assert [m['body'] for m in home] == [{'what': 'left'}]


def test_a_queue_on_a_pool_that_fails_answers_503_alone(
        api: Api, tmp_path: Path) -> None:
    add_pool(api, tmp_path, 'a')
    add_pool(api, tmp_path, 'b', flavor='x')
    call(api, 'flavor_create', {'pool_list': ['b']}, flavor_name='x')
    post(api, 'q', 1)
    call(api, 'queue_create', {'_flavor': 'x'}, queue_name='other')
    stores = api.stores
    assert stores.placement is not None
    stores.placement.cache_ttl = 0
    # Pool a's record now has an option its driver refuses: it cannot be
    # opened any more.
    stores.pools.write('a', False, {'options': {'max_pool_size': 'many'}})
    assert refused(api, 'message_list', queue_name='q').status == 503
    assert refused(api, 'message_post', {'messages': [{'body': 1}]},
                   queue_name='q').status == 503
    assert post(api, 'other', 2)
    stores.pools.write('a', False, {'options': {}})
    assert len(post(api, 'q', 3)) == 1
    assert total(api, 'a', 'q') == 2


def test_choose_is_proportional_and_skips_weight_zero() -> None:
    pools = [pooling.Pool('a', 'x://a', 1), pooling.Pool('z', 'x://z', 0),
             pooling.Pool('b', 'x://b', 2)]
    chosen = [placement.choose(pools, lambda n, k=k: k).name
              for k in range(3)]
    assert chosen == ['a', 'b', 'b']
    assert placement.choose([pools[1]], lambda n: 0) is None


def test_a_signed_url_reaches_its_queues_pool(api: Api,
                                              tmp_path: Path) -> None:
    # Pre-signed URLs are checked above storage: the signed request takes
    # the same routed path as any other.
    api.conf.set_override('secret_key', 'placement-key', group='signed_url')
    add_pool(api, tmp_path, 'a')
    share = call(api, 'queue_share', {'methods': ['POST', 'GET']},
                 queue_name='q').body
    req = Request(project_id=PROJECT, client_id=CLIENT_ID,
                  params={'queue_name': 'q'},
                  body={'messages': [{'body': 'signed'}]}, body_size=64)
    req.signed = signed_url.Signed(share['signature'], share['expires'],
                                   share['methods'], share['paths'])
    req.context = oslo_context.RequestContext(project_id=PROJECT)
    assert api.call('message_post', req).status == 201
    assert api.stores.catalogue.lookup(PROJECT, 'q') == 'a'
    assert total(api, 'a', 'q') == 1
