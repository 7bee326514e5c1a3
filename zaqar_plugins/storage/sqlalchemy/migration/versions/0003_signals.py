"""Signal counters, polled on backends that cannot notify (MySQL).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def Name(length: int) -> sa.types.TypeEngine:
    return sa.String(length).with_variant(
        mysql.VARCHAR(length, collation='utf8mb4_bin'), 'mysql')


def upgrade() -> None:
    op.create_table(
        'signals',
        sa.Column('channel', Name(64), primary_key=True),
        sa.Column('counter', sa.BigInteger, nullable=False),
    )
