"""The driver through Redis Sentinel (``redis://h:p?master=name``): a real
sentinel watching a private server hands the driver its master."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from zaqar_core.tests.contract import storage as contract
from zaqar_core.tests.databases import unavailable
from zaqar_core.tests.redis_servers import HOST
from zaqar_core.tests.redis_servers import RedisServer
from zaqar_core.tests.redis_servers import free_port

from .servers import make_stores

MASTER = 'zaqar-master'


@pytest.fixture
def sentinel(tmp_path: Path) -> Iterator[tuple[RedisServer, int]]:
    binary = shutil.which('redis-server')
    if not binary:
        unavailable('Sentinel tests need redis-server')
    server = RedisServer(tmp_path / 'master').start()
    port = free_port()
    conf = tmp_path / 'sentinel.conf'  # Sentinel rewrites its file
    conf.write_text(f'port {port}\nbind {HOST}\ndir {tmp_path}\n'
                    f'sentinel monitor {MASTER} {HOST} {server.port} 1\n')
    proc = subprocess.Popen([binary, str(conf), '--sentinel'],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        client = redis.Redis(host=HOST, port=port, socket_timeout=1)
        deadline = time.monotonic() + 15
        while True:
            with contextlib.suppress(redis.RedisError):
                if client.sentinel_get_master_addr_by_name(MASTER):
                    break
            if time.monotonic() > deadline or proc.poll() is not None:
                unavailable('redis sentinel did not start')
            time.sleep(0.05)
        yield server, port
    finally:
        proc.kill()
        proc.wait(10)
        server.stop()


def test_the_driver_finds_the_master_through_sentinel(
        sentinel: tuple[RedisServer, int]) -> None:
    server, port = sentinel
    stores = make_stores(f'redis://{HOST}:{port}?master={MASTER}')
    try:
        stores.queues.create(contract.PROJECT, contract.QUEUE)
        ids = contract.post(stores, 3)
        assert contract.claim(stores, limit=2)[1] == ids[:2]
        assert [q['name'] for q in stores.queues.list(contract.PROJECT)] \
            == [contract.QUEUE]
    finally:
        stores.close()
    # The data is on the master the sentinel named.
    keys = server.client().keys(f'z:{{p:{contract.PROJECT}}}:*')
    assert keys
