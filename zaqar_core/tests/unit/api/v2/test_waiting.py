"""Long polling through the API: a listing or claim with ``wait`` answers
as soon as messages arrive, posted through another process (another
``Api`` on the same stores, each hearing the other's signals as serving
processes do), and not before; bounded in time and in number."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from collections.abc import Iterator
from typing import Any

import pytest
from oslo_config import cfg

from zaqar_core import bootstrap
from zaqar_core.api import arrivals
from zaqar_core.api import errors
from zaqar_core.api.request import Request
from zaqar_core.api.request import Result
from zaqar_core.api.service import Api
from zaqar_core.transport.gate import Gate

PROJECT = 'p'
QUEUE = 'q'
CLIENT_ID = '3381af92-2b9e-11e3-b191-71861300734c'
CLAIM = {'ttl': 60, 'grace': 60}


@pytest.fixture(params=['sqlite', 'redis'])
def backend_conf(request: pytest.FixtureRequest) -> cfg.ConfigOpts:
    return request.getfixturevalue(f'{request.param}_conf')


@pytest.fixture
def two_processes(backend_conf: cfg.ConfigOpts
                  ) -> Iterator[tuple[Api, Api]]:
    made = [bootstrap.make_api(backend_conf) for _ in range(2)]
    for api in made:
        api.arrivals.start()
    yield made[0], made[1]
    for api in made:
        api.arrivals.stop()
        api.stores.close()


def call(api: Api, action: str, body: Any = None, queue: str = QUEUE,
         **params: Any) -> Result:
    return api.call(action, Request(
        project_id=PROJECT, client_id=CLIENT_ID,
        params={'queue_name': queue, **params}, body=body, body_size=64))


def post(api: Api, queue: str = QUEUE, **message: Any) -> Result:
    return call(api, 'message_post',
                {'messages': [{'body': 'b', 'ttl': 300, **message}]},
                queue=queue)


class Background:
    """A call run on a thread of its own: its result, and when it came."""

    def __init__(self, run: Callable[[], Any]) -> None:
        self.result: Any = None
        self.error: BaseException | None = None
        self.done_at = 0.0
        self._thread = threading.Thread(target=self._run, args=(run,))
        self._thread.start()

    def _run(self, run: Callable[[], Any]) -> None:
        try:
            self.result = run()
        except BaseException as exc:
            self.error = exc
        self.done_at = time.monotonic()

    def join(self, timeout: float = 30) -> Any:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), 'the call did not return'
        if self.error is not None:
            raise self.error
        return self.result

    @property
    def running(self) -> bool:
        return self._thread.is_alive()


def waiting_heard(api: Api, timeout: float = 5) -> None:
    """Until ``api``'s process heard that some process waits."""
    deadline = time.monotonic() + timeout
    while not api.arrivals.someone_waits():
        assert time.monotonic() < deadline, 'no process heard the waiter'
        time.sleep(0.01)


def until_waiting(api: Api, timeout: float = 5) -> None:
    """Until a request of ``api``'s process waits."""
    deadline = time.monotonic() + timeout
    while not api.arrivals.waiting:
        assert time.monotonic() < deadline, 'no request waits'
        time.sleep(0.01)


@pytest.mark.parametrize('wait, said', [
    ('21', 'no greater than 20 seconds'),
    ('-1', 'at least 0'),
    ('soon', 'must be an integer'),
])
def test_wait_is_bounded(sqlite_conf: cfg.ConfigOpts, wait: str,
                         said: str) -> None:
    api = bootstrap.make_api(sqlite_conf)
    for action, body in (('message_list', None), ('claim_create', CLAIM)):
        with pytest.raises(errors.BadRequest, match=said):
            call(api, action, body, wait=wait)
    assert call(api, 'message_list', wait='0').status == 200
    api.stores.close()


def test_wait_can_be_turned_off(sqlite_conf: cfg.ConfigOpts) -> None:
    sqlite_conf.set_override('max_message_wait', 0, group='transport')
    api = bootstrap.make_api(sqlite_conf)
    with pytest.raises(errors.BadRequest, match='does not wait'):
        call(api, 'claim_create', CLAIM, wait='1')
    assert call(api, 'claim_create', CLAIM, wait='0').status == 204
    api.stores.close()


def test_a_listing_answers_when_a_message_arrives_elsewhere(
        two_processes: tuple[Api, Api]) -> None:
    here, there = two_processes
    listing = Background(lambda: call(here, 'message_list', wait='10',
                                      echo='true'))
    waiting_heard(there)
    time.sleep(0.2)
    assert listing.running, 'answered before anything arrived'
    post(there)
    posted_at = time.monotonic()
    found = listing.join()
    assert [m['body'] for m in found.body['messages']] == ['b']
    assert listing.done_at - posted_at < 0.5


def test_a_claim_answers_when_a_message_arrives_elsewhere(
        two_processes: tuple[Api, Api]) -> None:
    here, there = two_processes
    claim = Background(lambda: call(here, 'claim_create', CLAIM,
                                    wait='10'))
    waiting_heard(there)
    post(there, body='first')
    posted_at = time.monotonic()
    claimed = claim.join()
    assert claim.done_at - posted_at < 0.5
    assert claimed.status == 201
    assert [m['body'] for m in claimed.body['messages']] == ['first']


def test_a_waiting_claim_takes_what_a_released_claim_frees(
        two_processes: tuple[Api, Api]) -> None:
    here, there = two_processes
    post(there)
    held = call(there, 'claim_create', CLAIM)
    claim = Background(lambda: call(here, 'claim_create', CLAIM,
                                    wait='10'))
    waiting_heard(there)
    time.sleep(0.2)
    assert claim.running
    call(there, 'claim_delete', claim_id=held.body['claim_id'])
    released_at = time.monotonic()
    assert claim.join().status == 201
    assert claim.done_at - released_at < 0.5


def test_a_post_to_another_queue_does_not_answer(
        two_processes: tuple[Api, Api]) -> None:
    here, there = two_processes
    started = time.monotonic()
    claim = Background(lambda: call(here, 'claim_create', CLAIM,
                                    wait='1'))
    waiting_heard(there)
    post(there, queue='elsewhere')
    assert claim.join().status == 204
    assert claim.done_at - started >= 0.95


def test_a_message_freed_by_the_clock_is_seen_without_a_signal(
        sqlite_conf: cfg.ConfigOpts,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Delays end, claims expire: nothing signals it, so the waiter looks
    # again on its own.
    monkeypatch.setattr(arrivals, 'BACKSTOP', 0.3)
    api = bootstrap.make_api(sqlite_conf)
    call(api, 'queue_create', {'_default_message_delay': 1})
    post(api, delay=1)
    started = time.monotonic()
    claimed = call(api, 'claim_create', CLAIM, wait='5')
    assert claimed.status == 201
    assert 0.5 < time.monotonic() - started < 2.5
    api.stores.close()


def test_without_waiters_a_post_signals_nothing(
        two_processes: tuple[Api, Api],
        monkeypatch: pytest.MonkeyPatch) -> None:
    here, there = two_processes
    sent: list[str] = []
    notify = there.stores.signals.notify

    def counted(channel: str) -> None:
        sent.append(channel)
        notify(channel)
    monkeypatch.setattr(there.stores.signals, 'notify', counted)
    post(there)
    assert sent == []
    claim = Background(lambda: call(here, 'claim_create', CLAIM,
                                    queue='other', wait='10'))
    waiting_heard(there)
    post(there)
    assert claim.running  # nothing arrived in its queue
    assert sent == [arrivals.channel(arrivals.bucket(PROJECT, QUEUE))]
    post(there, queue='other')
    assert claim.join().status == 201


def test_waiting_requests_are_limited(sqlite_conf: cfg.ConfigOpts) -> None:
    sqlite_conf.set_override('max_waiting_requests', 1, group='transport')
    api = bootstrap.make_api(sqlite_conf)
    first = Background(lambda: call(api, 'claim_create', CLAIM, wait='10'))
    until_waiting(api)
    with pytest.raises(errors.TooManyRequests) as refused:
        call(api, 'message_list', wait='1')
    assert refused.value.status == 429
    assert refused.value.headers == {'Retry-After': '1'}
    # Without waiting, nothing is limited.
    assert call(api, 'message_list').status == 200
    post(api)
    assert first.join().status == 201
    assert call(api, 'message_list', wait='1').status == 200
    api.stores.close()


def test_a_waiting_request_steps_out_of_the_gate(
        sqlite_conf: cfg.ConfigOpts) -> None:
    api = bootstrap.make_api(sqlite_conf)
    api.gate = Gate(1)

    def waiting_claim() -> Result:
        with api.gate.working():
            return call(api, 'claim_create', CLAIM, wait='10')
    claim = Background(waiting_claim)
    until_waiting(api)
    # The only slot is free while the claim waits: the post gets in.
    poster = Background(lambda: _gated_post(api))
    poster.join(5)
    assert claim.join().status == 201
    api.stores.close()


def _gated_post(api: Api) -> Result:
    with api.gate.working():
        return post(api)


def test_a_stopping_process_waits_no_more(
        sqlite_conf: cfg.ConfigOpts) -> None:
    api = bootstrap.make_api(sqlite_conf)
    claim = Background(lambda: call(api, 'claim_create', CLAIM, wait='10'))
    until_waiting(api)
    released_at = time.monotonic()
    api.arrivals.release_all()
    assert claim.join().status == 204
    assert claim.done_at - released_at < 0.5
    started = time.monotonic()
    assert call(api, 'message_list', wait='10').status == 200
    assert time.monotonic() - started < 0.5
    api.stores.close()
