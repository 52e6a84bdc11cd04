"""conversations and their hourly counts for the console's analytics; the first response of a support ticket

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03

New tables, a new nullable column and an index, so it runs the same on SQLite (batch mode) and PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.db.base

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('conversations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('started_at', bot.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('last_at', bot.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('channel_user_id', sa.Integer(), nullable=True),
    sa.Column('profile', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('handed_off', sa.Boolean(), nullable=False),
    sa.Column('identified', sa.Boolean(), nullable=False),
    sa.Column('id_failures', sa.Integer(), nullable=False),
    sa.Column('id_lockouts', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['channel_user_id'], ['channel_users.id'], name=op.f('fk_conversations_channel_user_id_channel_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversations'))
    )
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.create_index('ix_conversations_started_at', ['started_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_conversations_channel_user_id'), ['channel_user_id'], unique=False)

    op.create_table('conversation_stats',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hour', bot.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('profile', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('conversations', sa.Integer(), nullable=False),
    sa.Column('handed_off', sa.Integer(), nullable=False),
    sa.Column('identified', sa.Integer(), nullable=False),
    sa.Column('id_failures', sa.Integer(), nullable=False),
    sa.Column('id_lockouts', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversation_stats')),
    sa.UniqueConstraint('hour', 'profile', 'channel', 'language', name='uq_conversation_stats_hour')
    )

    with op.batch_alter_table('support_tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_response_at', bot.db.base.UtcDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_support_tickets_created_at', ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('support_tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_support_tickets_created_at')
        batch_op.drop_column('first_response_at')
    op.drop_table('conversation_stats')
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversations_channel_user_id'))
        batch_op.drop_index('ix_conversations_started_at')
    op.drop_table('conversations')
