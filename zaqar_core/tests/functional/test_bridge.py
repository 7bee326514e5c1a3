"""zaqar-bridge end to end: the real command, the real RabbitMQ.

Each bridge gets an exchange, a topic and a pool of its own (so runs and
pytest-xdist workers never see each other's notifications) and an SQLite
store; notifications are published with ``oslo_messaging.Notifier``, as
Nova publishes them, and read back from the store.

Environment:

* ``ZAQAR_TEST_RABBIT_URL``: the broker (default
  ``rabbit://guest:guest@127.0.0.1:5672/``).
* ``CI=true``: an unreachable broker fails the tests instead of skipping.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import oslo_messaging
import pytest
from oslo_config import cfg
from oslo_context import context as oslo_context

from zaqar_core import bootstrap
from zaqar_core import conf as zconf
from zaqar_core.conf.bridge import PRIORITIES
from zaqar_core.storage.stores import Stores
from zaqar_testing.ports import refusing_address
from zaqar_testing.processes import Process
from zaqar_testing.processes import tail
from zaqar_testing.rabbitmq import RABBIT_URL
from zaqar_testing.rabbitmq import Broker
from zaqar_testing.waiting import eventually
from zaqar_testing.zaqar_servers import write_config

TIMEOUT = 30.0
#: Seconds between polls: each asks the broker or reads the store.
POLL = 0.2
CREATE = 'compute.instance.create.end'


@pytest.fixture(scope='session')
def broker() -> Broker:
    found = Broker(RABBIT_URL)
    found.check()
    return found


class Bridge:
    """One ``zaqar-bridge`` process, its private bus names and store."""

    def __init__(self, workdir: Path, broker: Broker,
                 **options: Any) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.broker = broker
        unique = f'zaqar-test-{uuid.uuid4().hex[:12]}'
        self.exchange = self.topic = unique
        self.pool = f'{unique}-bridge'
        self.conf_path = workdir / 'zaqar.conf'
        self.log_path = workdir / 'bridge.log'
        uri = f'sqlite:///{workdir / "zaqar.sqlite"}'
        write_config(self.conf_path, {
            'DEFAULT': {'transport_url': RABBIT_URL,
                        'control_exchange': self.exchange,
                        'debug': True, 'auth_strategy': ''},
            'drivers': {'message_store': 'sqlalchemy',
                        'management_store': 'sqlalchemy'},
            'drivers:message_store:sqlalchemy': {'uri': uri},
            'drivers:management_store:sqlalchemy': {'uri': uri},
            'bridge': {'topics': [self.topic], 'pool': self.pool,
                       'exchanges': [], **options},
        })
        self.process: Process | None = None
        self.conf = zconf.register_opts(cfg.ConfigOpts())
        self.conf(['--config-file', str(self.conf_path)], project='zaqar',
                  default_config_files=[], default_config_dirs=[])
        self.transport: oslo_messaging.Transport | None = None
        self.stores: Stores | None = None

    def start(self) -> Bridge:
        self.process = process = Process(
            [sys.executable, '-m', 'zaqar_core.cmd.bridge',
             '--config-file', str(self.conf_path)], self.log_path)
        # Notifications published before the pool queue exists are lost;
        # the log line comes once the bridge's listener has started.
        process.wait_until(
            lambda: self.broker.consumers(self.pool) > 0 and
            'zaqar-bridge consuming' in self.log(),
            TIMEOUT, 'consuming', POLL)
        return self

    def stop(self) -> int | None:
        """SIGTERM, as init systems stop it; the exit status."""
        if self.process is None:
            return None
        self.process.stop(TIMEOUT)
        return self.process.returncode

    def close(self) -> None:
        self.stop()
        if self.transport is not None:
            self.transport.cleanup()
        if self.stores is not None:
            self.stores.close()
        # The publisher declared a queue per priority besides the pool's.
        self.broker.delete(
            [self.pool] + [f'{self.topic}.{p}' for p in PRIORITIES],
            [self.exchange])

    def log(self) -> str:
        return tail(self.log_path)

    def notify(self, event_type: str, payload: dict,
               project_id: str | None = None,
               publisher_id: str = 'compute.host1',
               priority: str = 'info') -> None:
        """Publish as an OpenStack service does."""
        if self.transport is None:
            self.transport = oslo_messaging.get_notification_transport(
                self.conf)
        notifier = oslo_messaging.Notifier(
            self.transport, publisher_id=publisher_id, driver='messagingv2',
            topics=[self.topic])
        ctxt = oslo_context.RequestContext(project_id=project_id,
                                           user_id='u')
        getattr(notifier, priority)(ctxt, event_type, payload)

    def messages(self, project: str, queue: str) -> list[dict]:
        if self.stores is None:
            self.stores = bootstrap.load_stores(self.conf)
        found, _ = self.stores.messages.list(project, queue, limit=20)
        return found

    def queues(self, project: str) -> list[str]:
        self.messages(project, 'x')  # opens the stores
        return [q['name'] for q in self.stores.queues.list(project)]

    def wait_messages(self, project: str, queue: str,
                      count: int = 1) -> list[dict]:
        return eventually(lambda: (
            found if len(found := self.messages(project, queue)) >= count
            else None), TIMEOUT, what=f'{count} message(s) in {queue}',
            interval=POLL)

    def wait_log(self, text: str) -> None:
        eventually(lambda: text in self.log(), TIMEOUT,
                   what=f'"{text}" in the bridge log', interval=POLL)


@pytest.fixture(scope='module')
def filtering(broker: Broker, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[Bridge]:
    """A bridge with filters, payload_fields and a per-service queue."""
    bridge = Bridge(tmp_path_factory.mktemp('bridge'), broker,
                    queue_name='{service}-events',
                    event_types=['compute.*', 'volume.*'],
                    exclude_event_types=['compute.instance.exists*'],
                    payload_fields=['instance_id', 'state', 'blob'],
                    message_ttl=600)
    try:
        yield bridge.start()
    finally:
        bridge.close()


@pytest.fixture(scope='module')
def routing(broker: Broker, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Bridge]:
    """A bridge with a default project and a per-publisher queue."""
    bridge = Bridge(tmp_path_factory.mktemp('bridge'), broker,
                    queue_name='{publisher_id}.{event_type}',
                    default_project='ops', priorities=['info', 'error'])
    try:
        yield bridge.start()
    finally:
        bridge.close()


def new_project() -> str:
    return uuid.uuid4().hex


def test_a_notification_becomes_a_message(filtering: Bridge) -> None:
    project = new_project()
    filtering.notify(CREATE, {'instance_id': 'i-1', 'state': 'active',
                              'image_ref': 'secret'}, project)
    (message,) = filtering.wait_messages(project, 'compute-events')
    body = message['body']
    assert body['event_type'] == CREATE
    assert body['publisher_id'] == 'compute.host1'
    assert body['priority'] == 'info'
    assert body['timestamp'] and body['message_id']
    # payload_fields: the rest of the payload stays out.
    assert body['payload'] == {'instance_id': 'i-1', 'state': 'active'}
    assert 500 < message['ttl'] <= 600
    assert filtering.queues(project) == ['compute-events']


def test_each_project_gets_its_own_events(filtering: Bridge) -> None:
    first, second = new_project(), new_project()
    filtering.notify(CREATE, {'instance_id': 'a'}, first)
    filtering.notify('volume.create.end', {'instance_id': 'b'}, second)
    # The payload's owner wins over the requester in the context.
    filtering.notify('volume.delete.end', {'tenant_id': second},
                     'admin-' + first)
    assert [m['body']['payload'] for m in filtering.wait_messages(
        first, 'compute-events')] == [{'instance_id': 'a'}]
    assert len(filtering.wait_messages(second, 'volume-events', 2)) == 2
    assert filtering.queues(first) == ['compute-events']
    assert filtering.queues('admin-' + first) == []


def test_filtered_and_orphan_notifications_are_dropped(filtering: Bridge
                                                       ) -> None:
    project, tag = new_project(), uuid.uuid4().hex
    filtering.notify(f'compute.instance.exists.{tag}', {}, project)
    filtering.notify(f'image.upload.{tag}', {}, project)
    filtering.notify(f'compute.instance.orphan.{tag}', {}, None)
    filtering.wait_log(f'compute.instance.exists.{tag}')
    filtering.wait_log(f'image.upload.{tag}')
    filtering.wait_log(f'compute.instance.orphan.{tag}')
    log = filtering.log()
    assert f'Dropped compute.instance.exists.{tag} ' in log
    assert f'Dropped image.upload.{tag} ' in log
    assert f'Dropped compute.instance.orphan.{tag} ' in log
    assert 'no project' in log
    assert filtering.queues(project) == []


def test_a_refused_message_is_dropped_and_the_bridge_goes_on(
        filtering: Bridge) -> None:
    project = new_project()
    # Past [transport] max_messages_post_size (256 KiB).
    filtering.notify(CREATE, {'blob': 'x' * 300_000}, project)
    filtering.notify(CREATE, {'state': 'after'}, project)
    (message,) = filtering.wait_messages(project, 'compute-events')
    assert message['body']['payload'] == {'state': 'after'}
    filtering.wait_log('refused it')


def test_queue_name_templates_and_default_project(routing: Bridge
                                                  ) -> None:
    project = new_project()
    routing.notify(CREATE, {'x': 1}, project, publisher_id='compute.h 1')
    routing.notify('identity.user.deleted', {'x': 2}, None,
                   publisher_id='identity.k', priority='error')
    queue = 'compute.h_1.compute.instance.create.end'
    (message,) = routing.wait_messages(project, queue)
    # No payload_fields: all of it.
    assert message['body']['payload'] == {'x': 1}
    (orphan,) = routing.wait_messages('ops',
                                      'identity.k.identity.user.deleted')
    assert orphan['body']['priority'] == 'error'
    assert orphan['body']['payload'] == {'x': 2}


def test_priorities_not_listed_are_not_consumed(routing: Bridge) -> None:
    project = new_project()
    routing.notify('compute.x.audited', {}, project, priority='audit')
    routing.notify('compute.x.after', {}, project, priority='info')
    routing.wait_messages(project, 'compute.host1.compute.x.after')
    assert 'compute.x.audited' not in routing.log()
    assert routing.queues(project) == ['compute.host1.compute.x.after']


def test_sigterm_stops_the_bridge_cleanly(broker: Broker,
                                          tmp_path: Path) -> None:
    bridge = Bridge(tmp_path, broker).start()
    try:
        assert bridge.stop() == 0
        assert 'zaqar-bridge stopped' in bridge.log()
        assert broker.consumers(bridge.pool) == 0
    finally:
        bridge.close()


def test_sigterm_while_the_bus_refuses_stops_the_bridge(
        tmp_path: Path) -> None:
    # oslo.messaging retries a refused bus forever; SIGTERM still ends it.
    conf_path = tmp_path / 'zaqar.conf'
    with refusing_address() as address:
        write_config(conf_path, {
            'DEFAULT': {'transport_url': f'rabbit://guest:guest@{address}/',
                        'state_path': tmp_path / 'state', 'debug': True},
            'bridge': {'topics': ['zaqar-test-refused'], 'exchanges': []}})
        process = Process([sys.executable, '-m', 'zaqar_core.cmd.bridge',
                           '--config-file', str(conf_path)],
                          tmp_path / 'bridge.log')
        try:
            process.wait_until(lambda: 'Connection refused' in process.log,
                               TIMEOUT, 'retrying the bus', POLL)
            process.stop(TIMEOUT)
            assert process.returncode == 0, process.log
            assert 'zaqar-bridge stopped while connecting to the bus' in \
                process.log
        finally:
            process.stop()


@pytest.mark.parametrize(('option', 'value', 'error'), [
    ('queue_name', '{tenant}', 'unknown field "{tenant}"'),
    ('message_ttl', 99999999, 'message_ttl 99999999 is outside'),
])
def test_bad_options_are_refused_before_anything_starts(
        tmp_path: Path, option: str, value: Any, error: str) -> None:
    conf_path = tmp_path / 'zaqar.conf'
    write_config(conf_path, {'DEFAULT': {'state_path': tmp_path / 'state'},
                             'bridge': {option: value}})
    done = subprocess.run(
        [sys.executable, '-m', 'zaqar_core.cmd.bridge', '--config-file',
         str(conf_path)], capture_output=True, text=True, timeout=60,
        check=False)
    assert done.returncode == 1
    assert 'zaqar-bridge: ' in done.stderr and error in done.stderr
    # Checked before the embedded store was created.
    assert not (tmp_path / 'state').exists()
