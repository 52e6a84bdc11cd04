"""sim codes: the sealed PUK of a mobile line's SIM card, imported with the line

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29

One nullable column: batch mode, so it runs the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('puk_sealed', sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_column('puk_sealed')
