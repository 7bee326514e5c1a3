"""Subscriptions; project columns wide enough for topic scopes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

LongText = sa.Text().with_variant(mysql.MEDIUMTEXT(), 'mysql')


def Name(length: int) -> sa.types.TypeEngine:
    return sa.String(length).with_variant(
        mysql.VARCHAR(length, collation='utf8mb4_bin'), 'mysql')


# Tables whose ids SQLite must never reuse (AUTOINCREMENT).
_AUTOINCREMENT = ('queues', 'messages')


def upgrade() -> None:
    bind = op.get_bind()
    sequences = {}
    if bind.dialect.name == 'sqlite':
        sequences = dict(bind.execute(sa.text(
            'SELECT name, seq FROM sqlite_sequence')).all())
    # SQLite cannot alter a column: batch mode copies the table there
    # (SQLite ignores the length anyway, but the schema should say what
    # it holds), and alters it in place elsewhere.
    for table in ('queues', 'messages', 'claims'):
        kwargs = {}
        if table in _AUTOINCREMENT:
            kwargs = {'sqlite_autoincrement': True}
        with op.batch_alter_table(table, table_kwargs=kwargs) as batch:
            batch.alter_column('project', existing_type=Name(256),
                               type_=Name(320), existing_nullable=False)
    for table, seq in sequences.items():
        # The copy restarted the id sequence at the largest id left; a
        # deleted message's id must stay unused.
        bind.execute(sa.text(
            'UPDATE sqlite_sequence SET seq = MAX(seq, :seq) '
            'WHERE name = :name'), {'seq': seq, 'name': table})
    op.create_table(
        'subscriptions',
        sa.Column('id', sa.String(32), primary_key=True),
        sa.Column('project', Name(320), nullable=False),
        sa.Column('source', Name(64), nullable=False),
        sa.Column('subscriber', sa.Text, nullable=False),
        sa.Column('subscriber_key', sa.String(64), nullable=False),
        sa.Column('options', LongText, nullable=False),
        sa.Column('ttl', sa.Integer, nullable=False),
        sa.Column('created', sa.Double, nullable=False),
        sa.Column('expires', sa.Double, nullable=False),
        sa.Column('confirmed', sa.Boolean, nullable=False),
        sa.UniqueConstraint('project', 'source', 'subscriber_key',
                            name='uq_subscriptions_subscriber'),
    )
    op.create_index('ix_subscriptions_source', 'subscriptions',
                    ['project', 'source', 'id'])
    op.create_index('ix_subscriptions_expires', 'subscriptions',
                    ['expires'])
