"""Deployment settings: the key that makes message ids opaque.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The driver writes the key at first use (message_ids.py), so that a
    # database migrated before the first start and one made by an older
    # release end up alike.
    op.create_table(
        'settings',
        sa.Column('name', sa.String(64), primary_key=True),
        sa.Column('value', sa.Text, nullable=False),
    )
