"""Keys of posts made once (zaqar-manage import-upstream resumes by them).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def Name(length: int) -> sa.types.TypeEngine:
    return sa.String(length).with_variant(
        mysql.VARCHAR(length, collation='utf8mb4_bin'), 'mysql')


def upgrade() -> None:
    op.create_table(
        'post_keys',
        sa.Column('project', Name(320), primary_key=True),
        sa.Column('queue', Name(64), primary_key=True),
        sa.Column('key', Name(128), primary_key=True),
    )
