"""The store goes away under load and comes back: while it is down the
server answers 503 with the JSON error, at once, and it recovers on its
own once the store is back, without losing an accepted message.

Redis is killed and started again (with ``appendfsync always``, so what
it acknowledged it still has: see "Redis persistence" in
doc/source/admin/redis.rst for the other settings). PostgreSQL serves
the whole machine, so it is not restarted: every connection to the test
database is terminated instead, which is what a restart does to clients.
"""

from __future__ import annotations

import threading
import time
import urllib.parse
import uuid
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from zaqar_testing.redis_servers import RedisServer
from zaqar_testing.zaqar_servers import ZaqarServer

from .helpers import ApiClient
from .helpers import same_store

#: How long after the store is back every request must succeed again.
RECOVERY = 2.0
#: The longest a request may take while the store is down.
DOWN_ANSWER = 3.0


class Producer:
    """Posts numbered messages one at a time, keeping every answer."""

    def __init__(self, url: str) -> None:
        self.session = requests.Session()
        self.session.headers.update({'Client-ID': str(uuid.uuid4()),
                                     'X-Project-Id': 'outage'})
        self.url = f'{url}/v2/queues/outage/messages'
        #: (sent, took, status or the exception's name, number)
        self.answers: list[tuple[float, float, int | str, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def __enter__(self) -> Producer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        number = 0
        while not self._stop.is_set():
            number += 1
            sent = time.monotonic()
            try:
                resp = self.session.post(self.url, timeout=10, json={
                    'messages': [{'body': number, 'ttl': 3600}]})
                outcome: int | str = resp.status_code
                if resp.status_code == 503:
                    assert resp.json()['title'], resp.text
            except requests.RequestException as exc:
                outcome = type(exc).__name__
            self.answers.append((sent, time.monotonic() - sent, outcome,
                                 number))
            if outcome != 201:
                time.sleep(0.05)

    def accepted(self) -> set[int]:
        return {n for _, _, outcome, n in self.answers if outcome == 201}

    def between(self, start: float, end: float) -> list[int | str]:
        return [outcome for sent, _, outcome, _ in self.answers
                if start <= sent < end]


def stored(url: str) -> set[int]:
    client = ApiClient(url, project_id='outage')
    found: set[int] = set()
    marker = None
    while True:
        params = {'limit': 20, 'echo': 'true'}
        if marker:
            params['marker'] = marker
        resp = client.get('/v2/queues/outage/messages', params=params)
        assert resp.status_code in (200, 204), resp.text
        if resp.status_code == 204 or not resp.json()['messages']:
            return found
        body = resp.json()
        found |= {m['body'] for m in body['messages']}
        (href,) = [link['href'] for link in body['links']
                   if link['rel'] == 'next']
        marker = urllib.parse.parse_qs(
            urllib.parse.urlsplit(href).query)['marker'][0]


def test_redis_killed_and_restarted_under_load(tmp_path: Path) -> None:
    redis = RedisServer(tmp_path / 'redis', options=[
        '--appendonly', 'yes', '--appendfsync', 'always']).start()
    # A request retries a refused connection twice, 0.5 s apart, then
    # answers 503 (upstream's defaults, 10 times 1 s, make a request wait
    # out an outage of up to 10 s instead).
    store = {'uri': redis.uri, 'max_reconnect_attempts': 2,
             'reconnect_sleep': 0.5}
    (tmp_path / 'zaqar').mkdir()
    server = ZaqarServer(tmp_path / 'zaqar', {
        'DEFAULT': {'auth_strategy': ''},
        'drivers': {'message_store': 'redis', 'management_store': 'redis'},
        'drivers:message_store:redis': store,
        'drivers:management_store:redis': dict(store),
        'drivers:transport:wsgi': {'workers': 2}})
    try:
        server.start()
        with Producer(server.url) as producer:
            time.sleep(2)
            down = time.monotonic()
            redis.stop()
            time.sleep(3)
            redis.restart()
            up = time.monotonic()
            time.sleep(RECOVERY + 2)
        during = producer.between(down, up)
        assert during, ('no request while Redis was down', [
            (round(sent - down, 2), round(took, 2), outcome)
            for sent, took, outcome, _ in producer.answers
            if down - 1 < sent < up + 1])
        assert set(during) <= {201, 503}, during  # 201: before it died
        assert 503 in during
        assert max(took for sent, took, _, _ in producer.answers
                   if down <= sent < up) < DOWN_ANSWER
        after = producer.between(up + RECOVERY, float('inf'))
        assert after and set(after) == {201}, after
        assert producer.accepted() <= stored(server.url)
    finally:
        server.stop()
        redis.stop()


@pytest.fixture(scope='session', params=['postgresql'])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


def test_postgresql_connections_cut_under_load(make_server) -> None:
    server = make_server(private_store=True)
    uri = sa.engine.make_url(
        same_store(server)['drivers:message_store:sqlalchemy']['uri'])
    admin = sa.create_engine(uri.set(database='test'),
                             isolation_level='AUTOCOMMIT')
    try:
        with Producer(server.url) as producer:
            time.sleep(2)
            cut = time.monotonic()
            with admin.connect() as conn:
                killed = conn.execute(sa.text(
                    'SELECT count(pg_terminate_backend(pid)) FROM '
                    'pg_stat_activity WHERE datname = :name AND '
                    'pid <> pg_backend_pid()'),
                    {'name': uri.database}).scalar()
            assert killed
            time.sleep(RECOVERY + 2)
    finally:
        admin.dispose()
    during = producer.between(cut, cut + RECOVERY)
    assert set(during) <= {201, 503}, during
    after = producer.between(cut + RECOVERY, float('inf'))
    assert after and set(after) == {201}, after
    assert producer.accepted() <= stored(server.url)
