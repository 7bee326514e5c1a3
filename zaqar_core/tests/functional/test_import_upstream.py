"""``zaqar-manage import-upstream`` against the real upstream Zaqar 23.0.1.

Each scenario is an operator's cut-over: an upstream ``zaqar-server``
(from a virtualenv of its own, see :mod:`zaqar_testing.upstream`) on
upstream's Redis message store and one of its management stores gets a
realistic deployment through python-zaqarclient: two projects, queues
with reserved and custom metadata, messages of every JSON type in a known
order, a live claim, delayed messages, an encrypting queue, a queue of
1050 messages (several batches), a queue whose name has a dot, webhook and
mailto subscriptions (confirmed and not) and, pooled, pools and a flavor.
What upstream shows through the client is captured, upstream is stopped,
the import runs (``zaqar-manage --config-file OURS import-upstream
--from-config-file UPSTREAM``), our ``zaqar-server`` starts on its
stores, and everything is read back through the client and compared:
message ids are new, TTLs are compared as expiry instants, the claim is
gone (its message free again) and delays still hold. A second run writes
nothing.

What upstream 23.0.1 does that shaped this module (checked while writing
it, not assumptions):

* listing messages with ``include_claimed`` and no marker fails with 503
  on the Redis store (``ZRANK key None``), and a listing's ``next`` link
  after a page that ends with the queue's first message starts over:
  upstream's view of every message is read by id, its default listing
  one page at a time;
* a message's ``delay`` is dropped at POST unless its queue has a
  ``_default_message_delay``, and only such queues hide delayed messages;
* ``_max_claim_count`` & co. set through the client's ``metadata()``
  are lost (the client sends ``add`` then ``remove`` for keys the server
  shows as null): queues are created with their metadata instead;
* the client refuses queue names with a dot, upstream accepts them, and
  its Redis management store lists ``v1.events`` as ``v1``: the dotted
  queue lives in a project of its own, read with the client's ``core``
  calls (no name check);
* subscriptions start unconfirmed; ``PUT .../confirm`` confirms one
  without any mail set up (the client has no call for it);
* the Redis management store cannot create pools (a ``TypeError``), and
  the SQL schema of SQLite and PostgreSQL stays at revision 005, whose
  ``Flavors.pool_group`` is ``NOT NULL``: flavors exist upstream only on
  MySQL (schema 007), hence the ``pools-mysql`` scenario;
* unflavored queues may land on a flavored pool (its SQL pool query for
  "no flavor" does not filter), and a flavor's capabilities are stored
  as upstream computed them, a JSON list of numbers (``[1, 2, 4, 5]``),
  whatever the request said.

The import command is someone else's; :func:`run_import`,
:func:`assert_nothing_written` and :func:`assert_dry_run_counts` are
where its command line and summary are spelled.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from zaqarclient.queues.v2 import client as zaqar_client
from zaqarclient.queues.v2 import core

from zaqar_testing import upstream as upstream_harness
from zaqar_testing.databases import Database
from zaqar_testing.databases import DatabaseFactory
from zaqar_testing.ports import free_port
from zaqar_testing.redis_servers import RedisServer
from zaqar_testing.upstream import UpstreamZaqar
from zaqar_testing.zaqar_servers import Sections
from zaqar_testing.zaqar_servers import ZaqarServer
from zaqar_testing.zaqar_servers import stop_servers

from .helpers import ApiClient

# The harness's fixtures: the upstream virtualenv and servers.
upstream_zaqar_venv = upstream_harness.upstream_zaqar_venv
make_upstream = upstream_harness.make_upstream

#: ``[transport] message_encryption_key`` of both deployments.
KEY = 'import-upstream-test-key-7f3a9c'
PROJECT_A = 'import-a'
PROJECT_B = 'import-b'
#: The project of the dotted queue (the client cannot list it).
PROJECT_DOTS = 'import-dots'
PROJECTS = (PROJECT_A, PROJECT_B, PROJECT_DOTS)
DOTTED = 'v1.events'
#: A string upstream's Redis must hold only encrypted.
SECRET = 'the launch code is 0000'
#: The bulk queue: more than two of the import's windows of 500 entries
#: of upstream's queue index, so several batches.
BULK = 1050
#: Seconds two expiry instants (now + ttl - age, read at different
#: times, ages in whole seconds) may differ.
TOLERANCE = 5.0
IMPORT_TIMEOUT = 300
PAGE = 20
MANAGE = Path(sys.executable).with_name('zaqar-manage')


# -- the command and its summary ---------------------------------------------

def run_import(ours_conf: Path, upstream_conf: Path,
               *extra: str) -> subprocess.CompletedProcess:
    """``zaqar-manage --config-file OURS import-upstream
    --from-config-file UPSTREAM [EXTRA...]``, from our virtualenv."""
    command = [str(MANAGE)] if MANAGE.exists() else \
        [sys.executable, '-m', 'zaqar_core.cmd.manage']
    started = time.monotonic()
    result = subprocess.run(
        [*command, '--config-file', str(ours_conf), 'import-upstream',
         '--from-config-file', str(upstream_conf), *extra],
        cwd=ours_conf.parent, capture_output=True, text=True,
        timeout=IMPORT_TIMEOUT, stdin=subprocess.DEVNULL, check=False)
    # Shown with a failing test's output.
    print(f'--- import-upstream {" ".join(extra)} '
          f'({time.monotonic() - started:.1f} s): {output_of(result)}')
    return result


def output_of(result: subprocess.CompletedProcess) -> str:
    return (f'exit {result.returncode}\n--- stdout ---\n{result.stdout}'
            f'--- stderr ---\n{result.stderr}')


def assert_imported(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, output_of(result)


def assert_nothing_written(stdout: str) -> None:
    """The summary of a run that found everything imported already."""
    found = re.findall(r'\bwritten: (\d+)', stdout)
    assert found, f'no "written: N" in the summary:\n{stdout}'
    assert found[-1] == '0', f'a second run wrote something:\n{stdout}'


def assert_dry_run_counts(stdout: str, *, queues: int, messages: int,
                          subscriptions: int) -> None:
    """The summary of a dry run names what it would import."""
    for kind, count in (('queues', queues), ('messages', messages),
                        ('subscriptions', subscriptions)):
        lines = [line for line in stdout.splitlines()
                 if line.strip().startswith(f'{kind}:')]
        assert lines, f'no "{kind}:" line in the summary:\n{stdout}'
        assert re.search(rf'\b{count} would import\b', lines[-1]), \
            f'expected {count} {kind} to import:\n{stdout}'


# -- python-zaqarclient ------------------------------------------------------

class AdminClient(zaqar_client.Client):
    """The client, sending ``X-Roles: admin`` (pools and flavors)."""

    def _request_and_transport(self):  # type: ignore[no-untyped-def]
        req, trans = super()._request_and_transport()
        req.headers['X-Roles'] = 'admin'
        return req, trans


class Api:
    """python-zaqarclient (v2, HTTP, no auth) in one project.

    ``api(core.queue_get, name)`` runs one of the client's ``core``
    calls, which check no queue name (the dotted one included).
    """

    def __init__(self, url: str, project: str, admin: bool = False
                 ) -> None:
        conf = {'auth_opts': {'backend': 'noauth',
                              'options': {'os_project_id': project}},
                'client_uuid': str(uuid.uuid4())}
        cls = AdminClient if admin else zaqar_client.Client
        self.client = cls(url, version=2, conf=conf)
        self.url = url
        self.project = project

    def __call__(self, operation: Callable[..., Any], *args: Any,
                 **kwargs: Any) -> Any:
        req, trans = self.client._request_and_transport()
        return operation(trans, req, *args, **kwargs)

    def pages(self, first: dict | None, key: str) -> list[dict]:
        """Every item of a listing, following its ``next`` links."""
        items: list[dict] = []
        page = first
        for _ in range(1000):
            if not page or not page.get(key):
                return items
            items += page[key]
            following = [link['href'] for link in page.get('links', [])
                         if link.get('rel') == 'next']
            if not following:
                return items
            page = self.client.follow(following[0])
        raise AssertionError(f'{key}: more than 1000 pages')


def ids_of(posted: dict) -> list[str]:
    return [href.rsplit('/', 1)[1] for href in posted['resources']]


# -- the deployment written upstream -----------------------------------------

@dataclasses.dataclass
class Written:
    """What the test wrote upstream, to read upstream's view back."""

    #: project -> queue names.
    queues: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    #: (project, queue) -> ids of the messages posted, in order.
    messages: dict[tuple[str, str], list[str]] = dataclasses.field(
        default_factory=dict)
    #: (project, queue) of the queues with subscriptions.
    subscribed: list[tuple[str, str]] = dataclasses.field(
        default_factory=list)
    pools: list[str] = dataclasses.field(default_factory=list)
    flavors: list[str] = dataclasses.field(default_factory=list)
    #: Where the webhooks point (nothing listens there).
    hook: str = ''

    def queue(self, api: Api, name: str,
              metadata: dict[str, Any] | None = None) -> None:
        api(core.queue_create, name, metadata=metadata)
        self.queues.setdefault(api.project, []).append(name)
        self.messages[(api.project, name)] = []

    def post(self, api: Api, name: str, *messages: dict) -> list[str]:
        ids = ids_of(api(core.message_post, name,
                         {'messages': list(messages)}))
        self.messages[(api.project, name)] += ids
        return ids


def write_deployment(url: str, *, pooled: bool = False,
                     pool_uris: tuple[str, str] = ('', ''),
                     flavors: bool = False,
                     bulk: int = BULK) -> Written:
    """A realistic deployment, through the client, on upstream at
    ``url``."""
    written = Written()
    a = Api(url, PROJECT_A)
    if pooled:
        admin = Api(url, PROJECT_A, admin=True)
        admin.client.pool('pool-a', weight=100, uri=pool_uris[0])
        admin.client.pool('pool-b', weight=50, uri=pool_uris[1],
                          options={'max_reconnect_attempts': 3})
        written.pools += ['pool-a', 'pool-b']
        if flavors:
            admin.client.flavor('gold', pool_list=['pool-b'])
            written.flavors.append('gold')

    written.queue(a, 'orders', {
        '_max_claim_count': 5, '_dead_letter_queue': 'orders-dead',
        '_dead_letter_queue_messages_ttl': 7200,
        '_default_message_ttl': 1800, '_default_message_delay': 0,
        'owner': 'team-a', 'limits': {'burst': [1, 2.5], 'on': True}})
    written.queue(a, 'orders-dead')
    written.post(a, 'orders',
                 {'body': {'order': 1, 'items': ['a', 'b']}, 'ttl': 3000},
                 {'body': ['list', 2, None]},
                 {'body': 'a plain string'},
                 {'body': 42},
                 {'body': 2.5, 'ttl': 900},
                 {'body': False})
    # A live claim on the first message at import time.
    claimed = a.client.queue('orders').claim(ttl=600, grace=60, limit=1)
    assert [m.body for m in claimed] == [{'order': 1, 'items': ['a', 'b']}]

    written.queue(a, 'later', {'_default_message_delay': 300})
    written.post(a, 'later', {'body': 'now', 'delay': 0},
                 {'body': 'after the default delay'},
                 {'body': 'after a long delay', 'delay': 900})

    written.queue(a, 'secret', {'_enable_encrypt_messages': True,
                                'purpose': 'payments'})
    written.post(a, 'secret', {'body': {'card': '4111', 'cvv': 123}},
                 {'body': SECRET})

    written.queue(a, 'bulk')
    for start in range(0, bulk, PAGE):
        written.post(a, 'bulk', *({'body': {'n': n}, 'ttl': 3600}
                                  for n in range(start,
                                                 min(start + PAGE, bulk))))

    if pooled and flavors:
        written.queue(a, 'gold-orders', {'_flavor': 'gold', 'tier': 1})
        written.post(a, 'gold-orders', {'body': 'golden'})

    b = Api(url, PROJECT_B)
    written.queue(b, 'orders', {'region': 'eu', '_default_message_ttl': 7200})
    written.post(b, 'orders', {'body': 'b-first'}, {'body': {'b': 2}})
    written.queue(b, 'idle')

    dots = Api(url, PROJECT_DOTS)
    written.queue(dots, DOTTED, {'schema': 'v1'})
    written.post(dots, DOTTED, {'body': 'dotted'}, {'body': {'x': 1}})

    # Subscriptions last: nothing posted afterwards notifies them.
    hook = written.hook = f'http://127.0.0.1:{free_port()}'
    confirmed = a.client.subscription(
        'orders', subscriber=f'{hook}/x', ttl=3600,
        options={'headers': {'X-Token': 'abc'}, 'retries': 3})
    a.client.subscription(
        'orders', subscriber='mailto:ops@example.com', ttl=86400,
        options={'from': 'zaqar@example.com', 'subject': 'orders'})
    b.client.subscription('orders', subscriber=f'{hook}/b', ttl=7200)
    resp = ApiClient(url, project_id=PROJECT_A).put(
        f'/v2/queues/orders/subscriptions/{confirmed.id}/confirm',
        json={'confirmed': True})
    assert resp.status_code == 204, resp.text
    written.subscribed += [(PROJECT_A, 'orders'), (PROJECT_B, 'orders')]
    return written


# -- what a server shows -----------------------------------------------------

@dataclasses.dataclass
class Message:
    body: Any
    #: When it expires: now + ttl - age, when read.
    expires: float
    claimed: bool = False
    #: In the default listing (neither claimed nor delayed).
    listed: bool = True


@dataclasses.dataclass
class View:
    """What one server shows of the deployment through the client."""

    #: project -> queue names as its listing shows them.
    listed: dict[str, list[str]]
    #: (project, queue) -> metadata.
    metadata: dict[tuple[str, str], dict]
    #: (project, queue) -> every live message, in order.
    messages: dict[tuple[str, str], list[Message]]
    #: (project, queue) -> subscriber -> what the listing shows.
    subscriptions: dict[tuple[str, str], dict[str, dict]]
    #: name -> (weight, uri, flavor, options).
    pools: dict[str, dict]
    #: name -> sorted pool list.
    flavors: dict[str, list[str]]

    def bodies(self, key: tuple[str, str]) -> list:
        return [m.body for m in self.messages[key]]


def expiry(message: dict, now: float) -> float:
    return now + message['ttl'] - message['age']


def is_claimed(message: dict) -> bool:
    """A listed message is claimed when its href names the claim."""
    return 'claim_id=' in message.get('href', '') or \
        bool(message.get('claim_id'))


def view(url: str, written: Written, upstream: bool) -> View:
    """What the server at ``url`` shows of ``written``.

    Upstream's messages are read by id (see the module's docstring);
    ours by listing claimed and delayed ones too.
    """
    apis = {project: Api(url, project) for project in PROJECTS}
    listed = {}
    metadata = {}
    messages = {}
    for project, names in written.queues.items():
        api = apis[project]
        page = api(core.queue_list, limit=PAGE)
        listed[project] = sorted(q['name'] for q in page.get('queues', []))
        for name in names:
            metadata[(project, name)] = api(core.queue_get, name)
            messages[(project, name)] = (
                _upstream_messages(api, name,
                                   written.messages[(project, name)])
                if upstream else _our_messages(api, name))
    subscriptions = {}
    for project, name in written.subscribed:
        now = time.time()
        found = apis[project](core.subscription_list, name)
        subscriptions[(project, name)] = {
            s['subscriber']: {'id': s['id'], 'options': s['options'],
                              'confirmed': s['confirmed'],
                              'source': s['source'],
                              'expires': expiry(s, now)}
            for s in found.get('subscriptions', [])}
    pools: dict[str, dict] = {}
    flavors: dict[str, list[str]] = {}
    if written.pools:
        admin = Api(url, PROJECT_A, admin=True)
        for pool in admin(core.pool_list, detailed=True).get('pools', []):
            pools[pool['name']] = {key: pool.get(key) for key in (
                'weight', 'uri', 'flavor', 'options')}
        found = admin(core.flavor_list, detailed=True)
        for flavor in (found or {}).get('flavors', []):
            flavors[flavor['name']] = sorted(flavor['pool_list'])
    return View(listed, metadata, messages, subscriptions, pools, flavors)


def _upstream_messages(api: Api, name: str, ids: list[str]
                       ) -> list[Message]:
    now = time.time()
    found: dict[str, dict] = {}
    for start in range(0, len(ids), PAGE):
        page = api(core.message_get_many, name, ids[start:start + PAGE])
        found.update((m['id'], m) for m in page.get('messages', []))
    # One page: upstream's next link after a page that ends with the
    # queue's first message starts over (rank 0 is taken for "none").
    listed = {m['id'] for m in api(core.message_list, name, echo=True,
                                   limit=PAGE).get('messages', [])} \
        if len(ids) <= PAGE else set(ids)
    return [Message(found[i]['body'], expiry(found[i], now),
                    claimed=is_claimed(found[i]),
                    listed=i in listed)
            for i in ids if i in found]


def _our_messages(api: Api, name: str) -> list[Message]:
    now = time.time()
    every = api.pages(api(core.message_list, name, echo=True,
                          include_claimed=True, include_delayed=True,
                          limit=PAGE), 'messages')
    listed = {m['id'] for m in api.pages(
        api(core.message_list, name, echo=True, limit=PAGE), 'messages')}
    return [Message(m['body'], expiry(m, now),
                    claimed=is_claimed(m),
                    listed=m['id'] in listed) for m in every]


def upstream_listing(written: Written, management_store: str
                     ) -> dict[str, list[str]]:
    """The queue names upstream lists: its Redis management store cuts
    a name at its first dot."""
    return {project: sorted(
        name.split('.')[0] if management_store == 'redis' else name
        for name in names) for project, names in written.queues.items()}


def check_upstream_view(up: View, written: Written,
                        management_store: str) -> None:
    """Upstream shows what was written (so the comparison below
    compares something)."""
    assert up.listed == upstream_listing(written, management_store)
    orders = up.messages[(PROJECT_A, 'orders')]
    assert [m.claimed for m in orders] == [True] + [False] * 5
    assert [m.listed for m in up.messages[(PROJECT_A, 'later')]] == \
        [True, False, False]
    assert up.bodies((PROJECT_A, 'secret')) == [
        {'card': '4111', 'cvv': 123}, SECRET]
    assert up.bodies((PROJECT_A, 'bulk')) == [
        {'n': n} for n in range(len(written.messages[(PROJECT_A, 'bulk')]))]
    assert up.metadata[(PROJECT_A, 'orders')]['_max_claim_count'] == 5
    assert {subscriber: sub['confirmed'] for subscriber, sub in
            up.subscriptions[(PROJECT_A, 'orders')].items()} == {
        f'{written.hook}/x': True, 'mailto:ops@example.com': False}
    for key, ids in written.messages.items():
        assert len(up.messages[key]) == len(ids), key
    assert sorted(up.pools) == sorted(written.pools)
    assert sorted(up.flavors) == sorted(written.flavors)


def compare(ours: View, up: View, written: Written) -> None:
    """Our view of the import against upstream's before it stopped."""
    assert ours.listed == {project: sorted(names) for project, names in
                           written.queues.items()}
    assert ours.metadata == up.metadata
    for key in written.messages:
        assert ours.bodies(key) == up.bodies(key), key
        drift = [(m.body, round(o.expires - m.expires, 1))
                 for o, m in zip(ours.messages[key], up.messages[key],
                                 strict=True)
                 if abs(o.expires - m.expires) > TOLERANCE]
        assert not drift, f'{key}: expiry moved (body, seconds): {drift}'
        # Claims are not carried: every message is free; delays are.
        assert not any(m.claimed for m in ours.messages[key]), key
        assert [m.listed for m in ours.messages[key]] == \
            [m.listed or m.claimed for m in up.messages[key]], key
    assert ours.subscriptions.keys() == up.subscriptions.keys()
    for key, subs in up.subscriptions.items():
        mine = ours.subscriptions[key]
        assert sorted(mine) == sorted(subs), key
        for subscriber, theirs in subs.items():
            got = mine[subscriber]
            assert uuid.UUID(got['id']) == uuid.UUID(theirs['id'])
            assert (got['options'], got['confirmed'], got['source']) == \
                (theirs['options'], theirs['confirmed'], theirs['source'])
            assert abs(got['expires'] - theirs['expires']) <= TOLERANCE, \
                (subscriber, got['expires'] - theirs['expires'])
    assert ours.pools == up.pools
    assert ours.flavors == up.flavors


def redis_values(server: RedisServer) -> bytes:
    """Every string and hash value a Redis server holds, concatenated."""
    client = server.client()
    try:
        parts = []
        for key in client.scan_iter(count=1000):
            kind = client.type(key)
            if kind == b'hash':
                parts += client.hvals(key)
            elif kind == b'string':
                parts.append(client.get(key) or b'')
        return b'\n'.join(parts)
    finally:
        client.close()


def redis_keys(server: RedisServer) -> set[bytes]:
    client = server.client()
    try:
        return set(client.scan_iter(count=1000))
    finally:
        client.close()


# -- scenarios ---------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Scenario:
    #: Upstream's management store: sqlite, postgresql, mysql or redis.
    upstream: str
    #: Our stores: sqlite, postgresql or redis (the upstream's server).
    ours: str
    pooled: bool = False


SCENARIOS = {
    'sqlite': Scenario('sqlite', 'sqlite'),
    'redis': Scenario('redis', 'redis'),
    'postgresql': Scenario('postgresql', 'postgresql'),
    'pools-sqlite': Scenario('sqlite', 'sqlite', pooled=True),
    'pools-mysql': Scenario('mysql', 'sqlite', pooled=True),
}


class Stores:
    """The Redis servers and databases of one test, gone at its end."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.redis_servers: dict[str, RedisServer] = {}
        self.databases = DatabaseFactory(root)

    def redis(self, name: str) -> RedisServer:
        if name not in self.redis_servers:
            self.redis_servers[name] = RedisServer(
                self.root / f'redis-{name}').start()
        return self.redis_servers[name]

    def database(self, backend: str) -> Database:
        return self.databases.create(backend)

    def close(self) -> None:
        for server in self.redis_servers.values():
            server.stop()
        self.databases.drop_all()


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[Stores]:
    made = Stores(tmp_path / 'stores')
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def our_servers() -> Iterator[list[ZaqarServer]]:
    started: list[ZaqarServer] = []
    try:
        yield started
    finally:
        stop_servers(started)


def start_upstream(make: Callable[..., UpstreamZaqar], scenario: Scenario,
                   stores: Stores) -> UpstreamZaqar:
    if scenario.upstream == 'redis':
        management = {'management_store': 'redis',
                      'management_uri': stores.redis('upstream').uri}
    else:
        management = {'management_store': 'sqlalchemy',
                      'management_uri':
                      stores.database(scenario.upstream).uri}
    # Pooled, upstream keeps messages in the pools; its message store is
    # named all the same, so that nothing reads the machine's own Redis
    # (upstream's default URI).
    return make(message_uri=stores.redis('upstream').uri,
                pooling=scenario.pooled, encryption_key=KEY, **management)


def our_sections(scenario: Scenario, stores: Stores,
                 workdir: Path) -> Sections:
    if scenario.ours == 'sqlite':
        driver, uri = 'sqlalchemy', f'sqlite:///{workdir / "ours.db"}'
    elif scenario.ours == 'redis':
        # The very server upstream's data is on: both coexist.
        driver, uri = 'redis', stores.redis('upstream').uri
    else:
        driver, uri = 'sqlalchemy', stores.database(scenario.ours).uri
    default: dict[str, Any] = {'auth_strategy': ''}
    if scenario.pooled:
        default.update(pooling=True, admin_mode=True)
    return {
        'DEFAULT': default,
        'drivers': {'transport': 'wsgi', 'message_store': driver,
                    'management_store': driver},
        'drivers:transport:wsgi': {'workers': 2},
        f'drivers:message_store:{driver}': {'uri': uri},
        f'drivers:management_store:{driver}': {'uri': uri},
        'transport': {'message_encryption_key': KEY},
    }


def prepare_ours(scenario: Scenario, stores: Stores, root: Path
                 ) -> ZaqarServer:
    """Our server's configuration (not started), its PostgreSQL or
    MySQL schema made as an operator does before importing."""
    workdir = root / 'ours'
    workdir.mkdir(parents=True)
    server = ZaqarServer(workdir, our_sections(scenario, stores, workdir))
    if scenario.ours in ('postgresql', 'mysql'):
        result = subprocess.run(
            [sys.executable, '-m', 'zaqar_core.cmd.manage',
             '--config-file', str(server.conf_path), 'db', 'upgrade'],
            cwd=workdir, capture_output=True, text=True, timeout=120,
            check=False)
        assert result.returncode == 0, output_of(result)
    return server


def upstream_redis(stores: Stores) -> list[RedisServer]:
    return list(stores.redis_servers.values())


@pytest.mark.parametrize('scenario', list(SCENARIOS.values()),
                         ids=list(SCENARIOS))
def test_import_from_upstream(scenario: Scenario,
                              make_upstream: Callable[..., UpstreamZaqar],
                              stores: Stores,
                              our_servers: list[ZaqarServer],
                              tmp_path: Path) -> None:
    upstream = start_upstream(make_upstream, scenario, stores)
    flavors = scenario.pooled and upstream.supports_flavors
    pool_uris = (stores.redis('pool-a').uri, stores.redis('pool-b').uri) \
        if scenario.pooled else ('', '')
    written = write_deployment(upstream.url, pooled=scenario.pooled,
                               pool_uris=pool_uris, flavors=flavors)
    up = view(upstream.url, written, upstream=True)
    check_upstream_view(up, written, upstream.management_store)
    # Upstream keeps the secret queue's bodies encrypted.
    assert not any(SECRET.encode() in redis_values(server)
                   for server in upstream_redis(stores))
    upstream.stop()
    keys_before = {name: redis_keys(server)
                   for name, server in stores.redis_servers.items()}

    ours = prepare_ours(scenario, stores, tmp_path)
    result = run_import(ours.conf_path, upstream.conf_path)
    assert_imported(result)
    # The import only reads upstream's keys.
    for name, server in stores.redis_servers.items():
        missing = keys_before[name] - redis_keys(server)
        assert not missing, (name, sorted(missing)[:10])

    our_servers.append(ours.start())
    mine = view(ours.url, written, upstream=False)
    compare(mine, up, written)
    if scenario.ours == 'redis':
        # Sealed again in our envelope, not stored in the clear.
        assert SECRET.encode() not in redis_values(stores.redis('upstream'))

    again = run_import(ours.conf_path, upstream.conf_path)
    assert_imported(again)
    assert_nothing_written(again.stdout)
    unchanged = view(ours.url, written, upstream=False)
    for key in written.messages:
        assert unchanged.bodies(key) == mine.bodies(key), key
    assert unchanged.subscriptions.keys() == mine.subscriptions.keys()

    # The message upstream had claimed is free, and can be claimed here.
    claim = Api(ours.url, PROJECT_A).client.queue('orders').claim(
        ttl=60, grace=60, limit=1)
    assert [m.body for m in claim] == [up.bodies((PROJECT_A, 'orders'))[0]]


def test_dry_run_writes_nothing(make_upstream: Callable[..., UpstreamZaqar],
                                stores: Stores,
                                our_servers: list[ZaqarServer],
                                tmp_path: Path) -> None:
    scenario = SCENARIOS['sqlite']
    upstream = start_upstream(make_upstream, scenario, stores)
    written = write_deployment(upstream.url, bulk=30)
    upstream.stop()
    ours = prepare_ours(scenario, stores, tmp_path)

    result = run_import(ours.conf_path, upstream.conf_path, '--dry-run')
    assert_imported(result)
    assert_dry_run_counts(
        result.stdout, queues=sum(map(len, written.queues.values())),
        messages=sum(map(len, written.messages.values())),
        subscriptions=3)

    our_servers.append(ours.start())
    for project in PROJECTS:
        listed = Api(ours.url, project)(core.queue_list)
        assert not listed.get('queues'), (project, listed)

