"""The schema. Alembic migrations in ``migration/`` create it; keep both in
step (a test compares them)."""

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.ext import compiler

metadata = sa.MetaData()

# Message bodies may reach max_messages_post_size (256 KiB): MySQL's TEXT
# stops at 64 KiB.
LongText = sa.Text().with_variant(mysql.MEDIUMTEXT(), 'mysql')


def Name(length: int) -> sa.types.TypeEngine:
    # Names compare case-sensitively, as on the other backends.
    return sa.String(length).with_variant(
        mysql.VARCHAR(length, collation='utf8mb4_bin'), 'mysql')

# Project ids reach 256 characters; topics live under the project id plus
# a short suffix (see zaqar_core.api.v2.topics).
PROJECT_LENGTH = 320

queues = sa.Table(
    'queues', metadata,
    sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
    sa.Column('project', Name(PROJECT_LENGTH), nullable=False),
    sa.Column('name', Name(64), nullable=False),
    sa.Column('metadata', LongText, nullable=False),
    sa.UniqueConstraint('project', 'name', name='uq_queues_project_name'),
    sqlite_autoincrement=True,
)

class fifo_position(sa.sql.functions.FunctionElement):  # noqa: N801
    """A message's place in its queue: its id, as the queue index sorts it.

    On PostgreSQL it is ``(id + 0)``, and so is the queue index's last
    column. The planner cannot then walk the primary key in id order and
    filter out other queues, which it prefers whenever its statistics say
    the queue is a large part of the table: that costs a read of every
    older message of every other queue on each claim.
    """

    type = sa.BigInteger()
    inherit_cache = True


@compiler.compiles(fifo_position)
def _fifo_position(element, sql_compiler, **kw):
    return sql_compiler.process(element.clauses, **kw)


@compiler.compiles(fifo_position, 'postgresql')
def _fifo_position_postgresql(element, sql_compiler, **kw):
    return f'({sql_compiler.process(element.clauses, **kw)} + 0)'


messages = sa.Table(
    'messages', metadata,
    # The id doubles as the FIFO sequence and the list marker: it only
    # grows (AUTOINCREMENT on SQLite, so deleted ids are never reused).
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer, 'sqlite'),
              primary_key=True, autoincrement=True),
    sa.Column('project', Name(PROJECT_LENGTH), nullable=False),
    sa.Column('queue', Name(64), nullable=False),
    sa.Column('body', LongText, nullable=False),
    sa.Column('ttl', sa.Integer, nullable=False),
    sa.Column('created', sa.Double, nullable=False),
    sa.Column('expires', sa.Double, nullable=False),
    # Delayed messages are hidden from claims until then.
    sa.Column('visible_at', sa.Double, nullable=False),
    sa.Column('client_uuid', sa.String(64), nullable=False),
    sa.Column('claim_id', sa.String(32), nullable=True),
    # 0 when unclaimed, so "free" is one comparison: claim_expires <= now.
    sa.Column('claim_expires', sa.Double, nullable=False, default=0),
    sa.Column('claim_count', sa.Integer, nullable=False, default=0),
    sa.Column('checksum', sa.String(64), nullable=True),
    sa.Index('ix_messages_claim_id', 'claim_id'),
    sa.Index('ix_messages_expires', 'expires'),
    sqlite_autoincrement=True,
)

FIFO = fifo_position(messages.c.id)

sa.Index('ix_messages_queue_id', messages.c.project, messages.c.queue, FIFO)

claims = sa.Table(
    'claims', metadata,
    sa.Column('id', sa.String(32), primary_key=True),
    sa.Column('project', Name(PROJECT_LENGTH), nullable=False),
    sa.Column('queue', Name(64), nullable=False),
    sa.Column('ttl', sa.Integer, nullable=False),
    sa.Column('grace', sa.Integer, nullable=False),
    sa.Column('created', sa.Double, nullable=False),
    sa.Column('expires', sa.Double, nullable=False),
    sa.Index('ix_claims_expires', 'expires'),
)

subscriptions = sa.Table(
    'subscriptions', metadata,
    sa.Column('id', sa.String(32), primary_key=True),
    sa.Column('project', Name(PROJECT_LENGTH), nullable=False),
    sa.Column('source', Name(64), nullable=False),
    sa.Column('subscriber', sa.Text, nullable=False),
    # SHA-256 of the subscriber: URIs may be longer than an index allows,
    # and one live subscription per subscriber is a unique constraint.
    sa.Column('subscriber_key', sa.String(64), nullable=False),
    sa.Column('options', LongText, nullable=False),
    sa.Column('ttl', sa.Integer, nullable=False),
    sa.Column('created', sa.Double, nullable=False),
    sa.Column('expires', sa.Double, nullable=False),
    sa.Column('confirmed', sa.Boolean, nullable=False),
    sa.UniqueConstraint('project', 'source', 'subscriber_key',
                        name='uq_subscriptions_subscriber'),
    sa.Index('ix_subscriptions_source', 'project', 'source', 'id'),
    sa.Index('ix_subscriptions_expires', 'expires'),
)

# A counter per signal channel, for backends that cannot notify (MySQL):
# notify() adds 1, listeners poll (see signals.py). A channel's row
# stays once made.
signals = sa.Table(
    'signals', metadata,
    sa.Column('channel', Name(64), primary_key=True),
    sa.Column('counter', sa.BigInteger, nullable=False),
)

# Keys of posts made with ``once`` (see MessageControllerBase.
# post_counting_subscriptions): inserted in the post's transaction, kept
# when the queue goes, so a resumed import stores nothing twice.
post_keys = sa.Table(
    'post_keys', metadata,
    sa.Column('project', Name(PROJECT_LENGTH), primary_key=True),
    sa.Column('queue', Name(64), primary_key=True),
    sa.Column('key', Name(128), primary_key=True),
)

# Deployment-wide values kept in the database, by name: the key of the
# message id permutation (see message_ids.py), made at first use.
settings = sa.Table(
    'settings', metadata,
    sa.Column('name', sa.String(64), primary_key=True),
    sa.Column('value', sa.Text, nullable=False),
)

# Pooling (see zaqar_core.storage.pools): the pools, the flavors grouping
# them and the catalogue of which pool holds each queue.
pools = sa.Table(
    'pools', metadata,
    sa.Column('name', Name(64), primary_key=True),
    sa.Column('uri', sa.String(255), nullable=False),
    # SHA-256 of the URI: a unique key that compares it byte for byte on
    # every backend (MySQL collations fold case or trailing spaces).
    sa.Column('uri_key', sa.String(64), nullable=False),
    # Up to 2**32-1: beyond PostgreSQL's INTEGER.
    sa.Column('weight', sa.BigInteger, nullable=False),
    # A flavor name, or NULL. Not a foreign key: a pool may be tagged
    # before its flavor exists.
    sa.Column('flavor', Name(64), nullable=True),
    sa.Column('options', LongText, nullable=False),
    sa.UniqueConstraint('uri_key', name='uq_pools_uri_key'),
    sa.Index('ix_pools_flavor', 'flavor'),
)

flavors = sa.Table(
    'flavors', metadata,
    # Unique across projects: pools carry bare flavor names.
    sa.Column('name', Name(64), primary_key=True),
    sa.Column('project', Name(PROJECT_LENGTH), nullable=False),
    sa.Index('ix_flavors_project_name', 'project', 'name'),
)

catalogue = sa.Table(
    'catalogue', metadata,
    sa.Column('project', Name(PROJECT_LENGTH), primary_key=True),
    sa.Column('queue', Name(64), primary_key=True),
    # RESTRICT: a pool holding queues cannot go (SQLite enforces no
    # foreign keys here: there, writers run one at a time, and the
    # controllers check).
    sa.Column('pool', Name(64),
              sa.ForeignKey('pools.name', name='fk_catalogue_pool',
                            ondelete='RESTRICT'),
              nullable=False),
    sa.Index('ix_catalogue_pool', 'pool'),
)
