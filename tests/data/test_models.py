"""The schema: migrations match the models on both databases, and the constraints hold what the code assumes."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.base import Base, make_engine, utcnow
from bot.db.models import Account, AccountService, ChannelUser, Order, Subscriber


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_the_migrations_create_exactly_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    async with engine.connect() as conn:
        diff = await conn.run_sync(_diff)
    await engine.dispose()
    assert diff == []


def _subscriber(code: str = "1000001") -> Subscriber:
    return Subscriber(customer_code=code, full_name="Ana Anić", segment="private")


def _account(subscriber: Subscriber, number: str = "1000001/1", **values: object) -> Account:
    fields: dict[str, object] = {"kind": "mobile", "status": "active", "debt": Decimal("0"), "currency": "RSD"}
    fields.update(values)
    return Account(subscriber=subscriber, number=number, **fields)


async def _fails(sessionmaker: async_sessionmaker[AsyncSession], *rows: object) -> bool:
    async with sessionmaker() as db:
        db.add_all(rows)
        try:
            await db.commit()
        except IntegrityError:
            return True
    return False


@pytest.mark.parametrize(
    "values",
    [{"kind": "satellite"}, {"status": "gone"}, {"debt": Decimal("-0.01")}, {"disconnect_reason": "whim"}],
)
async def test_account_constraints(sessionmaker: async_sessionmaker[AsyncSession], values: dict[str, Any]) -> None:
    assert await _fails(sessionmaker, _account(_subscriber(), **values))


async def test_unique_keys(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    assert await _fails(sessionmaker, _subscriber("1"), _subscriber("1"))
    first = _subscriber("2")
    assert await _fails(sessionmaker, _account(first, "2/1"), _account(first, "2/1"))
    async with sessionmaker() as db:
        account = _account(_subscriber("3"), "3/1")
        db.add(account)
        await db.commit()
        account_id = account.id
    assert await _fails(
        sessionmaker,
        AccountService(account_id=account_id, code="gprs", enabled=True),
        AccountService(account_id=account_id, code="gprs", enabled=False),
    )
    order = {"kind": "service_on", "account_number": "3/1", "account_id": account_id}
    assert await _fails(
        sessionmaker,
        Order(number="N-1", idempotency_key="k", **order),
        Order(number="N-2", idempotency_key="k", **order),
    )
    assert await _fails(sessionmaker, Order(number="N-3", idempotency_key="k1", **{**order, "kind": "teleport"}))


async def test_money_is_decimal_and_times_are_utc(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker() as db:
        db.add(_account(_subscriber(), debt=Decimal("2340.50")))
        await db.commit()
    async with sessionmaker() as db:
        account = (await db.execute(select(Account))).scalar_one()
        assert account.debt == Decimal("2340.50") and isinstance(account.debt, Decimal)
        subscriber = (await db.execute(select(Subscriber))).scalar_one()
        assert subscriber.created_at.utcoffset() is not None and subscriber.created_at <= utcnow()


async def test_deleting_a_subscriber_keeps_orders_and_unlinks_chats(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as db:
        subscriber = _subscriber()
        account = _account(subscriber)
        db.add_all([subscriber, account])
        await db.flush()
        user = ChannelUser(channel="test", external_id="1", subscriber_id=subscriber.id)
        db.add(user)
        await db.flush()
        order = Order(number="N-1", kind="suspend", idempotency_key="k", account_id=account.id,
                      account_number="1000001/1", subscriber_id=subscriber.id, requested_by_id=user.id)  # fmt: skip
        db.add(order)
        await db.commit()
        await db.delete(subscriber)
        await db.commit()
    async with sessionmaker() as db:
        order = (await db.execute(select(Order))).scalar_one()
        assert (order.account_id, order.subscriber_id, order.account_number) == (None, None, "1000001/1")
        assert (await db.execute(select(ChannelUser.subscriber_id))).scalar_one() is None
        assert (await db.execute(select(Account))).first() is None


def test_the_migration_runs_on_a_database_that_already_has_users(tmp_path: object) -> None:
    """0002 alters channel_users in batch mode on SQLite: existing rows must survive."""
    from pathlib import Path

    from sqlalchemy import text

    from bot.db.migrate import upgrade

    url = f"sqlite+aiosqlite:///{Path(str(tmp_path)) / 'old.sqlite3'}"
    upgrade(url, "0001")

    async def fill_and_read(sql: str | None) -> list[object]:
        engine = make_engine(url)
        async with engine.begin() as conn:
            if sql:
                await conn.execute(text(sql))
            rows = (await conn.execute(text("SELECT channel, external_id FROM channel_users"))).all()
        await engine.dispose()
        return [tuple(r) for r in rows]

    asyncio.run(fill_and_read(
        "INSERT INTO channel_users (channel, external_id, unreachable, first_seen, last_seen) "
        "VALUES ('telegram', '42', 0, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
    ))  # fmt: skip
    upgrade(url)
    assert asyncio.run(fill_and_read(None)) == [("telegram", "42")]
