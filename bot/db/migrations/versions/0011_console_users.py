"""console users and their audit: who may log in to the web console, and what they did there

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04

New tables only, so it runs the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.db.base

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('console_users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('password_hash', sa.String(length=256), nullable=False),
    sa.Column('created_at', bot.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', bot.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("role IN ('admin', 'marketing', 'support')", name=op.f('ck_console_users_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_users')),
    sa.UniqueConstraint('username', name=op.f('uq_console_users_username'))
    )
    op.create_table('console_audit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', bot.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('target', sa.String(length=64), nullable=True),
    sa.Column('address', sa.String(length=64), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_audit'))
    )
    op.create_index(op.f('ix_console_audit_at'), 'console_audit', ['at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_console_audit_at'), table_name='console_audit')
    op.drop_table('console_audit')
    op.drop_table('console_users')
