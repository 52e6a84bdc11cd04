"""understanding_events: typed messages the understanding step read, masked, with its guess and the outcome

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

A new table only, so it runs the same on SQLite (batch mode for the indexes) and PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.db.base

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('understanding_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', bot.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('channel_user_id', sa.Integer(), nullable=True),
    sa.Column('profile', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('intent', sa.String(length=64), nullable=True),
    sa.Column('confidence', sa.Float(), nullable=True),
    sa.Column('text_masked', sa.String(length=200), nullable=False),
    sa.CheckConstraint("outcome IN ('routed', 'clarified', 'not_understood', 'other_language')", name=op.f('ck_understanding_events_outcome')),
    sa.ForeignKeyConstraint(['channel_user_id'], ['channel_users.id'], name=op.f('fk_understanding_events_channel_user_id_channel_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_understanding_events'))
    )
    with op.batch_alter_table('understanding_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_understanding_events_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_understanding_events_channel_user_id'), ['channel_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_understanding_events_outcome'), ['outcome'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('understanding_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_understanding_events_outcome'))
        batch_op.drop_index(batch_op.f('ix_understanding_events_channel_user_id'))
        batch_op.drop_index(batch_op.f('ix_understanding_events_at'))
    op.drop_table('understanding_events')
