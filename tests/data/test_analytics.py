"""The console's analytics, on SQLite and PostgreSQL: every figure of `dashboard` against a history built by hand,
the hourly counts equal to the conversations they count, CSV export, and what the recording keeps (no personal
data) and lets go (erasure, retention)."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from bot.core.incoming import UserRef
from bot.db.base import make_engine, make_sessionmaker
from bot.db.migrate import alembic_config, upgrade
from bot.db.models import (
    AuditEntry,
    Campaign,
    CampaignDelivery,
    ChannelUser,
    Conversation,
    ConversationStats,
    Order,
    OrderKind,
    SupportTicket,
    UnderstandingEvent,
)
from bot.profiles import Profile
from bot.services.analytics import (
    Dashboard,
    Mark,
    Slice,
    dashboard,
    rebuild_stats,
    start_conversation,
    tables_csv,
    to_csv,
    update_conversation,
)
from bot.services.demo import seed_demo
from bot.services.demo_history import seed_history
from bot.services.privacy import forget, run_retention
from tests.conftest import AppFactory
from tests.data.conftest import KEY
from tests.helpers import new_chat, seeded

BELGRADE = ZoneInfo("Europe/Belgrade")  # UTC+1 in November
SINCE = datetime(2026, 11, 9, 23, tzinfo=UTC)  # 10 November, 00:00 in Belgrade
UNTIL = datetime(2026, 11, 12, 23, tzinfo=UTC)  # 13 November, 00:00 in Belgrade


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


async def conversation(
    db: AsyncSession, when: datetime, channel: str, language: str, *marks: Mark, profile: str = "rs",
    speaks: str | None = None, external_id: str | None = None,
) -> int:  # fmt: skip
    """A conversation recorded as the engine records one: started, then changed by its later turns."""
    conversation_id = await start_conversation(
        db, at=when, profile=profile, channel=channel, language=language, external_id=external_id
    )
    for mark in marks:
        await update_conversation(db, conversation_id, at=when + timedelta(minutes=1), marks=[mark])
    if speaks:
        await update_conversation(db, conversation_id, at=when + timedelta(minutes=2), language=speaks)
    return conversation_id


async def history(db: AsyncSession) -> None:
    """Three local days in Belgrade (10–12 November), with something just outside the period on each side."""
    anna = ChannelUser(channel="telegram", external_id="100", language="sr")
    bora = ChannelUser(channel="viber", external_id="200", language="tk")
    db.add_all([anna, bora])
    await db.flush()

    # Conversations. 00:30 in Belgrade on the 10th is still the 9th in UTC: it counts on the local day.
    await conversation(db, at(9, 23, 30), "telegram", "sr", Mark.HANDED_OFF, external_id="100")
    await conversation(db, at(10, 12), "telegram", "sr", Mark.ID_FAILURE, Mark.IDENTIFIED)
    await conversation(db, at(11, 10), "viber", "sr", Mark.ID_FAILURE, Mark.ID_FAILURE, Mark.ID_LOCKOUT,
                       speaks="sr-Cyrl")  # fmt: skip
    await conversation(db, at(12, 22, 30), "viber", "tk", Mark.IDENTIFIED, profile="tm")  # 23:30 local: the 12th
    await conversation(db, at(12, 23, 10), "telegram", "sr", Mark.HANDED_OFF)  # the 13th in Belgrade: outside
    await conversation(db, at(9, 22), "telegram", "sr", Mark.IDENTIFIED)  # the 9th in Belgrade: outside

    # Typed messages the understanding step read.
    def typed(when: datetime, outcome: str, intent: str | None, masked: str, channel: str = "telegram") -> None:
        db.add(UnderstandingEvent(at=when, profile="rs", channel=channel, language="sr", outcome=outcome,
                                  intent=intent, confidence=0.9, text_masked=masked))  # fmt: skip

    for _ in range(3):
        typed(at(10, 9), "routed", "reconnect", "vratite mi liniju")
    typed(at(10, 9), "clarified", "reconnect", "liniju ili paket")
    typed(at(11, 9), "routed", "services", "roming", channel="viber")
    typed(at(11, 9), "not_understood", None, "kako da platim #")
    typed(at(11, 10), "not_understood", "bill", "kako da platim #")
    typed(at(12, 9), "not_understood", None, "=HYPERLINK(x)", channel="viber")
    typed(at(12, 9), "other_language", "menu", "menýu")
    typed(at(13, 9), "not_understood", None, "later")  # outside

    # Orders, and promises refused by rule.
    def order(n: int, when: datetime, kind: str, status: str, user: ChannelUser | None) -> None:
        db.add(Order(number=f"N-{n}", kind=kind, status=status, idempotency_key=f"k{n}", account_number="1/1",
                     requested_by_id=user.id if user else None, channel=user.channel if user else "telegram",
                     language=user.language if user else None, created_at=when, payload={}))  # fmt: skip

    order(1, at(10, 8), "reconnect_on_promise", "done", anna)
    order(2, at(10, 9), "reconnect_on_promise", "pending", anna)
    order(3, at(11, 8), "service_on", "sent", bora)
    order(4, at(12, 8), "suspend", "failed", anna)
    order(5, at(12, 9), "service_off", "done", None)  # its user was forgotten
    order(6, at(13, 8), "suspend", "done", anna)  # outside
    for when, reason, user in ((at(10, 10), "too_soon", anna), (at(11, 10), "too_soon", anna),
                               (at(11, 11), "not_debt", bora), (at(14, 1), "not_debt", bora)):  # fmt: skip
        db.add(AuditEntry(at=when, action="promise", outcome="refused", channel_user_id=user.id,
                          detail={"reason": reason, "account": "1/1"}))  # fmt: skip
    db.add(AuditEntry(at=at(11, 12), action="identify", outcome="ok", channel_user_id=anna.id, detail={}))

    # The operators' queue.
    def ticket(
        when: datetime,
        channel: str,
        language: str,
        *,
        taken: int | None = None,
        answered: int | None = None,
        closed: int | None = None,
        rating: int | None = None,
        after_hours: bool = False,
    ) -> None:
        def later(seconds: int | None) -> datetime | None:
            return None if seconds is None else when + timedelta(seconds=seconds)

        status = "closed" if closed is not None else "with_operator" if taken is not None else "waiting"
        db.add(SupportTicket(channel=channel, external_id="x", language=language, status=status, topic="?",
                             created_at=when, last_activity_at=when, taken_at=later(taken),
                             first_response_at=later(answered), closed_at=later(closed), rating=rating,
                             after_hours=after_hours))  # fmt: skip

    ticket(at(10, 10), "telegram", "sr", taken=120, answered=180, closed=600, rating=5)
    ticket(at(11, 10), "viber", "tk", taken=60, answered=60, closed=300, rating=3)
    ticket(at(12, 10), "telegram", "sr", taken=30)
    ticket(at(12, 20), "telegram", "sr", after_hours=True)
    ticket(at(13, 10), "telegram", "sr", taken=1, answered=1, closed=2, rating=1)  # outside
    await db.commit()


async def test_every_figure_of_the_period(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker() as db:
        await history(db)
        board = await dashboard(db, since=SINCE, until=UNTIL, zone=BELGRADE)
    # Its parts asked at once, each on a connection of its own: the same figures.
    assert await dashboard(sessionmaker, since=SINCE, until=UNTIL, zone=BELGRADE) == board

    c = board.conversations
    assert [(p.day, p.conversations, p.handed_off, p.contained) for p in c.days] == [
        (date(2026, 11, 10), 2, 1, 1), (date(2026, 11, 11), 1, 0, 1), (date(2026, 11, 12), 1, 0, 1),
    ]  # fmt: skip
    assert (c.total, c.handed_off, c.contained, c.containment, c.handoff_rate) == (4, 1, 3, 0.75, 0.25)

    i = board.identification
    assert (i.identified, i.failures, i.lockouts, i.tries, i.success_rate) == (2, 3, 1, 5, 0.4)

    u = board.understanding
    assert u.outcomes == {"routed": 4, "clarified": 1, "not_understood": 3, "other_language": 1}
    assert u.messages == 9
    assert [(x.intent, x.asked, x.clarified) for x in u.intents] == [("reconnect", 4, 1), ("services", 1, 0)]
    assert [(m.text, m.count) for m in u.not_understood] == [("kako da platim #", 2), ("=HYPERLINK(x)", 1)]

    o = board.orders
    assert o.total == 5 and o.promises_given == 2
    assert {k.kind: k.total for k in o.kinds if k.total} == {
        "reconnect_on_promise": 2, "service_on": 1, "suspend": 1, "service_off": 1,
    }  # fmt: skip
    promise = next(k for k in o.kinds if k.kind == "reconnect_on_promise")
    assert promise.states == {"pending": 1, "sent": 0, "done": 1, "failed": 0, "cancelled": 0}
    assert o.promises_refused == {"too_soon": 2, "not_debt": 1}

    q = board.queue
    assert (q.tickets, q.after_hours, q.taken, q.answered, q.closed) == (4, 1, 3, 2, 2)
    assert q.states == {"waiting": 1, "with_operator": 1, "closed": 2}
    assert q.wait_seconds == pytest.approx(70.0)  # (120 + 60 + 30) / 3
    assert q.first_response_seconds == pytest.approx(120.0)
    assert q.close_seconds == pytest.approx(450.0)

    r = board.ratings
    assert r.counts == {1: 0, 2: 0, 3: 1, 4: 0, 5: 1} and r.rated == 2 and r.average == 4.0


async def test_figures_for_one_channel_language_and_profile(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker() as db:
        await history(db)
        viber = await dashboard(db, since=SINCE, until=UNTIL, channel="viber", zone=BELGRADE)
        cyrillic = await dashboard(db, since=SINCE, until=UNTIL, language="sr-Cyrl", zone=BELGRADE)
        tm = await dashboard(db, since=SINCE, until=UNTIL, profile="tm", zone=BELGRADE)
        turkmen = await dashboard(db, since=SINCE, until=UNTIL, language="tk", zone=BELGRADE)

    assert [p.conversations for p in viber.conversations.days] == [0, 1, 1]
    assert (viber.identification.identified, viber.identification.failures) == (1, 2)
    assert viber.understanding.outcomes["routed"] == 1 and viber.understanding.outcomes["not_understood"] == 1
    assert viber.orders.total == 1 and viber.orders.promises_refused == {"not_debt": 1}  # through the chat user
    assert (viber.queue.tickets, viber.queue.wait_seconds, viber.ratings.average) == (1, 60.0, 3.0)

    # The language spoken last counts: the conversation that began in Latin and went on in Cyrillic.
    assert (cyrillic.conversations.total, cyrillic.identification.failures, cyrillic.identification.lockouts) == (
        1, 2, 1)  # fmt: skip
    assert (tm.conversations.total, tm.identification.identified, tm.conversations.handed_off) == (1, 1, 0)
    assert tm.understanding.messages == 0  # the typed messages were all rs
    assert turkmen.queue.tickets == 1 and turkmen.orders.total == 1  # the viber user's language is tk


async def test_conversations_per_channel_and_language(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker() as db:
        await history(db)
        board = await dashboard(db, since=SINCE, until=UNTIL, zone=BELGRADE)
        viber = await dashboard(db, since=SINCE, until=UNTIL, channel="viber", zone=BELGRADE)
        rs = await dashboard(db, since=SINCE, until=UNTIL, profile="rs", zone=BELGRADE)
    c = board.conversations

    def shown(slices: tuple[Slice, ...]) -> list[tuple[object, ...]]:
        return [(s.key, s.total, s.handed_off, s.contained, s.containment, s.handoff_rate,
                 [p.conversations for p in s.days], [p.handed_off for p in s.days]) for s in slices]  # fmt: skip

    assert shown(c.channels) == [("telegram", 2, 1, 1, 0.5, 0.5, [2, 0, 0], [1, 0, 0]),
                                 ("viber", 2, 0, 2, 1.0, 0.0, [0, 1, 1], [0, 0, 0])]  # fmt: skip
    assert shown(c.languages) == [("sr", 2, 1, 1, 0.5, 0.5, [2, 0, 0], [1, 0, 0]),
                                  ("sr-Cyrl", 1, 0, 1, 1.0, 0.0, [0, 1, 0], [0, 0, 0]),
                                  ("tk", 1, 0, 1, 1.0, 0.0, [0, 0, 1], [0, 0, 0])]  # fmt: skip
    # The parts add up to the whole, day by day.
    for slices in (c.channels, c.languages):
        assert sum(s.total for s in slices) == c.total and sum(s.handed_off for s in slices) == c.handed_off
        assert [sum(s.days[i].conversations for s in slices) for i in range(3)] == [p.conversations for p in c.days]
    # A filter keeps only what it lets through; a profile only its own conversations.
    assert [s.key for s in viber.conversations.channels] == ["viber"]
    assert [s.key for s in viber.conversations.languages] == ["sr-Cyrl", "tk"]
    assert shown(rs.conversations.channels) == [("telegram", 2, 1, 1, 0.5, 0.5, [2, 0, 0], [1, 0, 0]),
                                                ("viber", 1, 0, 1, 1.0, 0.0, [0, 1, 0], [0, 0, 0])]  # fmt: skip


async def test_an_empty_period_has_every_day_and_no_shares(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker() as db:
        board = await dashboard(db, since=SINCE, until=UNTIL, zone=BELGRADE)
    assert [p.conversations for p in board.conversations.days] == [0, 0, 0]
    assert board.conversations.containment is None and board.identification.success_rate is None
    assert board.conversations.channels == () and board.conversations.languages == ()
    assert board.queue.wait_seconds is None and board.ratings.average is None
    assert all(k.total == 0 for k in board.orders.kinds) and len(board.orders.kinds) == 10
    with pytest.raises(ValueError):
        await dashboard(db, since=UNTIL, until=SINCE)
    with pytest.raises(ValueError):
        await dashboard(db, since=SINCE.replace(tzinfo=None), until=UNTIL)


async def test_the_hourly_counts_equal_what_they_count(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Kept as each change is recorded (conversations) or by the database's trigger (typed messages), or rebuilt
    from the rows: the same counts."""
    conversations = text(
        "SELECT hour, profile, channel, language, conversations, handed_off, identified, id_failures, id_lockouts "
        "FROM conversation_stats WHERE conversations <> 0 OR handed_off <> 0 OR identified <> 0 "
        "OR id_failures <> 0 OR id_lockouts <> 0 ORDER BY hour, profile, channel, language"
    )
    typed = text(
        "SELECT hour, profile, channel, language, outcome, intent, messages FROM understanding_stats "
        "ORDER BY hour, profile, channel, language, outcome, intent"
    )
    orders = text("SELECT hour, channel, language, kind, status, orders FROM order_stats WHERE orders <> 0 "
                  "ORDER BY hour, channel, language, kind, status")  # fmt: skip
    refusals = text("SELECT hour, channel, language, reason, refusals FROM refusal_stats "
                    "ORDER BY hour, channel, language, reason")  # fmt: skip

    async def counts(db: AsyncSession) -> list[list[object]]:
        return [list((await db.execute(query)).all()) for query in (conversations, typed, orders, refusals)]

    async with sessionmaker() as db:
        await history(db)
        kept = await counts(db)
        board = await dashboard(db, since=SINCE, until=UNTIL, zone=BELGRADE)
        assert await rebuild_stats(db) == 6 + 8 + 6 + 4
        await db.commit()
        rebuilt = await counts(db)
        again = await dashboard(db, since=SINCE, until=UNTIL, zone=BELGRADE)
    assert kept == rebuilt and [len(k) for k in kept] == [6, 8, 6, 4]
    assert ("vratite" not in str(kept[1])) and again == board


async def test_an_order_moves_between_delivery_states(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """The outbox worker changes an order's state after it was counted: the counts follow (a database trigger)."""
    async with sessionmaker() as db:
        await history(db)
        await db.execute(text("UPDATE orders SET status = 'sent' WHERE number = 'N-2'"))
        await db.execute(text("UPDATE orders SET status = 'done' WHERE number = 'N-2'"))
        await db.execute(text("DELETE FROM orders WHERE number = 'N-3'"))
        await db.commit()
        board = await dashboard(db, since=SINCE, until=UNTIL, zone=BELGRADE)
        turkmen = await dashboard(db, since=SINCE, until=UNTIL, language="tk", zone=BELGRADE)
    assert board.orders.of(OrderKind.RECONNECT_ON_PROMISE).states["done"] == 2
    assert board.orders.of(OrderKind.RECONNECT_ON_PROMISE).states["pending"] == 0
    assert board.orders.total == 4 and turkmen.orders.total == 0


def test_every_table_exports_as_csv() -> None:
    from bot.services.analytics import Table

    table = Table("not_understood", ("text", "count"), (("kako, \"da\" platim", 2), ("=HYPERLINK(x)", 1),
                                                        ("-1", None)))  # fmt: skip
    exported = to_csv(table)
    assert exported == 'text,count\r\n"kako, ""da"" platim",2\r\n\'=HYPERLINK(x),1\r\n\'-1,\r\n'
    assert list(csv.reader(io.StringIO(exported)))[1] == ['kako, "da" platim', "2"]


async def test_the_dashboard_tables_are_what_it_shows(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker() as db:
        await history(db)
        board = await dashboard(db, since=SINCE, until=UNTIL, zone=BELGRADE)
    files = tables_csv(board)
    assert sorted(files) == sorted(f"{name}.csv" for name in (
        "conversations", "by_channel", "days_by_channel", "by_language", "days_by_language", "identification",
        "intents", "not_understood", "orders", "promises_refused", "queue", "ratings"))  # fmt: skip
    assert files["conversations.csv"].splitlines() == [
        "day,conversations,contained,handed_off",
        "2026-11-10,2,1,1",
        "2026-11-11,1,1,0",
        "2026-11-12,1,1,0",
    ]
    assert files["by_channel.csv"].splitlines() == [
        "channel,conversations,contained,handed_off,containment,handoff_rate",
        "telegram,2,1,1,0.5,0.5",
        "viber,2,2,0,1.0,0.0",
    ]
    assert files["days_by_language.csv"].splitlines() == [
        "day,language,conversations,contained,handed_off",
        "2026-11-10,sr,2,1,1", "2026-11-10,sr-Cyrl,0,0,0", "2026-11-10,tk,0,0,0",
        "2026-11-11,sr,0,0,0", "2026-11-11,sr-Cyrl,1,1,0", "2026-11-11,tk,0,0,0",
        "2026-11-12,sr,0,0,0", "2026-11-12,sr-Cyrl,0,0,0", "2026-11-12,tk,1,1,0",
    ]  # fmt: skip
    assert files["identification.csv"].splitlines()[1] == "2,3,1,0.4"
    assert files["intents.csv"].splitlines()[1:] == ["reconnect,4,1", "services,1,0"]
    assert files["not_understood.csv"].splitlines()[1:] == ["kako da platim #,2", "'=HYPERLINK(x),1"]
    assert "reconnect_on_promise,2,1,0,1,0,0" in files["orders.csv"].splitlines()
    assert files["promises_refused.csv"].splitlines()[1:] == ["too_soon,2", "not_debt,1"]
    assert files["queue.csv"].splitlines()[1] == "4,1,3,2,2,70.0,120.0,450.0"
    assert files["ratings.csv"].splitlines()[1:] == ["1,0", "2,0", "3,1", "4,0", "5,1"]
    assert board.table("queue") == board.queue.table
    with pytest.raises(KeyError):
        board.table("subscribers")


# --- what a real conversation records, and erasure ------------------------------------------------------------------
MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:?\d{2})?)?")
SECRETS = ("993", "65123456", "123456", "Gülälek", "GÜLÄLEK", "Aýna", "Öwezowa", "Ýyldyz", "8100001")


async def test_a_conversation_records_no_personal_data_and_goes_with_the_user(
    make_app: AppFactory, database_url: str
) -> None:
    app = await seeded(make_app, "tm", database_url=database_url)
    chat = await new_chat(app, "Türkmençe", "Şahsy hasabym", "Telefon belgisi we kod sözi")
    await chat.say("+993 65 123456")
    await chat.say("Ýyldyz")  # someone else's code word: a failure
    chat.expect("Görkezen maglumatlaryňyz bizdäki maglumatlara gabat gelmeýär.")
    await chat.say("Gülälek")  # asked again for the code word only
    chat.expect("Sag boluň, Aýna! Siz identifikasiýadan geçdiňiz.")
    await chat.say("menýu")

    async with app.deps.sessionmaker() as db:
        rows = (await db.execute(select(Conversation))).scalars().all()
        assert len(rows) == 1
        row = rows[0]
        user_id = await db.execute(select(ChannelUser.id).where(ChannelUser.external_id == chat.user.external_id))
        assert row.channel_user_id == user_id.scalar_one()
        assert (row.profile, row.channel, row.language, row.identified, row.id_failures, row.handed_off) == (
            "tm", "test", "tk", True, 1, False)  # fmt: skip
        stored = []
        for table in ("conversations", "conversation_stats"):
            stored += [str(value) for record in (await db.execute(text(f"SELECT * FROM {table}"))).all()
                       for value in record]  # fmt: skip
        # A moment's digits are not data ("20:03:46.599330" holds "993"): only what is not a date or time is searched.
        stored = [value for value in stored if not MOMENT.fullmatch(value)]
        assert not [value for value in stored if any(secret.lower() in value.lower() for secret in SECRETS)]

    async with app.deps.sessionmaker() as db:
        assert await forget(db, app.deps.sessions, UserRef("test", chat.user.external_id))
    async with app.deps.sessionmaker() as db:
        assert (await db.execute(select(Conversation))).scalars().all() == []
        # The hourly counts are anonymous: they stay until retention.
        counts = (await db.execute(select(ConversationStats.conversations, ConversationStats.identified))).all()
        assert [tuple(c) for c in counts if c[0]] == [(1, 1)]


async def test_retention_removes_conversations_and_their_counts(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as db:
        await history(db)
        report = await run_retention(db, days=30, now=at(11, 10, 30) + timedelta(days=30))
        await db.commit()
        # In whole hours: the conversation of 10:00 on the 11th stays with its hour.
        assert report.conversations == 3
        started = (await db.execute(select(Conversation.started_at).order_by(Conversation.started_at))).scalars()
        assert list(started) == [at(11, 10), at(12, 22, 30), at(12, 23, 10)]
        board = await dashboard(db, since=SINCE, until=UNTIL, zone=BELGRADE)
        assert [p.conversations for p in board.conversations.days] == [0, 1, 1]
        assert (board.identification.failures, board.conversations.handed_off) == (2, 0)
        assert "3 conversations" in report.summary()


# --- the demo history -------------------------------------------------------------------------------------------
DEMO_NOW = datetime(2026, 12, 3, 12, tzinfo=UTC)


async def _demo_board(db: AsyncSession) -> Dashboard:
    return await dashboard(db, since=DEMO_NOW - timedelta(days=30), until=DEMO_NOW, zone=BELGRADE)


async def test_the_demo_history_fills_every_chart_the_same_way_each_time(
    sessionmaker: async_sessionmaker[AsyncSession], rs: Profile
) -> None:
    async with sessionmaker() as db:
        await seed_demo(db, rs, KEY)
        first = await seed_history(db, rs, now=DEMO_NOW)
        await db.commit()
        board = await _demo_board(db)
        again = await seed_history(db, rs, now=DEMO_NOW)  # replaces the first: nothing piles up
        await db.commit()
        second = await _demo_board(db)
        campaigns = (await db.execute(select(Campaign.status))).scalars().all()
        deliveries = (await db.execute(select(func.count()).select_from(CampaignDelivery))).scalar_one()

    assert first == again and board == second
    c = board.conversations
    # 30 days from noon to noon touch 31 local dates: every one has conversations.
    assert c.total == first.conversations > 1000 and len(c.days) == 31 and all(p.conversations for p in c.days)
    assert 0.8 < (c.containment or 0) < 0.95 and c.handed_off == first.tickets
    assert board.identification.identified and board.identification.failures and board.identification.lockouts
    assert board.understanding.messages == first.typed_messages and board.understanding.not_understood
    assert {i.intent for i in board.understanding.intents} >= {"account", "reconnect", "services"}
    assert board.orders.total == first.orders and all(k.total for k in board.orders.kinds)
    assert sum(k.states["pending"] for k in board.orders.kinds) < board.orders.total / 10
    assert board.orders.promises_refused and board.orders.promises_given
    q = board.queue
    assert q.tickets == first.tickets and q.closed and q.wait_seconds and q.first_response_seconds and q.close_seconds
    assert board.ratings.rated and all(board.ratings.counts.values()) and 3.5 < (board.ratings.average or 0) < 4.8
    assert campaigns == ["done"] and deliveries == first.campaign_recipients > 0
    async with sessionmaker() as db:
        viber = await dashboard(db, since=DEMO_NOW - timedelta(days=30), until=DEMO_NOW, channel="viber")
        latin = await dashboard(db, since=DEMO_NOW - timedelta(days=30), until=DEMO_NOW, language="sr")
    assert 0 < viber.conversations.total < c.total and 0 < latin.conversations.total < c.total
    assert 0 < viber.queue.tickets < q.tickets and 0 < latin.orders.total < board.orders.total


def test_seed_demo_with_history_on_the_command_line(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    assert main(["db", "seed-demo", "--profile", "tm", "--history"]) == 0
    out = capsys.readouterr().out
    assert "demo data for tm: 7 records" in out and "demo history: " in out and "a finished campaign" in out


async def test_guesses_at_once_count_as_failures_and_lockouts(make_app: AppFactory, database_url: str) -> None:
    """Forty chats guessing a code word at the same moment: five guesses are compared (failures), every chat is
    told identification is paused (lockouts), each in its own conversation; the counts take them all."""
    app = await seeded(make_app, "tm", database_url=database_url)
    chats = []
    for _ in range(40):
        chat = await new_chat(app, "Türkmençe", "Şahsy hasabym", "Telefon belgisi we kod sözi")
        await chat.say("+993 65 123456")
        chats.append(chat)
    await asyncio.gather(*(chat.say(f"guess{n}") for n, chat in enumerate(chats)))
    now = datetime.now(UTC)
    async with app.deps.sessionmaker() as db:
        board = await dashboard(db, since=now - timedelta(hours=1), until=now + timedelta(hours=1), profile="tm")
        rows = (await db.execute(select(Conversation.id_failures, Conversation.id_lockouts))).all()
    assert len(rows) == 40 and sum(r[0] for r in rows) == 5 and all(r[1] == 1 for r in rows)
    i = board.identification
    assert (board.conversations.total, i.identified, i.failures, i.lockouts) == (40, 0, 5, 40)


# --- migration 0008 on a database that already has data -------------------------------------------------------
@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own, not migrated: SQLite, or one created on the PostgreSQL server and dropped after."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'old.sqlite3'}"
        return
    server = request.getfixturevalue("postgres_server")
    name = f"mila_test_0008_{uuid.uuid4().hex[:8]}"

    async def run(sql: str) -> None:
        engine = create_async_engine(server, isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.execute(text(sql))
        await engine.dispose()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    yield server.rsplit("/", 1)[0] + f"/{name}"
    asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_the_migration_counts_what_was_recorded_before_and_goes_back(empty_database: str) -> None:
    upgrade(empty_database, "0007")

    async def before() -> None:
        engine = make_engine(empty_database)
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO channel_users (id, channel, external_id, language, unreachable, first_seen, "
                    "last_seen) "
                    "VALUES (1, 'viber', 'v1', 'tk', false, '2026-11-10 08:00:00', '2026-11-10 08:00:00')"
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO orders (number, kind, status, idempotency_key, account_number, requested_by_id, "
                    "payload, created_at) "
                    "VALUES ('N-1', 'suspend', 'done', 'k1', '1/1', 1, '{}', '2026-11-10 08:10:00')"
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO audit_log (at, action, outcome, channel_user_id, detail) VALUES "
                    "('2026-11-10 08:20:00', 'promise', 'refused', 1, '{\"reason\": \"over_limit\"}')"
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO understanding_events (at, profile, channel, language, outcome, intent, text_masked) "
                    "VALUES ('2026-11-10 08:30:00', 'tm', 'viber', 'tk', 'routed', 'puk', 'puk')"
                )
            )
        await engine.dispose()

    async def figures() -> Dashboard:
        engine = make_engine(empty_database)
        async with make_sessionmaker(engine)() as db:
            board = await dashboard(db, since=at(10, 0), until=at(11, 0), channel="viber", language="tk")
        await engine.dispose()
        return board

    asyncio.run(before())
    upgrade(empty_database, "head")
    board = asyncio.run(figures())
    assert board.orders.of(OrderKind.SUSPEND).states["done"] == 1
    assert board.orders.promises_refused == {"over_limit": 1}
    assert [(i.intent, i.asked) for i in board.understanding.intents] == [("puk", 1)]
    command.downgrade(alembic_config(empty_database), "0007")
    upgrade(empty_database, "head")
    assert asyncio.run(figures()) == board
