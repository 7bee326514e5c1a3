"""The queue catalogue on SQL."""

from __future__ import annotations

import json

import sqlalchemy as sa

from zaqar_core.storage import base
from zaqar_core.storage import errors
from zaqar_plugins.storage.sqlalchemy import engine as txn
from zaqar_plugins.storage.sqlalchemy import tables

_q = tables.queues

# Built once: constructing the statement cost a post as much as running it.
METADATA = sa.select(_q.c.metadata).where(
    _q.c.project == sa.bindparam('project'),
    _q.c.name == sa.bindparam('name'))


class QueueController(base.QueueControllerBase):
    def __init__(self, engine: sa.engine.Engine) -> None:
        self._engine = engine

    def list(self, project: str, marker: str | None = None,
             limit: int = 10, detailed: bool = False) -> list[dict]:
        columns = [_q.c.name, _q.c.metadata] if detailed else [_q.c.name]
        query = sa.select(*columns).where(_q.c.project == project)
        if marker:
            query = query.where(_q.c.name > marker)
        query = query.order_by(_q.c.name).limit(limit)
        with txn.read(self._engine) as conn:
            rows = conn.execute(query).all()
        if detailed:
            return [{'name': r.name, 'metadata': json.loads(r.metadata)}
                    for r in rows]
        return [{'name': r.name} for r in rows]

    def count(self, project: str) -> int:
        query = sa.select(sa.func.count()).select_from(_q).where(
            _q.c.project == project)
        with txn.read(self._engine) as conn:
            return conn.execute(query).scalar_one()

    def get_metadata(self, project: str, name: str) -> dict:
        return json.loads(self.get_metadata_text(project, name))

    def get_metadata_text(self, project: str, name: str) -> str:
        with txn.read(self._engine) as conn:
            raw = conn.execute(METADATA, {'project': project,
                                           'name': name}).scalar_one_or_none()
        if raw is None:
            raise errors.QueueDoesNotExist(name, project)
        return raw

    @txn.retry_on_deadlock
    def create(self, project: str, name: str,
               metadata: dict | None = None) -> bool:
        values = {'project': project, 'name': name,
                  'metadata': json.dumps(metadata or {})}
        with txn.write(self._engine) as conn:
            result = conn.execute(txn.insert_ignoring_duplicates(
                _q, conn.dialect.name).values(**values))
        return result.rowcount == 1

    @txn.retry_on_deadlock
    def set_metadata(self, project: str, name: str, metadata: dict) -> None:
        with txn.write(self._engine) as conn:
            result = conn.execute(_q.update().where(
                _q.c.project == project, _q.c.name == name).values(
                metadata=json.dumps(metadata)))
        if result.rowcount == 0:
            raise errors.QueueDoesNotExist(name, project)

    @txn.retry_on_deadlock
    def delete(self, project: str, name: str) -> None:
        with txn.write(self._engine) as conn:
            conn.execute(_q.delete().where(
                _q.c.project == project, _q.c.name == name))
