"""Private Redis servers and Redis Clusters, for any test that needs one
(the Redis driver's storage tests, the HTTP tests' servers).

Each one is a ``redis-server`` process of its own on free loopback ports,
with no persistence, in a directory of its own. A cluster is three masters
that share the 16384 slots, without replicas. A Sentinel deployment is a
master, its replica and three sentinels that can fail it over. Each
process is a :class:`~.processes.Process`: it dies with the test run that
started it.

Environment:

* ``CI=true``: a missing or failing ``redis-server`` fails instead of
  skipping.
* ``ZAQAR_TEST_REDIS_SERVER``: the ``redis-server`` binary to run
  (default: the one on ``PATH``).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import time
from collections.abc import Callable
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.cluster

from .ci import unavailable
from .ports import HOST
from .ports import free_port
from .processes import Process
from .processes import ProcessError
from .processes import tail

#: The backends the HTTP (functional) tests and the Redis driver's own
#: tests run on.
REDIS_BACKENDS = ('redis', 'redis-cluster')
#: The backends the storage contract runs on: Sentinel too. Following a
#: failover is the driver's concern, not the HTTP layer's.
STORAGE_BACKENDS = (*REDIS_BACKENDS, 'redis-sentinel')
SLOTS = 16384
STARTUP_TIMEOUT = 10.0
CLUSTER_TIMEOUT = 30.0
POLL = 0.02
#: The name the sentinels monitor the master under (``?master=``).
SENTINEL_MASTER = 'zaqar-master'
#: Sentinels that must agree the master is down; a failover also needs a
#: majority of them to elect a leader.
SENTINEL_QUORUM = 2
#: How long the master may not answer before a sentinel deems it down:
#: Sentinel's default 30 s while tests use the deployment, so that a busy
#: host's pause never fails it over behind their back...
STEADY_DOWN_AFTER_MS = 30000
#: ...and 1 s once :meth:`RedisSentinel.failover` is about to crash it.
DOWN_AFTER_MS = 1000
#: A failover that stalls is retried after twice this (3 min by default);
#: it also bounds the promotion itself.
FAILOVER_TIMEOUT_MS = 5000
#: How long :meth:`RedisSentinel.failover` waits for the new master: room
#: for one split vote and its retry.
FAILOVER_WAIT = 30.0

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
    cluster node (with no slots yet) instead of a standalone server.
    ``options`` are more ``redis-server`` arguments (persistence: by
    default it keeps nothing on disk)."""

    backend = 'redis'

    def __init__(self, directory: Path, cluster: bool = False,
                 options: Sequence[str] = ()) -> None:
        self.directory = directory
        self.cluster = cluster
        self.options = list(options)
        self.command: list[str] = []
        self.port = 0
        self.bus_port = 0
        self.process: Process | None = None
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
            # Later arguments win: ours override the defaults above.
            self.command = command + self.options
            self.process = Process(self.command, self.log_path,
                                   cwd=self.directory)
            problem = self._wait_ready()
            if not problem:
                return self
            self.stop()
            # Retry only when another process took a port meanwhile.
            if 'in use' not in tail(self.log_path).lower():
                break
        unavailable(f'redis-server did not start: {problem}\n--- '
                    f'{self.log_path} ---\n{tail(self.log_path)}')
        raise AssertionError('unreachable')  # unavailable() raises

    def restart(self) -> RedisServer:
        """Kill it, as a crash would, and start it again on the same port:
        what it persisted, it has again."""
        self.stop()
        self.process = Process(self.command, self.log_path,
                               cwd=self.directory)
        problem = self._wait_ready()
        if problem:
            raise AssertionError(f'redis-server did not restart: {problem}'
                                 f'\n{tail(self.log_path)}')
        return self

    def _wait_ready(self) -> str:
        """'' once the server answers, else what went wrong."""
        assert self.process is not None
        client = redis.Redis(host=HOST, port=self.port,
                             socket_connect_timeout=1, socket_timeout=1)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        try:
            while time.monotonic() < deadline:
                if not self.process.alive():
                    return f'exited with {self.process.returncode}'
                with contextlib.suppress(redis.RedisError):
                    # Ours, not some process that held the port while
                    # ours failed to bind it.
                    if client.info('server')['process_id'] == \
                            self.process.pid:
                        return ''
                time.sleep(POLL)
        finally:
            client.close()
        return f'not answering after {STARTUP_TIMEOUT:.0f} s'

    def flush(self) -> None:
        with contextlib.closing(self.client()) as client:
            client.flushall()

    def stop(self) -> None:
        if self.process is not None:
            # Nothing to save: no need for a clean shutdown.
            self.process.kill()


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


class SentinelNode(RedisServer):
    """One ``redis-server --sentinel``. It answers ``INFO server`` as a
    server does, so :class:`RedisServer`'s readiness check applies; its
    configuration is a file in its directory, because Sentinel rewrites
    the file with what it learns."""

    def launch(self, binary: str, port: int, config: str) -> None:
        """Start it on ``port`` without waiting (its peers start
        meanwhile); :meth:`_wait_ready` then waits."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = port
        path = self.directory / 'sentinel.conf'
        path.write_text(config)
        self.process = Process([binary, str(path), '--sentinel'],
                               self.log_path, cwd=self.directory)


class RedisSentinel(RedisBackend):
    """A master, one replica and three sentinels monitoring them as
    :data:`SENTINEL_MASTER`; ``uri`` names the sentinels, as a driver
    configured for Sentinel does.

    :meth:`failover` crashes the master and returns once the sentinels
    hand out the promoted replica. One failover per deployment: the old
    master stays dead, so there is no replica left for a second one.
    """

    backend = 'redis-sentinel'

    def __init__(self, directory: Path, sentinels: int = 3) -> None:
        self.directory = directory
        self.master = RedisServer(directory / 'server0')
        self.replica: RedisServer | None = RedisServer(directory / 'server1')
        self.sentinels = [SentinelNode(directory / f'sentinel{n}')
                          for n in range(sentinels)]
        #: Masters :meth:`failover` killed (stopped again by :meth:`stop`).
        self.failed: list[RedisServer] = []

    @property
    def uri(self) -> str:
        return 'redis://' + ','.join(
            f'{HOST}:{node.port}' for node in self.sentinels) + \
            f'?master={SENTINEL_MASTER}'

    def client(self, **kwargs: Any) -> redis.Redis:
        """A client of the current master (not through the sentinels)."""
        return self.master.client(**kwargs)

    def start(self, attempts: int = 3) -> RedisSentinel:
        try:
            self.master.start()
            assert self.replica is not None
            self.replica.start()
            self._replicate()
            self._start_sentinels(attempts)
            self._wait_watching()
        except BaseException:
            self.stop()
            raise
        return self

    def _replicate(self) -> None:
        """Make the replica a replica, and wait until it is in sync."""
        assert self.replica is not None
        with contextlib.closing(self.master.client()) as master, \
                contextlib.closing(self.replica.client()) as replica:
            # A diskless full sync waits 5 s for more replicas by default.
            master.config_set('repl-diskless-sync-delay', 0)
            replica.replicaof(HOST, self.master.port)
            self._poll(lambda: _in_sync(master, replica),
                       f'replica of port {self.master.port} in sync')

    def _start_sentinels(self, attempts: int) -> None:
        """Start every sentinel, already knowing the replica and each
        other: discovering them (hello messages every 2 s, INFO every
        10 s) would take seconds."""
        wanted = os.environ.get('ZAQAR_TEST_REDIS_SERVER', 'redis-server')
        binary = shutil.which(wanted)
        if not binary:
            unavailable(f'Redis tests need {wanted} (set '
                        f'ZAQAR_TEST_REDIS_SERVER or put it on PATH)')
        ids = [secrets.token_hex(20) for _ in self.sentinels]
        problem = ''
        for _ in range(attempts):
            ports: list[int] = []
            for _node in self.sentinels:
                ports.append(free_port(taken=ports))
            for n, node in enumerate(self.sentinels):
                node.launch(binary, ports[n],
                            self._sentinel_config(n, ports, ids))
            problem = '; '.join(f'{node.directory.name}: {found}'
                                for node in self.sentinels
                                if (found := node._wait_ready()))
            if not problem:
                return
            for node in self.sentinels:
                node.stop()
            # Retry only when another process took a port meanwhile.
            if not any('in use' in tail(node.log_path).lower()
                       for node in self.sentinels):
                break
        logs = '\n'.join(f'--- {node.log_path} ---\n{tail(node.log_path)}'
                         for node in self.sentinels)
        unavailable(f'redis sentinels did not start: {problem}\n{logs}')

    def _sentinel_config(self, n: int, ports: list[int],
                         ids: list[str]) -> str:
        assert self.replica is not None
        name = SENTINEL_MASTER
        lines = [f'port {ports[n]}', f'bind {HOST}', 'daemonize no',
                 'logfile ""', f'dir {self.sentinels[n].directory}',
                 f'sentinel myid {ids[n]}',
                 f'sentinel monitor {name} {HOST} {self.master.port} '
                 f'{SENTINEL_QUORUM}',
                 f'sentinel down-after-milliseconds {name} '
                 f'{STEADY_DOWN_AFTER_MS}',
                 f'sentinel failover-timeout {name} {FAILOVER_TIMEOUT_MS}',
                 f'sentinel known-replica {name} {HOST} {self.replica.port}']
        lines += [f'sentinel known-sentinel {name} {HOST} {port} {peer}'
                  for port, peer in zip(ports, ids, strict=True)
                  if peer != ids[n]]
        return '\n'.join(lines) + '\n'

    def _wait_watching(self) -> None:
        """Until every sentinel sees the master up, the replica in sync
        and the other sentinels connected: what a failover needs."""
        assert self.replica is not None
        others = len(self.sentinels) - 1
        want = {(HOST, self.replica.port)}
        clients = [node.client() for node in self.sentinels]

        def watching(client: redis.Redis) -> bool:
            master = client.sentinel_master(SENTINEL_MASTER)
            replicas = client.sentinel_slaves(SENTINEL_MASTER)
            peers = client.sentinel_sentinels(SENTINEL_MASTER)
            return (_up(master) and (master['ip'], master['port']) ==
                    (HOST, self.master.port)
                    and {(r['ip'], r['port']) for r in replicas} == want
                    and all(_up(r) and r['master-link-status'] == 'ok'
                            for r in replicas)
                    and len(peers) == others and all(map(_up, peers)))

        try:
            self._poll(lambda: all(map(watching, clients)),
                       'sentinels watching')
        finally:
            for client in clients:
                client.close()

    def wait_replicated(self, timeout: float = STARTUP_TIMEOUT) -> None:
        """Until the replica has every write the master acknowledged so
        far, as ``WAIT 1`` after them would: replication is asynchronous,
        and a failover loses what the replica had not received."""
        assert self.replica is not None, 'no replica left'
        with contextlib.closing(self.master.client()) as master, \
                contextlib.closing(self.replica.client()) as replica:
            offset = master.info('replication')['master_repl_offset']
            self._poll(lambda: replica.info('replication')[
                'slave_repl_offset'] >= offset, 'replica caught up',
                timeout, failing=True)

    def failover(self, timeout: float = FAILOVER_WAIT) -> None:
        """Crash the master (SIGKILL) and wait until the replica is master
        and every sentinel names it, healthy, to whoever asks.

        Sentinel hands out the promoted replica through ``SENTINEL
        get-master-addr-by-name`` before the switch completes, but
        redis-py reads ``SENTINEL MASTERS`` and skips a master flagged
        down: both are polled, so the driver's next connection finds the
        new master whichever sentinel it asks.

        Raises:
            ProcessError: no failover within ``timeout`` (a failure, not
                a missing backend: the deployment had started).
        """
        assert self.replica is not None, 'one failover only: no replica'
        old, new = self.master, self.replica
        assert old.process is not None
        clients = [node.client(decode_responses=True)
                   for node in self.sentinels]
        want = (HOST, new.port)
        try:
            for client in clients:
                client.sentinel_set(SENTINEL_MASTER,
                                    'down-after-milliseconds', DOWN_AFTER_MS)
        except BaseException:
            for client in clients:
                client.close()
            raise
        old.process.kill()
        self.failed.append(old)
        self.master, self.replica = new, None

        def switched() -> bool:
            with contextlib.closing(new.client()) as promoted:
                if promoted.info('replication')['role'] != 'master':
                    return False
            for client in clients:
                master = client.sentinel_master(SENTINEL_MASTER)
                address = client.sentinel_get_master_addr_by_name(
                    SENTINEL_MASTER)
                if not _up(master) or \
                        (master['ip'], master['port']) != want or \
                        tuple(address or ()) != want:
                    return False
            return True

        try:
            self._poll(switched, f'failed over to port {new.port}', timeout,
                       failing=True)
        finally:
            for client in clients:
                client.close()

    def _poll(self, ready: Callable[[], bool], what: str,
              timeout: float = CLUSTER_TIMEOUT, failing: bool = False
              ) -> None:
        """Until ``ready()``. A process of the deployment that died, or
        the deadline, makes the backend unavailable while it starts;
        ``failing`` raises :class:`ProcessError` instead, once it
        runs."""
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(redis.RedisError):
                if ready():
                    return
            dead = [node for node in self._alive_expected()
                    if node.process is None or not node.process.alive()]
            if dead or time.monotonic() > deadline:
                logs = '\n'.join(
                    f'--- {node.log_path} ---\n{tail(node.log_path)}'
                    for node in dead or self._alive_expected())
                problem = (f'Redis Sentinel: not {what} after '
                           f'{timeout:.0f} s'
                           f'{" (a process died)" if dead else ""}\n{logs}')
                if failing:
                    raise ProcessError(problem)
                unavailable(problem)
            time.sleep(POLL)

    def _alive_expected(self) -> list[RedisServer]:
        """The processes started so far that should be running."""
        return [node for node in [self.master, self.replica, *self.sentinels]
                if node is not None and node.process is not None]

    def flush(self) -> None:
        self.master.flush()

    def stop(self) -> None:
        for node in [*self.sentinels, self.master, self.replica,
                     *self.failed]:
            if node is not None:
                node.stop()


def _up(state: dict[str, Any]) -> bool:
    """A sentinel's view of an instance (``SENTINEL MASTER``/``REPLICAS``/
    ``SENTINELS``): connected and not deemed down."""
    return not (state['is_sdown'] or state['is_odown'] or
                state['is_disconnected'])


def _in_sync(master: redis.Redis, replica: redis.Redis) -> bool:
    mine = master.info('replication')
    theirs = replica.info('replication')
    return (mine.get('connected_slaves') == 1 and
            mine['slave0']['state'] == 'online' and
            theirs.get('master_link_status') == 'up' and
            theirs.get('master_sync_in_progress') == 0)


class RedisFactory:
    """Starts servers, clusters and Sentinel deployments on demand and
    stops them all at the end.

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
            elif backend == 'redis-sentinel':
                started = RedisSentinel(directory).start()
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

