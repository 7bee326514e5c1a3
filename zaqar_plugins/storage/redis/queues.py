"""The queue catalogue on Redis: per project, a sorted set of names (for
paging by name) and a hash of metadata."""

from __future__ import annotations

import json

from zaqar_core.storage import base
from zaqar_core.storage import errors
from zaqar_plugins.storage.redis import connection
from zaqar_plugins.storage.redis import keys
from zaqar_plugins.storage.redis import scripts


class QueueController(base.QueueControllerBase):
    def __init__(self, client: connection.Client) -> None:
        self._client = client
        self._scripts = scripts.Scripts(client)

    def list(self, project: str, marker: str | None = None,
             limit: int = 10, detailed: bool = False) -> list[dict]:
        found = self._scripts.run(
            'queue_list', keys.catalogue_keys(project),
            [marker or '', limit, '1' if detailed else '0'])
        if not detailed:
            return [{'name': name} for name in found]
        return [{'name': name, 'metadata': json.loads(meta)}
                for name, meta in zip(found[::2], found[1::2],
                                      strict=True)]

    def count(self, project: str) -> int:
        with scripts.translated():
            return self._client.zcard(keys.catalogue_keys(project)[0])

    def get_metadata(self, project: str, name: str) -> dict:
        return json.loads(self.get_metadata_text(project, name))

    def get_metadata_text(self, project: str, name: str) -> str:
        with scripts.translated():
            raw = self._client.hget(keys.catalogue_keys(project)[1], name)
        if raw is None:
            raise errors.QueueDoesNotExist(name, project)
        return raw

    def create(self, project: str, name: str,
               metadata: dict | None = None) -> bool:
        return bool(self._scripts.run(
            'queue_create', keys.catalogue_keys(project),
            [name, json.dumps(metadata or {})]))

    def set_metadata(self, project: str, name: str, metadata: dict) -> None:
        if not self._scripts.run('queue_set_metadata',
                                 keys.catalogue_keys(project),
                                 [name, json.dumps(metadata)]):
            raise errors.QueueDoesNotExist(name, project)

    def delete(self, project: str, name: str) -> None:
        self._scripts.run('queue_delete', keys.catalogue_keys(project),
                          [name])
