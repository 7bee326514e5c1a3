"""The Lua scripts, loaded once per client and run with EVALSHA.

Every multi-key operation is one script, so it is atomic and takes one
round trip; a script only touches keys of one project (one hash tag), so
it runs unchanged on Redis Cluster.
"""

from __future__ import annotations

import contextlib
import functools
import socket
from collections.abc import Iterator
from importlib import resources
from typing import Any

import redis

from zaqar_core import cooperative
from zaqar_core.storage import errors
from zaqar_plugins.storage.redis import connection

# Scripts over the catalogue keys (and id_key) stand alone; the others
# start with common.lua's helpers, and subscription_* scripts (over a
# source's subscription keys) with subscription_common.lua's too.
# ``pooling`` (pools, flavors and which pool holds each queue, over
# keys.POOLING_KEYS) stands alone as well.
_STANDALONE = {'queue_create', 'queue_set_metadata', 'queue_delete',
               'queue_list', 'id_key', 'pooling'}


@functools.cache
def source(name: str) -> str:
    folder = resources.files(__package__) / 'lua'
    text = (folder / f'{name}.lua').read_text()
    if name in _STANDALONE:
        return text
    helpers = ['common']
    if name.startswith('subscription_'):
        helpers.append('subscription_common')
    return '\n'.join([*((folder / f'{h}.lua').read_text() for h in helpers),
                      text])


@contextlib.contextmanager
def translated() -> Iterator[None]:
    """Redis failures as storage errors (503 to clients)."""
    try:
        yield
    except (redis.exceptions.ConnectionError,
            redis.exceptions.TimeoutError) as exc:
        raise errors.Unavailable(f'Redis is unavailable: {exc}') from exc
    except redis.exceptions.RedisError as exc:
        raise errors.Unavailable(f'Redis error: {exc}') from exc


class Scripts:
    """Callable scripts of one client, by name."""

    def __init__(self, client: connection.Client) -> None:
        self._client = client
        self._scripts: dict[str, Any] = {}
        self._held = (connection.held(client)
                      if isinstance(client, redis.Redis) else None)

    def run(self, name: str, keys: list[str], args: list[Any]) -> Any:
        script = self._scripts.get(name)
        if script is None:
            script = self._scripts[name] = self._client.register_script(
                source(name))
        with translated():
            try:
                return self._evalsha(script.sha, keys, args)
            except redis.exceptions.NoScriptError:
                # The server lost it: a restart, SCRIPT FLUSH, a failover.
                script.sha = self._client.script_load(script.script)
                return self._evalsha(script.sha, keys, args)

    def _evalsha(self, sha: str, keys: list[str], args: list[Any]) -> Any:
        """EVALSHA on a connection this process keeps (connection.Held).

        redis-py's command path (its retry wrapper, timing and error
        accounting, a lambda and a closure per command) was 5% of the
        instructions of a message post or delete (tools/perf/
        instructions.py). A connection that breaks sends the script again
        through that path, for the configured reconnection and retries (one
        attempt more than configured, then), as redis-py would have.
        """
        client = self._client
        if self._held is None:  # Cluster routes by key
            return client.evalsha(sha, len(keys), *keys, *args)
        conn = self._held.take()
        try:
            conn.send_command('EVALSHA', sha, len(keys), *keys, *args)
            _wait_for_reply(conn)
            reply = conn.read_response()
        except redis.exceptions.ResponseError:
            self._held.keep(conn)  # an error reply is a whole reply
            raise
        except redis.exceptions.ConnectionError:
            self._held.drop(conn)
            return client.evalsha(sha, len(keys), *keys, *args)
        except BaseException:
            # A timeout among them: the script may have run, so it is not
            # sent again (as connection.client_for configures redis-py).
            self._held.drop(conn)
            raise
        self._held.keep(conn)
        return reply


def _wait_for_reply(conn: redis.connection.AbstractConnection) -> None:
    """Lend the thread to other requests until ``conn`` has a reply to
    read, where the request may (:func:`zaqar_core.cooperative.
    wait_readable`), for as long as a blocking read would wait. Only over a
    plain socket: a TLS one may hold a decrypted reply in its buffer, with
    nothing left to read on its socket. (redis-py names no public accessor
    for the socket.)

    Raises:
        redis.exceptions.TimeoutError: no reply in time, as a blocking
            read would have raised it.
    """
    sock = getattr(conn, '_sock', None)
    if sock.__class__ is socket.socket and not cooperative.wait_readable(
            sock.fileno(), sock.gettimeout()):
        raise redis.exceptions.TimeoutError('Timeout reading from socket')
