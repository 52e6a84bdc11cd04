"""Erasure and retention: /forget in the chat, `mila forget`, `mila retention run`, `mila orders list`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.cli import main
from bot.core.incoming import UserRef
from bot.db.base import make_engine, make_sessionmaker, utcnow
from bot.db.models import AuditEntry, ChannelUser, Order, OrderKind, OutboxMessage
from bot.profiles import Profile, load_profile
from bot.services.backend import OrderRequest, TableBackend
from bot.services.demo import seed_demo
from bot.services.privacy import run_retention
from tests.chat import Chat
from tests.conftest import REDIS_URL, AppFactory
from tests.data.conftest import KEY

Sessions = async_sessionmaker[AsyncSession]


async def _order_for(sessionmaker: Sessions, profile: Profile, user: UserRef, key: str = "k-1") -> str:
    """A demo subscriber identified from this chat and an order placed by it."""
    async with sessionmaker() as db:
        await seed_demo(db, profile, KEY)
        backend = TableBackend(db, profile, KEY)
        found = await backend.find_by_customer_code("1234567" if profile.id == "rs" else "8100001", actor=user)
        assert found is not None
        account = (await backend.accounts(found.id))[0]
        placed = await backend.place_order(OrderRequest(OrderKind.SUSPEND, account.id, key, requested_by=user))
        await db.commit()
        return placed.number


async def _keys(user: UserRef, prefix: str) -> list[bytes]:
    redis = Redis.from_url(REDIS_URL)
    keys = [k async for k in redis.scan_iter(match=f"{prefix}{user.channel}:{user.external_id}:*")]
    await redis.aclose()
    return keys


async def test_forget_in_the_chat_after_confirmation(
    make_app: AppFactory, database_url: str, redis_prefix: str
) -> None:
    app = await make_app("rs", database_url=database_url)
    sessionmaker = app.deps.sessionmaker
    chat = Chat(app.engine)
    await chat.start()
    await chat.press("Srpski")
    number = await _order_for(sessionmaker, app.deps.profile, chat.user)
    assert await _keys(chat.user, redis_prefix)

    await chat.say("/forget")
    chat.expect("Mogu da obrišem ono što o vama čuvam", "Da li da obrišem vaše podatke?")
    await chat.press("Ne, zadržite ih")
    chat.expect("U redu, sve sam zadržala kako je bilo.", "Kako mogu da vam pomognem?")
    async with sessionmaker() as db:
        assert await db.scalar(select(func.count()).select_from(ChannelUser)) == 1

    await chat.say("zaboravi me")  # typed instead of the command
    await chat.press("Da, obrišite moje podatke")
    chat.expect("Gotovo: obrisala sam vaše podatke i naš razgovor.")

    async with sessionmaker() as db:
        assert await db.scalar(select(func.count()).select_from(ChannelUser)) == 0
        order = (await db.execute(select(Order))).scalar_one()
        assert order.number == number and order.requested_by_id is None and order.account_number == "1234567/1"
        assert (await db.execute(select(func.count()).where(AuditEntry.channel_user_id.is_not(None)))).scalar() == 0
        assert await db.scalar(select(func.count()).select_from(AuditEntry)) == 2  # kept, unlinked
    assert await _keys(chat.user, redis_prefix) == []

    await chat.start()  # a new beginning: the language is asked again
    chat.expect_buttons("Srpski (latinica)", "Türkmençe")


async def test_an_old_yes_button_erases_nothing(make_app: AppFactory, database_url: str) -> None:
    app = await make_app("tm", database_url=database_url)
    chat = Chat(app.engine)
    await chat.start()
    await chat.press("Türkmençe")
    await chat.say("maglumatlarymy poz")
    chat.expect("Maglumatlaryňyzy pozaýynmy?")
    await chat.say("menýu")  # walks away from the question
    await chat.press_payload("forget:yes")
    chat.expect_not("Boldy")
    chat.expect("Size nähili kömek edip bilerin?")
    async with app.deps.sessionmaker() as db:
        assert await db.scalar(select(func.count()).select_from(ChannelUser)) == 1


async def test_retention_deletes_what_is_old(sessionmaker: Sessions, rs: Profile) -> None:
    user, old_user = UserRef("test", "recent"), UserRef("test", "silent")
    now = utcnow()
    async with sessionmaker() as db:
        db.add(ChannelUser(channel="test", external_id="recent", first_seen=now, last_seen=now))
        long_ago = now - timedelta(days=400)
        db.add(ChannelUser(channel="test", external_id="silent", first_seen=long_ago, last_seen=long_ago))
        await db.commit()
    await _order_for(sessionmaker, rs, old_user, key="old")
    await _order_for(sessionmaker, rs, user, key="new")
    async with sessionmaker() as db:
        for entry in (await db.execute(select(AuditEntry))).scalars():
            if entry.detail.get("kind") is None:  # the identification attempts are old
                entry.at = now - timedelta(days=200)
        outbox = (await db.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars().all()
        outbox[0].delivered_at = now - timedelta(days=190)
        outbox[1].delivered_at = now - timedelta(days=10)
        await db.commit()
        report = await run_retention(db, 180, now)
        await db.commit()
    assert (report.audit_entries, report.outbox_messages, report.channel_users) == (2, 1, 1)
    async with sessionmaker() as db:
        assert list((await db.execute(select(ChannelUser.external_id))).scalars()) == ["recent"]
        assert await db.scalar(select(func.count()).select_from(Order)) == 2  # orders are kept
        assert await db.scalar(select(func.count()).select_from(AuditEntry)) == 2  # the recent order entries


def test_the_commands(
    sqlite_url: str, redis_prefix: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    monkeypatch.setenv("REDIS_PREFIX", redis_prefix)
    assert main(["orders", "list"]) == 0
    assert "(0 orders" in capsys.readouterr().out

    user = UserRef("telegram", "777")

    async def prepare() -> str:
        engine = make_engine(sqlite_url)
        sessionmaker = make_sessionmaker(engine)
        async with sessionmaker() as db:
            db.add(ChannelUser(channel="telegram", external_id="777"))
            await db.commit()
        number = await _order_for(sessionmaker, load_profile("rs"), user)
        await engine.dispose()
        redis = Redis.from_url(REDIS_URL)
        await redis.set(f"{redis_prefix}telegram:777:session", "{}")
        await redis.aclose()
        return number

    number = asyncio.run(prepare())
    assert main(["orders", "list"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["number", "kind", "account", "status", "created", "due", "sent", "attempts"]
    assert number in out and "suspend" in out and "1234567/1" in out and "pending" in out and "(1 orders" in out
    assert main(["orders", "list", "--status", "sent"]) == 0
    assert number not in capsys.readouterr().out

    assert main(["forget", "--channel", "telegram", "--user", "777"]) == 0
    assert "forgot telegram user 777" in capsys.readouterr().out
    assert asyncio.run(_keys(user, redis_prefix)) == []
    assert main(["forget", "--channel", "telegram", "--user", "777"]) == 0
    assert "no profile" in capsys.readouterr().out
    assert main(["orders", "list"]) == 0
    assert number in capsys.readouterr().out  # the order outlives the chat

    assert main(["retention", "run", "--days", "30"]) == 0
    assert "retention (30 days): deleted 0 audit entries" in capsys.readouterr().out


def test_seed_demo_on_the_command_line(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    assert main(["db", "seed-demo", "--profile", "tm"]) == 0
    assert "demo data for tm: 7 records: subscribers 7 new" in capsys.readouterr().out
    assert main(["db", "seed-demo", "--profile", "tm"]) == 0
    assert "subscribers 0 new, 0 updated" in capsys.readouterr().out
