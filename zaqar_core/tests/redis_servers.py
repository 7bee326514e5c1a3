"""Private Redis servers and Redis Clusters, for any test that needs one
(the Redis driver's storage tests, the HTTP tests' servers).

Each one is a ``redis-server`` process of its own on free loopback ports,
with no persistence, in a directory of its own. A cluster is three masters
that share the 16384 slots, without replicas. Every process dies with the
test process that started it, even when that one is killed.

Environment:

* ``CI=true``: a missing or failing ``redis-server`` fails instead of
  skipping.
* ``ZAQAR_TEST_REDIS_SERVER``: the ``redis-server`` binary to run
  (default: the one on ``PATH``).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.cluster

from zaqar_core.tests.databases import unavailable

REDIS_BACKENDS = ('redis', 'redis-cluster')
HOST = '127.0.0.1'
SLOTS = 16384
STARTUP_TIMEOUT = 10.0
CLUSTER_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0
POLL = 0.02

_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    """In the child before exec: get SIGKILL when the parent goes away,
    so that a killed test run leaves no server behind (Linux only)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _tail(path: Path, limit: int = 4000) -> str:
    try:
        return path.read_text(errors='replace')[-limit:]
    except OSError as exc:
        return f'(no output: {exc})'


class RedisBackend:
    """A running Redis deployment; ``uri`` is what the driver is
    configured with."""

    backend: str

    @property
    def uri(self) -> str:
        raise NotImplementedError

    def flush(self) -> None:
        """Delete every key (the driver's and anyone else's)."""
        raise NotImplementedError

    def stop(self) -> None:
        """Kill the processes; safe to call more than once."""
        raise NotImplementedError


class RedisServer(RedisBackend):
    """One ``redis-server`` on a free port; ``cluster=True`` makes it a
    cluster node (with no slots yet) instead of a standalone server."""

    backend = 'redis'

    def __init__(self, directory: Path, cluster: bool = False) -> None:
        self.directory = directory
        self.cluster = cluster
        self.port = 0
        self.bus_port = 0
        self.proc: subprocess.Popen | None = None
        self.log_path = directory / 'redis.log'

    @property
    def uri(self) -> str:
        return f'redis://{HOST}:{self.port}'

    def client(self, **kwargs: Any) -> redis.Redis:
        return redis.Redis(host=HOST, port=self.port, socket_timeout=5,
                           **kwargs)

    def start(self, attempts: int = 3) -> RedisServer:
        wanted = os.environ.get('ZAQAR_TEST_REDIS_SERVER', 'redis-server')
        binary = shutil.which(wanted)
        if not binary:
            unavailable(f'Redis tests need {wanted} (set '
                        f'ZAQAR_TEST_REDIS_SERVER or put it on PATH)')
        self.directory.mkdir(parents=True, exist_ok=True)
        problem = ''
        for _ in range(attempts):
            self.port = free_port()
            command = [binary, '--port', str(self.port), '--bind', HOST,
                       '--dir', str(self.directory), '--save', '',
                       '--appendonly', 'no', '--daemonize', 'no',
                       '--logfile', '']
            if self.cluster:
                # An explicit bus port: port + 10000 may be taken, or
                # beyond 65535 for a port from the ephemeral range.
                self.bus_port = free_port()
                command += ['--cluster-enabled', 'yes',
                            '--cluster-config-file',
                            f'nodes-{self.port}.conf',
                            '--cluster-node-timeout', '5000',
                            '--cluster-port', str(self.bus_port)]
            # The death signal follows the thread that forks: only tie
            # it to the main thread, which lives as long as the process.
            tie = threading.current_thread() is threading.main_thread()
            with open(self.log_path, 'ab') as log:
                # Own session: a Ctrl-C meant for pytest does not reach
                # it before the teardown does.
                self.proc = subprocess.Popen(
                    command, stdout=log, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL, cwd=self.directory,
                    start_new_session=True,
                    preexec_fn=_die_with_parent if tie else None)
            problem = self._wait_ready()
            if not problem:
                return self
            self.stop()
            # Retry only when another process took a port meanwhile.
            if 'in use' not in _tail(self.log_path).lower():
                break
        unavailable(f'redis-server did not start: {problem}\n--- '
                    f'{self.log_path} ---\n{_tail(self.log_path)}')
        raise AssertionError('unreachable')  # unavailable() raises

    def _wait_ready(self) -> str:
        """'' once the server answers, else what went wrong."""
        assert self.proc is not None
        client = redis.Redis(host=HOST, port=self.port,
                             socket_connect_timeout=1, socket_timeout=1)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        try:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    return f'exited with {self.proc.returncode}'
                with contextlib.suppress(redis.RedisError):
                    # Ours, not some process that held the port while
                    # ours failed to bind it.
                    if client.info('server')['process_id'] == \
                            self.proc.pid:
                        return ''
                time.sleep(POLL)
        finally:
            client.close()
        return f'not answering after {STARTUP_TIMEOUT:.0f} s'

    def flush(self) -> None:
        with contextlib.closing(self.client()) as client:
            client.flushall()

    def stop(self) -> None:
        proc = self.proc
        if proc is None:
            return
        # Nothing to save: no need for a clean shutdown.
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(STOP_TIMEOUT)


class RedisCluster(RedisBackend):
    """A Redis Cluster of ``masters`` nodes, all slots assigned.

    The cluster is made with the commands ``redis-cli --cluster create``
    sends (ADDSLOTS, SET-CONFIG-EPOCH, MEET), but polled every few
    milliseconds instead of once a second: about 2 s instead of 3, most of
    it the 2 s a fresh master waits before it declares itself writable.
    """

    backend = 'redis-cluster'

    def __init__(self, directory: Path, masters: int = 3) -> None:
        self.nodes = [RedisServer(directory / f'node{n}', cluster=True)
                      for n in range(masters)]

    @property
    def uri(self) -> str:
        return 'redis+cluster://' + ','.join(
            f'{HOST}:{node.port}' for node in self.nodes)

    def client(self, **kwargs: Any) -> redis.cluster.RedisCluster:
        return redis.cluster.RedisCluster(
            startup_nodes=[redis.cluster.ClusterNode(HOST, node.port)
                           for node in self.nodes],
            socket_timeout=5, **kwargs)

    def start(self) -> RedisCluster:
        try:
            for node in self.nodes:
                node.start()
            self._create()
            self._wait_ok()
        except BaseException:
            self.stop()
            raise
        return self

    def _create(self) -> None:
        share = SLOTS // len(self.nodes)
        first = self.nodes[0]
        for n, node in enumerate(self.nodes):
            last = SLOTS if n == len(self.nodes) - 1 else (n + 1) * share
            with contextlib.closing(node.client()) as client:
                client.execute_command('CLUSTER ADDSLOTSRANGE', n * share,
                                       last - 1)
                # Distinct epochs, so no node has to win a vote first.
                client.execute_command('CLUSTER SET-CONFIG-EPOCH', n + 1)
        with contextlib.closing(first.client()) as client:
            for node in self.nodes[1:]:
                client.execute_command('CLUSTER MEET', HOST, node.port,
                                       node.bus_port)

    def _wait_ok(self) -> None:
        """Until every node knows all the others and sees every slot
        served."""
        want = {'cluster_state': 'ok', 'cluster_slots_assigned': str(SLOTS),
                'cluster_slots_ok': str(SLOTS),
                'cluster_known_nodes': str(len(self.nodes))}
        clients = [node.client() for node in self.nodes]
        deadline = time.monotonic() + CLUSTER_TIMEOUT
        try:
            while True:
                seen = [self._info(client) for client in clients]
                if all(info == want for info in seen):
                    return
                if time.monotonic() > deadline:
                    unavailable(f'Redis Cluster not ready after '
                                f'{CLUSTER_TIMEOUT:.0f} s: {seen}')
                time.sleep(POLL)
        finally:
            for client in clients:
                client.close()

    @staticmethod
    def _info(client: redis.Redis) -> dict[str, str]:
        info = client.execute_command('CLUSTER INFO')
        return {key: info.get(key) for key in (
            'cluster_state', 'cluster_slots_assigned', 'cluster_slots_ok',
            'cluster_known_nodes')}

    def flush(self) -> None:
        # FLUSHALL reaches one node only: every master in turn.
        for node in self.nodes:
            node.flush()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


class RedisFactory:
    """Starts servers and clusters on demand and stops them all at the end.

    A backend that failed to start once is not tried again: each later
    request skips (or fails) at once with the first reason.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.created: list[RedisBackend] = []
        self.failures: dict[str, str] = {}

    def create(self, backend: str) -> RedisBackend:
        if backend in self.failures:
            unavailable(self.failures[backend])
        directory = self.directory / f'{backend}{len(self.created)}'
        try:
            if backend == 'redis':
                started: RedisBackend = RedisServer(directory).start()
            elif backend == 'redis-cluster':
                started = RedisCluster(directory).start()
            else:
                raise ValueError(f'not a Redis backend: {backend}')
        except (pytest.skip.Exception, pytest.fail.Exception) as exc:
            self.failures[backend] = exc.msg
            raise
        self.created.append(started)
        return started

    def stop_all(self) -> None:
        for started in self.created:
            started.stop()

