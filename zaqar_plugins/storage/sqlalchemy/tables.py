"""The schema. Alembic migrations in ``migration/`` create it; keep both in
step (a test compares them)."""

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

metadata = sa.MetaData()

# Message bodies may reach max_messages_post_size (256 KiB): MySQL's TEXT
# stops at 64 KiB.
LongText = sa.Text().with_variant(mysql.MEDIUMTEXT(), 'mysql')


def Name(length: int) -> sa.types.TypeEngine:
    # Names compare case-sensitively, as on the other backends.
    return sa.String(length).with_variant(
        mysql.VARCHAR(length, collation='utf8mb4_bin'), 'mysql')

queues = sa.Table(
    'queues', metadata,
    sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
    sa.Column('project', Name(256), nullable=False),
    sa.Column('name', Name(64), nullable=False),
    sa.Column('metadata', LongText, nullable=False),
    sa.UniqueConstraint('project', 'name', name='uq_queues_project_name'),
    sqlite_autoincrement=True,
)

messages = sa.Table(
    'messages', metadata,
    # The id doubles as the FIFO sequence and the list marker: it only
    # grows (AUTOINCREMENT on SQLite, so deleted ids are never reused).
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer, 'sqlite'),
              primary_key=True, autoincrement=True),
    sa.Column('project', Name(256), nullable=False),
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
    sa.Index('ix_messages_queue_id', 'project', 'queue', 'id'),
    sa.Index('ix_messages_claim_id', 'claim_id'),
    sa.Index('ix_messages_expires', 'expires'),
    sqlite_autoincrement=True,
)

claims = sa.Table(
    'claims', metadata,
    sa.Column('id', sa.String(32), primary_key=True),
    sa.Column('project', Name(256), nullable=False),
    sa.Column('queue', Name(64), nullable=False),
    sa.Column('ttl', sa.Integer, nullable=False),
    sa.Column('grace', sa.Integer, nullable=False),
    sa.Column('created', sa.Double, nullable=False),
    sa.Column('expires', sa.Double, nullable=False),
    sa.Index('ix_claims_expires', 'expires'),
)
