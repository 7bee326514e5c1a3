"""Pooling: pools, flavors and the queue catalogue.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-12
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

LongText = sa.Text().with_variant(mysql.MEDIUMTEXT(), 'mysql')


def Name(length: int) -> sa.types.TypeEngine:
    return sa.String(length).with_variant(
        mysql.VARCHAR(length, collation='utf8mb4_bin'), 'mysql')


def upgrade() -> None:
    op.create_table(
        'pools',
        sa.Column('name', Name(64), primary_key=True),
        sa.Column('uri', sa.String(255), nullable=False),
        sa.Column('uri_key', sa.String(64), nullable=False),
        sa.Column('weight', sa.BigInteger, nullable=False),
        sa.Column('flavor', Name(64), nullable=True),
        sa.Column('options', LongText, nullable=False),
        sa.UniqueConstraint('uri_key', name='uq_pools_uri_key'),
    )
    op.create_index('ix_pools_flavor', 'pools', ['flavor'])
    op.create_table(
        'flavors',
        sa.Column('name', Name(64), primary_key=True),
        sa.Column('project', Name(320), nullable=False),
    )
    op.create_index('ix_flavors_project_name', 'flavors',
                    ['project', 'name'])
    op.create_table(
        'catalogue',
        sa.Column('project', Name(320), primary_key=True),
        sa.Column('queue', Name(64), primary_key=True),
        sa.Column('pool', Name(64),
                  sa.ForeignKey('pools.name', name='fk_catalogue_pool',
                                ondelete='RESTRICT'),
                  nullable=False),
    )
    op.create_index('ix_catalogue_pool', 'catalogue', ['pool'])
