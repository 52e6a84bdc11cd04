"""channel users

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.db.base

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("marketing_consent", sa.Boolean(), nullable=True),
        sa.Column("marketing_consent_at", bot.db.base.UtcDateTime(), nullable=True),
        sa.Column("unreachable", sa.Boolean(), nullable=False),
        sa.Column("first_seen", bot.db.base.UtcDateTime(), nullable=False),
        sa.Column("last_seen", bot.db.base.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_users")),
        sa.UniqueConstraint("channel", "external_id", name="uq_channel_users_channel_external_id"),
    )


def downgrade() -> None:
    op.drop_table("channel_users")
