"""Version discovery, the home document, ping and health."""

import threading
import time
import uuid
from concurrent import futures
from typing import TYPE_CHECKING

from zaqar_core import uris
from zaqar_core.api import errors
from zaqar_core.api.request import Request
from zaqar_core.api.request import Result
from zaqar_core.api.v2 import home
from zaqar_core.api.v2 import registry
from zaqar_core.api.v2.registry import action
from zaqar_core.storage import checks
from zaqar_core.storage import errors as storage_errors
from zaqar_core.storage import pools as pooling
from zaqar_core.storage.base import DataDriverBase
from zaqar_core.storage.base import QueueControllerBase
from zaqar_core.storage.base import StoreState
from zaqar_core.storage.pool_drivers import PoolDrivers

if TYPE_CHECKING:
    from zaqar_core.api.service import Api

VERSIONS = {'versions': [{
    'id': '2',
    'status': 'CURRENT',
    'updated': '2014-9-24T04:06:47Z',
    'media-types': [{
        'base': 'application/json',
        'type': 'application/vnd.openstack.messaging-v2+json',
    }],
    'links': [{'href': '/v2/', 'rel': 'self'}],
}]}


@action('get_versions', None, 'GET', '/', anonymous=True)
def get_versions(api: 'Api', req: Request) -> Result:
    return Result(200, VERSIONS)


@action('get_home_doc', None, 'GET', '/v2/')
def get_home_doc(api: 'Api', req: Request) -> Result:
    """The JSON-Home document of the REST resources."""
    return Result(200, home.document(registry.switches(api.conf)))


#: Seconds each store has to answer ping and health: both stores fit in
#: a second when one is down.
CHECK_TIMEOUT = 0.4


class StorageUnavailable(errors.ApiError):
    """A store does not answer or has no current schema (no "try again
    in a few seconds": a schema waits for an operator)."""

    status = 503
    title = 'Service temporarily unavailable'


@action('ping_node', 'ping:get', 'GET', '/v2/ping')
def ping_node(api: 'Api', req: Request) -> Result:
    failing = [report for report in checks.check(api.conf, api.stores,
                                                 CHECK_TIMEOUT)
               if not report.ok]
    if failing:
        # Anyone may ping: no URI and no file names, those are in health.
        raise StorageUnavailable(' '.join(
            checks.describe(report, api.conf, detailed=False) + '.'
            for report in failing))
    return Result(204)


@action('ping_node_head', 'ping:get', 'HEAD', '/v2/ping')
def ping_node_head(api: 'Api', req: Request) -> Result:
    # HEAD answers that the API is up without touching storage.
    return Result(204)


#: Pools /v2/health checks at once, and how long it waits for them all.
POOL_CHECKS = 8
POOLS_DEADLINE = 1.0
#: How long it waits for the operation probes of the pools that answered.
PROBES_DEADLINE = 5.0

_pool_checker: futures.ThreadPoolExecutor | None = None
#: The last check of each pool: one still running is waited for again,
#: not repeated, so a pool that hangs ties up one thread, not more.
_pool_checks: dict[str, futures.Future] = {}
_pool_probes: dict[str, futures.Future] = {}
_pool_checks_lock = threading.Lock()


@action('check_node_health', 'health:get', 'GET', '/v2/health',
        requires=registry.ADMIN)
def check_node_health(api: 'Api', req: Request) -> Result:
    reports = checks.check(api.conf, api.stores, CHECK_TIMEOUT)
    reachable = all(report.ok for report in reports)
    body: dict = {'storage_reachable': reachable, 'stores': {
        report.label.replace(' ', '_'):
            {'ok': True} if report.ok else
            {'ok': False, 'problem': checks.describe(report, api.conf)}
        for report in reports}}
    if api.settings.pooling:
        # The catalogue is in the management store.
        body['catalog_reachable'] = reports[0].ok
        body['pools'] = _pool_health(api) if reports[0].ok else {}
    if reachable:
        body['operation_status'] = _probe(
            api.stores.home, api.stores.control.queue_controller)
    return Result(200, body)


def _pool_health(api: 'Api') -> dict[str, dict]:
    """Whether each pool's store answers, all checked at once and within
    about :data:`POOLS_DEADLINE`, however many are down."""
    global _pool_checker
    pools, marker = [], None
    while page := api.stores.pools.list(marker, 100):
        pools += page
        marker = page[-1].name
    drivers = api.stores.pool_drivers
    drivers.forget({pool.name for pool in pools})

    def check(pool: pooling.Pool) -> StoreState:
        try:
            driver = drivers.driver(pool)
        except storage_errors.StorageError as exc:
            return StoreState(f'cannot be opened: {exc}')
        return driver.check(CHECK_TIMEOUT)

    pending = {}
    with _pool_checks_lock:
        if _pool_checker is None:
            _pool_checker = futures.ThreadPoolExecutor(
                POOL_CHECKS, thread_name_prefix='zaqar-pool-check')
        for pool in pools:
            running = _pool_checks.get(pool.name)
            if running is None or running.done():
                running = _pool_checks[pool.name] = _pool_checker.submit(
                    check, pool)
            pending[running] = pool
        for name in set(_pool_checks) - {pool.name for pool in pools}:
            del _pool_checks[name]
    futures.wait(pending, timeout=POOLS_DEADLINE)
    health = {}
    probes = {}
    for future, pool in pending.items():
        state = future.result() if future.done() else StoreState(
            f'does not answer within {POOLS_DEADLINE:g} s')
        entry: dict = {'storage_reachable': state.problem is None}
        if state.problem is not None:
            entry['problem'] = (f'The pool {pool.name} '
                                f'({uris.redacted(pool.uri)}) '
                                f'{" ".join(state.problem.split())}')
        else:
            probes[_probe_of(pool, drivers)] = entry
        health[pool.name] = entry
    # Upstream's per-pool write probe; one that has not finished by then
    # is left out (the pool answered its check: it is slow, not down).
    done, _ = futures.wait(probes, timeout=PROBES_DEADLINE)
    for future in done:
        probes[future]['operation_status'] = future.result()
    return health


def _probe_of(pool: pooling.Pool, drivers: PoolDrivers) -> futures.Future:
    """The operation probe of ``pool``: a new one, or the one still running
    (a slow pool never holds more than one thread with probes)."""
    with _pool_checks_lock:
        running = _pool_probes.get(pool.name)
        if running is None or running.done():
            # Opened by its check just now: getting it never waits.
            running = _pool_probes[pool.name] = _pool_checker.submit(
                _probe, drivers.driver(pool))
        for name in set(_pool_probes) - set(_pool_checks):
            del _pool_probes[name]
        return running


def _probe(data: DataDriverBase,
           queues: QueueControllerBase | None = None) -> dict:
    """Run each basic operation once on a throwaway queue of ``data``,
    timing it; the queue is made and deleted in ``queues`` too, if given.
    Never through the catalogue: a probe queue placed on a pool would keep
    its place there."""
    project = f'zaqar-health-{uuid.uuid4().hex}'
    queue = 'health'
    messages = data.message_controller
    claims = data.claim_controller
    state: dict = {}
    status: dict = {}

    def timed(name: str, operation) -> None:
        start = time.monotonic()
        try:
            state[name] = operation()
            succeeded = True
        except storage_errors.StorageError:
            succeeded = False
        status[name] = {'succeeded': succeeded,
                        'seconds': round(time.monotonic() - start, 6),
                        'ref': None}

    body = {'body': {'event': 'health'}, 'ttl': 600, 'delay': 0}
    if queues is not None:
        timed('create_queue', lambda: queues.create(project, queue))
    timed('post_messages', lambda: messages.post(
        project, queue, [body] * 100, 'health'))
    timed('claim_messages', lambda: claims.create(
        project, queue, 60, 300, 10))
    timed('list_messages', lambda: messages.list(
        project, queue, limit=10, include_claimed=True))
    claimed = state.get('claim_messages') or (None, [], 0)
    if claimed[1]:
        first = claimed[1][0]
        timed('delete_messages', lambda: messages.delete(
            project, queue, first['id'], first['claim_id']))
        timed('delete_claim', lambda: claims.delete(
            project, queue, first['claim_id']))
    timed('bulk_delete_messages', lambda: messages.bulk_delete(
        project, queue, state.get('post_messages') or []))
    timed('delete_queue', lambda: (
        queues is not None and queues.delete(project, queue),
        messages.purge(project, queue)))
    return status
