"""The options of one run, as one immutable value.

The parent builds it from the command line and hands the same value to
every process, which is why it holds only plain, picklable data.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field

ROLES = ('producer', 'consumer', 'observer')
TRANSPORTS = ('http', 'ws')
WS_ENCODINGS = ('json', 'msgpack')


@dataclass(frozen=True)
class RoleSpec:
    """``processes`` x ``workers`` concurrent loops; 0 of either is off."""

    processes: int = 0
    workers: int = 0

    @property
    def enabled(self) -> bool:
        return self.processes > 0 and self.workers > 0


@dataclass(frozen=True)
class BenchConfig:
    """What to load, how hard and for how long.

    Attributes:
        url: server root, e.g. ``http://127.0.0.1:8888``; used by the
            ``http`` transport.
        transport: ``http`` (the REST API at ``url``) or ``ws`` (the
            WebSocket API at ``ws_url``); every request of the run, setup
            and prefill included, goes over it.
        ws_url: WebSocket endpoint, e.g. ``ws://127.0.0.1:9000``.
        ws_encoding: ``json`` (text frames) or ``msgpack`` (binary).
        pipeline: requests in flight per WebSocket connection (each
            worker's connection is shared by that many concurrent loops).
        keep_alive: over HTTP, reuse each connection; when False every
            request says ``Connection: close`` and pays a new connection.
        project: sent as ``X-Project-Id``.
        token: sent as ``X-Auth-Token`` when set.
        duration: seconds of the timed run.
        batch: messages per post; also the claim and page limit.
        message_size: length of the padding string in each message body.
        queues: workers spread over ``<queue_prefix>-0..queues-1``.
        ttl: message TTL in seconds.
        claim_ttl: claim TTL in seconds.
        claim_grace: claim grace in seconds.
        prefill: messages posted into each queue before the timed run.
        prefill_batch: messages per prefill post.
        prefill_connections: concurrent connections used to prefill.
        timeout: seconds after which a request is abandoned and counted
            as a ``timeout`` error.
        roles: role name -> ``RoleSpec``.
    """

    url: str = 'http://127.0.0.1:8888'
    transport: str = 'http'
    ws_url: str = 'ws://127.0.0.1:9000'
    ws_encoding: str = 'json'
    pipeline: int = 1
    keep_alive: bool = True
    project: str = 'zaqar-bench'
    token: str | None = None
    duration: float = 10.0
    batch: int = 10
    message_size: int = 1024
    queues: int = 1
    queue_prefix: str = 'bench'
    ttl: int = 300
    claim_ttl: int = 60
    claim_grace: int = 60
    prefill: int = 0
    prefill_batch: int = 20
    prefill_connections: int = 8
    timeout: float = 30.0
    roles: dict[str, RoleSpec] = field(default_factory=lambda: {
        'producer': RoleSpec(1, 4),
        'consumer': RoleSpec(1, 4),
        'observer': RoleSpec(1, 2),
    })

    @property
    def target(self) -> str:
        """The URL the run talks to, whichever the transport."""
        return self.ws_url if self.transport == 'ws' else self.url

    def queue_names(self) -> list[str]:
        return [f'{self.queue_prefix}-{i}' for i in range(self.queues)]

    def queue_for(self, worker: int) -> str:
        """The queue of a role's ``worker``-th worker (counting across
        that role's processes), so producer i and consumer i share one."""
        return f'{self.queue_prefix}-{worker % self.queues}'

    def enabled_roles(self) -> list[str]:
        return [r for r in ROLES if self.roles.get(r, RoleSpec()).enabled]
