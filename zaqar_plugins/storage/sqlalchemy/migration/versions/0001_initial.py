"""Initial schema: queues, messages, claims.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None

LongText = sa.Text().with_variant(mysql.MEDIUMTEXT(), 'mysql')


def Name(length: int) -> sa.types.TypeEngine:
    # Names compare case-sensitively, as on the other backends.
    return sa.String(length).with_variant(
        mysql.VARCHAR(length, collation='utf8mb4_bin'), 'mysql')


def upgrade() -> None:
    op.create_table(
        'queues',
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('project', Name(256), nullable=False),
        sa.Column('name', Name(64), nullable=False),
        sa.Column('metadata', LongText, nullable=False),
        sa.UniqueConstraint('project', 'name', name='uq_queues_project_name'),
        sqlite_autoincrement=True,
    )
    op.create_table(
        'messages',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer, 'sqlite'),
                  primary_key=True, autoincrement=True),
        sa.Column('project', Name(256), nullable=False),
        sa.Column('queue', Name(64), nullable=False),
        sa.Column('body', LongText, nullable=False),
        sa.Column('ttl', sa.Integer, nullable=False),
        sa.Column('created', sa.Double, nullable=False),
        sa.Column('expires', sa.Double, nullable=False),
        sa.Column('visible_at', sa.Double, nullable=False),
        sa.Column('client_uuid', sa.String(64), nullable=False),
        sa.Column('claim_id', sa.String(32), nullable=True),
        sa.Column('claim_expires', sa.Double, nullable=False),
        sa.Column('claim_count', sa.Integer, nullable=False),
        sa.Column('checksum', sa.String(64), nullable=True),
        sqlite_autoincrement=True,
    )
    # See tables.fifo_position: on PostgreSQL the queue index orders by
    # (id + 0) so that claims cannot be planned over the primary key.
    position = 'id'
    if op.get_bind().dialect.name == 'postgresql':
        position = sa.text('(id + 0)')
    op.create_index('ix_messages_queue_id', 'messages',
                    ['project', 'queue', position])
    op.create_index('ix_messages_claim_id', 'messages', ['claim_id'])
    op.create_index('ix_messages_expires', 'messages', ['expires'])
    op.create_table(
        'claims',
        sa.Column('id', sa.String(32), primary_key=True),
        sa.Column('project', Name(256), nullable=False),
        sa.Column('queue', Name(64), nullable=False),
        sa.Column('ttl', sa.Integer, nullable=False),
        sa.Column('grace', sa.Integer, nullable=False),
        sa.Column('created', sa.Double, nullable=False),
        sa.Column('expires', sa.Double, nullable=False),
    )
    op.create_index('ix_claims_expires', 'claims', ['expires'])
