"""The reader of upstream Zaqar's SQL management store, on tables made
here as upstream's migrations leave them (see
:mod:`zaqar_plugins.upstream.sqlalchemy`), on SQLite, PostgreSQL and
MySQL."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from zaqar_core.importing.sources import SourceError
from zaqar_core.importing.sources import UpstreamFlavor
from zaqar_core.importing.sources import UpstreamPool
from zaqar_core.importing.sources import UpstreamQueue
from zaqar_plugins.upstream.sqlalchemy import SqlManagement
from zaqar_testing.databases import BACKENDS
from zaqar_testing.databases import Database
from zaqar_testing.databases import DatabaseFactory
from zaqar_testing.ports import refusing_address

PROJECT = '3a5b0ab4d6f34b8d9f2a2b3c4d5e6f70'


@dataclasses.dataclass(frozen=True)
class Layout:
    """What a revision left: its number, and whether pools have groups
    (before 007) and flavors (from 006)."""

    revision: str
    groups: bool
    flavors: bool


LAYOUTS = {
    '005': Layout('005', groups=True, flavors=False),
    # Upstream's 006 fails on SQLite after adding Pools.flavor, which
    # SQLite keeps: such deployments say 005 and have the column.
    '005-failed-006': Layout('005', groups=True, flavors=True),
    '006': Layout('006', groups=True, flavors=True),
    '007': Layout('007', groups=False, flavors=True),
}


def schema(layout: Layout) -> sa.MetaData:
    """Upstream's tables as ``layout`` has them."""
    metadata = sa.MetaData()
    sa.Table('Queues', metadata,
             sa.Column('id', sa.Integer, primary_key=True),
             sa.Column('project', sa.String(64)),
             sa.Column('name', sa.String(64)),
             sa.Column('metadata', sa.LargeBinary),
             sa.UniqueConstraint('project', 'name'))
    pools = [sa.Column('name', sa.String(64), primary_key=True),
             sa.Column('uri', sa.String(255), unique=True, nullable=False),
             sa.Column('weight', sa.Integer, nullable=False),
             sa.Column('options', sa.Text)]
    flavors = [sa.Column('name', sa.String(64), primary_key=True),
               sa.Column('project', sa.String(64)),
               sa.Column('capabilities', sa.Text)]
    if layout.groups:
        sa.Table('PoolGroup', metadata,
                 sa.Column('name', sa.String(64), primary_key=True))
        pools.append(sa.Column('group', sa.String(64), sa.ForeignKey(
            'PoolGroup.name', ondelete='CASCADE')))
        flavors.append(sa.Column(
            'pool_group', sa.String(64),
            sa.ForeignKey('PoolGroup.name', ondelete='CASCADE'),
            nullable=layout.revision >= '006'))
    if layout.flavors:
        pools.append(sa.Column('flavor', sa.String(64)))
    sa.Table('Pools', metadata, *pools)
    sa.Table('Flavors', metadata, *flavors)
    sa.Table('Catalogue', metadata,
             sa.Column('pool', sa.String(64),
                       sa.ForeignKey('Pools.name', ondelete='CASCADE')),
             sa.Column('project', sa.String(64)),
             sa.Column('queue', sa.String(64), nullable=False),
             sa.UniqueConstraint('project', 'queue'))
    sa.Table('alembic_version', metadata,
             sa.Column('version_num', sa.String(32), primary_key=True))
    return metadata


def fill(database: Database, layout: Layout) -> None:
    """A deployment's management store at ``layout``."""
    metadata = schema(layout)
    engine = sa.create_engine(database.uri)
    try:
        metadata.create_all(engine)
        tables = metadata.tables
        group = {'group': 'grp'} if layout.groups else {}
        pool_group = {'pool_group': 'grp'} if layout.groups else {}
        with engine.begin() as conn:
            conn.execute(tables['alembic_version'].insert(),
                         {'version_num': layout.revision})
            if layout.groups:
                conn.execute(tables['PoolGroup'].insert(), {'name': 'grp'})
            conn.execute(tables['Queues'].insert(), [
                queue(PROJECT, 'zeta', {'_max_claim_count': 3}),
                queue(PROJECT, 'a.b', {'nested': {'list': [1, 'two']}}),
                queue(PROJECT, 'Alpha', {}),
                # Upstream stores a queue of no project with ''; older
                # releases left NULL.
                queue('', 'global', {'g': True}),
                queue(None, 'null', {}),
                {'project': 'other', 'name': 'bare', 'metadata': None}])
            conn.execute(tables['Pools'].insert(), {
                'name': 'pool2', 'uri': 'redis://b:6379', 'weight': 20,
                'options': json.dumps({'max_reconnect_attempts': 3}),
                **group, **({'flavor': 'gold'} if layout.flavors else {})})
            conn.execute(tables['Pools'].insert(), {
                'name': 'pool1', 'uri': 'redis://a:6379?dbid=1',
                'weight': 10, 'options': None})
            conn.execute(tables['Flavors'].insert(), [
                {'name': 'gold', 'project': PROJECT,
                 # As 23.x stores them: computed from a pool.
                 'capabilities': json.dumps([1, 2, 4, 5]),
                 **pool_group},
                {'name': 'plain', 'project': None, 'capabilities': None,
                 **pool_group}])
            conn.execute(tables['Catalogue'].insert(), [
                {'pool': 'pool1', 'project': PROJECT, 'queue': 'a.b'},
                {'pool': 'pool2', 'project': None, 'queue': 'null'},
                {'pool': None, 'project': 'other', 'queue': 'bare'}])
    finally:
        engine.dispose()


def queue(project: str | None, name: str, metadata: dict) -> dict:
    return {'project': project, 'name': name,
            'metadata': json.dumps(metadata).encode()}


@pytest.fixture(scope='module')
def databases(tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(tmp_path_factory.mktemp('upstream-sql'))
    try:
        yield factory
    finally:
        factory.drop_all()


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest,
             databases: DatabaseFactory) -> Database:
    """An empty database of its own."""
    return databases.create(request.param)


@pytest.fixture
def reader(database: Database) -> Iterator[type[SqlManagement]]:
    """SqlManagement, each one made closed at the end."""
    made: list[SqlManagement] = []

    class Closed(SqlManagement):
        def __init__(self, uri: str) -> None:
            super().__init__(uri)
            made.append(self)

    yield Closed
    for source in made:
        source.close()


@pytest.mark.parametrize('layout', list(LAYOUTS), ids=list(LAYOUTS))
def test_every_revision(database: Database, reader: type[SqlManagement],
                        layout: str) -> None:
    fill(database, LAYOUTS[layout])
    source = reader(database.uri)
    assert source.revision == LAYOUTS[layout].revision
    assert list(source.queues()) == [
        UpstreamQueue('', 'global', {'g': True}),
        UpstreamQueue('', 'null', {}),
        UpstreamQueue(PROJECT, 'Alpha', {}),
        UpstreamQueue(PROJECT, 'a.b', {'nested': {'list': [1, 'two']}}),
        UpstreamQueue(PROJECT, 'zeta', {'_max_claim_count': 3}),
        UpstreamQueue('other', 'bare', {}),
    ]
    flavor = 'gold' if LAYOUTS[layout].flavors else None
    assert source.pools() == [
        UpstreamPool('pool1', 'redis://a:6379?dbid=1', 10, {}, None),
        UpstreamPool('pool2', 'redis://b:6379', 20,
                     {'max_reconnect_attempts': 3}, flavor)]
    assert source.flavors() == [
        UpstreamFlavor('gold', PROJECT),
        UpstreamFlavor('plain', '')]
    assert list(source.catalogue()) == [
        ('', 'null', 'pool2'), (PROJECT, 'a.b', 'pool1')]


def test_many_queues(database: Database, reader: type[SqlManagement]
                     ) -> None:
    """Queues in chunks, still in order."""
    fill(database, LAYOUTS['007'])
    engine = sa.create_engine(database.uri)
    try:
        with engine.begin() as conn:
            conn.execute(schema(LAYOUTS['007']).tables['Queues'].insert(), [
                queue('many', f'q{n:04d}', {'n': n}) for n in range(1200)])
    finally:
        engine.dispose()
    found = [q for q in reader(database.uri).queues() if q.project == 'many']
    assert [q.metadata['n'] for q in found] == list(range(1200))


def test_json_written_as_bytes(tmp_path: Path) -> None:
    """Upstream's updates write JSON as bytes even into its text columns;
    SQLite keeps them so (a blob)."""
    path = tmp_path / 'zaqar.sqlite'
    uri = f'sqlite:///{path}'
    engine = sa.create_engine(uri)
    try:
        schema(LAYOUTS['005']).create_all(engine)
        with engine.begin() as conn:
            conn.execute(sa.text(
                'INSERT INTO "Pools" (name, uri, weight, options) '
                'VALUES (:name, :uri, 1, :options)'),
                {'name': 'p', 'uri': 'redis://p', 'options': b'{"o": 1}'})
            assert conn.execute(sa.text(
                'SELECT typeof(options) FROM "Pools"')).scalar() == 'blob'
    finally:
        engine.dispose()
    source = SqlManagement(uri)
    try:
        assert source.revision is None  # no version table: read anyway
        assert source.pools() == [UpstreamPool('p', 'redis://p', 1,
                                               {'o': 1}, None)]
    finally:
        source.close()


def test_sqlite_is_only_read(tmp_path: Path) -> None:
    path = tmp_path / 'zaqar.sqlite'
    engine = sa.create_engine(f'sqlite:///{path}')
    try:
        schema(LAYOUTS['005']).create_all(engine)
    finally:
        engine.dispose()
    before = path.read_bytes()
    source = SqlManagement(f'sqlite:///{path}')
    try:
        list(source.queues())
        source.pools()
        with pytest.raises(sa.exc.OperationalError, match='readonly'), \
                source._engine.begin() as conn:
            conn.execute(sa.text('DELETE FROM "Queues"'))
    finally:
        source.close()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ['zaqar.sqlite']


def test_missing_sqlite_file_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / 'nothing.sqlite'
    with pytest.raises(SourceError, match='no such SQLite file'):
        SqlManagement(f'sqlite:///{path}')
    assert not path.exists()
    with pytest.raises(SourceError, match='names no SQLite file'):
        SqlManagement('sqlite://')


def test_empty_database(database: Database,
                        reader: type[SqlManagement]) -> None:
    if database.backend == 'sqlite':
        Path(database.uri.removeprefix('sqlite:///')).touch()
    with pytest.raises(SourceError, match='none of upstream Zaqar'):
        reader(database.uri)


def test_own_schema_is_refused(database: Database,
                               reader: type[SqlManagement]) -> None:
    """zaqar-core's own schema (revisions 0001...) is not upstream's,
    although MySQL may fold its table names into upstream's."""
    fill(database, Layout('0006', groups=False, flavors=True))
    with pytest.raises(SourceError, match='revision 0006'):
        reader(database.uri)


def test_missing_table_is_refused(database: Database,
                                  reader: type[SqlManagement]) -> None:
    fill(database, LAYOUTS['007'])
    engine = sa.create_engine(database.uri)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(
                'DROP TABLE {}'.format(engine.dialect.identifier_preparer
                                       .quote('Catalogue'))))
    finally:
        engine.dispose()
    with pytest.raises(SourceError, match='lacks Catalogue'):
        reader(database.uri)


def test_bad_metadata_is_refused(database: Database,
                                 reader: type[SqlManagement]) -> None:
    fill(database, LAYOUTS['005'])
    engine = sa.create_engine(database.uri)
    try:
        with engine.begin() as conn:
            conn.execute(schema(LAYOUTS['005']).tables['Queues'].insert(),
                         {'project': 'p', 'name': 'bad',
                          'metadata': b'[1, 2]'})
    finally:
        engine.dispose()
    with pytest.raises(SourceError, match="queue 'bad' of project 'p'"):
        list(reader(database.uri).queues())


def test_unreachable() -> None:
    with refusing_address() as address, \
            pytest.raises(SourceError, match='Cannot read') as caught:
        SqlManagement(f'postgresql://zaqar:sekret@{address}/zaqar')
    assert 'sekret' not in str(caught.value)
    assert '***' in str(caught.value)


def test_not_a_database_uri() -> None:
    with pytest.raises(SourceError, match='not a database URI'):
        SqlManagement('nonsense')
