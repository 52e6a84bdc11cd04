"""conversations and their hourly counts, hourly counts of typed messages kept by a trigger, for the console's
analytics; the first response of a support ticket

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03

New tables, a new nullable column and indexes run the same on SQLite (batch mode) and PostgreSQL; the trigger that
count typed messages, orders and refused promises are written for each (PL/pgSQL on PostgreSQL, trigger bodies on
SQLite). A later revision that rebuilds one of these tables in SQLite's batch mode must create its triggers again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.db.base

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


_COLUMNS = 'hour, profile, channel, language, outcome, intent, messages'
_KEY = 'hour, profile, channel, language, outcome, intent'
_PG_HOUR = "date_trunc('hour', {at} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"  # the UTC hour, whatever the session's zone
_SQLITE_HOUR = "strftime('%Y-%m-%d %H:00:00.000000', {at})"  # SQLAlchemy's text form of a UTC time

_PG_FUNCTION = f"""
CREATE FUNCTION understanding_stats_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO understanding_stats AS s ({_COLUMNS})
  VALUES ({_PG_HOUR.format(at='NEW.at')}, NEW.profile, NEW.channel, NEW.language, NEW.outcome,
          coalesce(NEW.intent, ''), 1)
  ON CONFLICT ({_KEY}) DO UPDATE SET messages = s.messages + 1;
  RETURN NULL;
END $$
"""
_PG_TRIGGER = """
CREATE TRIGGER understanding_events_counted AFTER INSERT ON understanding_events
FOR EACH ROW EXECUTE FUNCTION understanding_stats_count()
"""
_SQLITE_TRIGGER = f"""
CREATE TRIGGER understanding_events_counted AFTER INSERT ON understanding_events
BEGIN
  INSERT INTO understanding_stats ({_COLUMNS})
  VALUES ({_SQLITE_HOUR.format(at='NEW.at')}, NEW.profile, NEW.channel, NEW.language, NEW.outcome,
          coalesce(NEW.intent, ''), 1)
  ON CONFLICT ({_KEY}) DO UPDATE SET messages = messages + 1;
END
"""
_COUNT_EXISTING = """
INSERT INTO understanding_stats ({columns})
SELECT {hour}, profile, channel, language, outcome, coalesce(intent, ''), count(*) FROM understanding_events
GROUP BY {hour}, profile, channel, language, outcome, coalesce(intent, '')
"""
_ORDER_KEY = 'hour, channel, language, kind, status'


def _order_change(hour: str, row: str, sign: str) -> str:
    """The upsert that adds `sign` (1 or -1) to the count of `row` (NEW or OLD) in its hour."""
    return (f"INSERT INTO order_stats ({_ORDER_KEY}, orders) VALUES ({hour.format(at=row + '.created_at')}, "
            f"coalesce({row}.channel, ''), coalesce({row}.language, ''), {row}.kind, {row}.status, {sign}) "
            f"ON CONFLICT ({_ORDER_KEY}) DO UPDATE SET orders = order_stats.orders + {sign};")


_PG_ORDER_FUNCTION = f"""
CREATE FUNCTION order_stats_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    {_order_change(_PG_HOUR, 'OLD', '-1')}
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    {_order_change(_PG_HOUR, 'NEW', '1')}
  END IF;
  RETURN NULL;
END $$
"""
_PG_ORDER_TRIGGER = """
CREATE TRIGGER orders_counted AFTER INSERT OR DELETE OR UPDATE OF created_at, channel, language, kind, status ON orders
FOR EACH ROW EXECUTE FUNCTION order_stats_count()
"""
_SQLITE_ORDER_TRIGGERS = [
    f"CREATE TRIGGER orders_counted_insert AFTER INSERT ON orders BEGIN {_order_change(_SQLITE_HOUR, 'NEW', '1')} END",
    f"CREATE TRIGGER orders_counted_delete AFTER DELETE ON orders BEGIN {_order_change(_SQLITE_HOUR, 'OLD', '-1')} END",
    f"CREATE TRIGGER orders_counted_update AFTER UPDATE OF created_at, channel, language, kind, status ON orders BEGIN "
    f"{_order_change(_SQLITE_HOUR, 'OLD', '-1')} {_order_change(_SQLITE_HOUR, 'NEW', '1')} END",
]
_COUNT_EXISTING_ORDERS = """
INSERT INTO order_stats (hour, channel, language, kind, status, orders)
SELECT {hour}, coalesce(channel, ''), coalesce(language, ''), kind, status, count(*) FROM orders
GROUP BY {hour}, coalesce(channel, ''), coalesce(language, ''), kind, status
"""

# A refused promise is counted under its chat user's channel and language as they are when it is refused.
_REFUSAL_CHANGE = """
INSERT INTO refusal_stats (hour, channel, language, reason, refusals)
VALUES ({hour}, coalesce((SELECT channel FROM channel_users WHERE id = NEW.channel_user_id), ''),
        coalesce((SELECT language FROM channel_users WHERE id = NEW.channel_user_id), ''),
        coalesce({reason}, 'unknown'), 1)
ON CONFLICT (hour, channel, language, reason) DO UPDATE SET refusals = refusal_stats.refusals + 1;
"""
_PG_REFUSAL_FUNCTION = f"""
CREATE FUNCTION refusal_stats_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  {_REFUSAL_CHANGE.format(hour=_PG_HOUR.format(at='NEW.at'), reason="NEW.detail::jsonb ->> 'reason'")}
  RETURN NULL;
END $$
"""
_PG_REFUSAL_TRIGGER = """
CREATE TRIGGER refusals_counted AFTER INSERT ON audit_log
FOR EACH ROW WHEN (NEW.action = 'promise' AND NEW.outcome = 'refused') EXECUTE FUNCTION refusal_stats_count()
"""
_SQLITE_REFUSAL_TRIGGER = f"""
CREATE TRIGGER refusals_counted AFTER INSERT ON audit_log
WHEN NEW.action = 'promise' AND NEW.outcome = 'refused'
BEGIN
  {_REFUSAL_CHANGE.format(hour=_SQLITE_HOUR.format(at='NEW.at'), reason="json_extract(NEW.detail, '$.reason')")}
END
"""
_COUNT_EXISTING_REFUSALS = """
INSERT INTO refusal_stats (hour, channel, language, reason, refusals)
SELECT {hour}, coalesce(u.channel, ''), coalesce(u.language, ''), coalesce({reason}, 'unknown'), count(*)
FROM audit_log AS a LEFT JOIN channel_users AS u ON u.id = a.channel_user_id
WHERE a.action = 'promise' AND a.outcome = 'refused'
GROUP BY {hour}, coalesce(u.channel, ''), coalesce(u.language, ''), coalesce({reason}, 'unknown')
"""
_COUNT_EXISTING_PG = _COUNT_EXISTING.format(columns=_COLUMNS, hour=_PG_HOUR.format(at='at'))
_COUNT_EXISTING_SQLITE = _COUNT_EXISTING.format(columns=_COLUMNS, hour=_SQLITE_HOUR.format(at='at'))


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

    op.create_table('understanding_stats',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hour', bot.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('profile', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('intent', sa.String(length=64), nullable=False),
    sa.Column('messages', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_understanding_stats')),
    sa.UniqueConstraint('hour', 'profile', 'channel', 'language', 'outcome', 'intent', name='uq_understanding_stats_hour')
    )
    with op.batch_alter_table('understanding_events', schema=None) as batch_op:
        batch_op.create_index('ix_understanding_events_not_understood', ['at', 'text_masked'], unique=False,
                              postgresql_where=sa.text("outcome = 'not_understood'"),
                              sqlite_where=sa.text("outcome = 'not_understood'"))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(_PG_FUNCTION)
        op.execute(_PG_TRIGGER)
    else:
        op.execute(_SQLITE_TRIGGER)
    # Typed messages recorded before this revision are counted once.
    op.execute(_COUNT_EXISTING_PG if op.get_bind().dialect.name == 'postgresql' else _COUNT_EXISTING_SQLITE)

    # Orders: the channel they were asked on (for those already placed: their chat user's), counted per hour.
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('language', sa.String(length=8), nullable=True))
    for column in ('channel', 'language'):
        op.execute(f'UPDATE orders SET {column} = (SELECT {column} FROM channel_users '
                   'WHERE channel_users.id = orders.requested_by_id)')
    op.create_table('order_stats',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hour', bot.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('orders', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_stats')),
    sa.UniqueConstraint('hour', 'channel', 'language', 'kind', 'status', name='uq_order_stats_hour')
    )
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(_COUNT_EXISTING_ORDERS.format(hour=_PG_HOUR.format(at='created_at')))
        op.execute(_PG_ORDER_FUNCTION)
        op.execute(_PG_ORDER_TRIGGER)
    else:
        op.execute(_COUNT_EXISTING_ORDERS.format(hour=_SQLITE_HOUR.format(at='created_at')))
        for trigger in _SQLITE_ORDER_TRIGGERS:
            op.execute(trigger)

    op.create_table('refusal_stats',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hour', bot.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('refusals', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refusal_stats')),
    sa.UniqueConstraint('hour', 'channel', 'language', 'reason', name='uq_refusal_stats_hour')
    )
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(_COUNT_EXISTING_REFUSALS.format(hour=_PG_HOUR.format(at='a.at'), reason="a.detail::jsonb ->> 'reason'"))
        op.execute(_PG_REFUSAL_FUNCTION)
        op.execute(_PG_REFUSAL_TRIGGER)
    else:
        op.execute(_COUNT_EXISTING_REFUSALS.format(hour=_SQLITE_HOUR.format(at='a.at'),
                                                   reason="json_extract(a.detail, '$.reason')"))
        op.execute(_SQLITE_REFUSAL_TRIGGER)

    with op.batch_alter_table('support_tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_response_at', bot.db.base.UtcDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_support_tickets_created_at', ['created_at'], unique=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER IF EXISTS orders_counted ON orders')
        op.execute('DROP FUNCTION IF EXISTS order_stats_count()')
    else:
        for name in ('insert', 'delete', 'update'):
            op.execute(f'DROP TRIGGER IF EXISTS orders_counted_{name}')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER IF EXISTS refusals_counted ON audit_log')
        op.execute('DROP FUNCTION IF EXISTS refusal_stats_count()')
    else:
        op.execute('DROP TRIGGER IF EXISTS refusals_counted')
    op.drop_table('refusal_stats')
    op.drop_table('order_stats')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('language')
        batch_op.drop_column('channel')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER IF EXISTS understanding_events_counted ON understanding_events')
        op.execute('DROP FUNCTION IF EXISTS understanding_stats_count()')
    else:
        op.execute('DROP TRIGGER IF EXISTS understanding_events_counted')
    with op.batch_alter_table('understanding_events', schema=None) as batch_op:
        batch_op.drop_index('ix_understanding_events_not_understood')
    op.drop_table('understanding_stats')
    with op.batch_alter_table('support_tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_support_tickets_created_at')
        batch_op.drop_column('first_response_at')
    op.drop_table('conversation_stats')
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversations_channel_user_id'))
        batch_op.drop_index('ix_conversations_started_at')
    op.drop_table('conversations')
