"""What the bot records for the console's analytics: one row per conversation, hourly counts kept beside it.

A conversation is a session of the engine: it starts with the first message of a session and ends when the session
expires. The engine records it once the turn that started it is committed, and records what happened in later
turns (the language chosen, a handoff to a human, identification tries) only in the turns where it happened, in
a short transaction of its own, so the turn's own work never waits for these counters. The row holds numbers and
flags, never what was typed, a phone number, a name or a code.

Every change of a conversation moves its share of the hourly counts (`conversation_stats`) at once: the old values
are taken out of their hour, profile, channel and language and the new ones put in, so the counts always equal
the rows recorded (`rebuild_stats` recomputes them from the rows, for generated history and for repairs).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Integer, delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.incoming import UserRef
from bot.core.records import Mark
from bot.db.models import (
    AuditEntry,
    ChannelUser,
    Conversation,
    ConversationStats,
    Order,
    OrderStats,
    RefusalStats,
    UnderstandingEvent,
    UnderstandingStats,
)

COUNTERS = ("conversations", "handed_off", "identified", "id_failures", "id_lockouts")


def hour_of(moment: datetime) -> datetime:
    """The UTC hour a moment falls in: what the hourly counts are keyed on."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


@dataclass(frozen=True, slots=True)
class _Share:
    """What one conversation adds to the hourly counts, and where."""

    key: tuple[datetime, str, str, str]
    counts: tuple[int, ...]

    @classmethod
    def of(cls, row: Conversation) -> _Share:
        key = (hour_of(row.started_at), row.profile, row.channel, row.language)
        return cls(key, (1, int(row.handed_off), int(row.identified), row.id_failures, row.id_lockouts))


async def _add(db: AsyncSession, key: tuple[datetime, str, str, str], counts: Iterable[int], sign: int) -> None:
    values = dict(zip(COUNTERS, (sign * n for n in counts), strict=True))
    if not any(values.values()):
        return
    hour, profile, channel, language = key
    dialect = db.get_bind().dialect.name
    make = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt: Any = make(ConversationStats).values(hour=hour, profile=profile, channel=channel, language=language,
                                               **values)  # fmt: skip
    table = ConversationStats.__table__
    stmt = stmt.on_conflict_do_update(
        index_elements=["hour", "profile", "channel", "language"],
        set_={name: table.c[name] + stmt.excluded[name] for name in COUNTERS},
    )
    await db.execute(stmt)


async def _move(db: AsyncSession, before: _Share | None, after: _Share | None) -> None:
    """Take `before` out of the counts and put `after` in, locking the rows in one order (no deadlock)."""
    changes: dict[tuple[datetime, str, str, str], list[int]] = {}
    for share, sign in ((before, -1), (after, 1)):
        if share is not None:
            total = changes.setdefault(share.key, [0] * len(COUNTERS))
            for i, n in enumerate(share.counts):
                total[i] += sign * n
    for key in sorted(changes):
        await _add(db, key, changes[key], 1)


async def start_conversation(
    db: AsyncSession, *, at: datetime, profile: str, channel: str, language: str, external_id: str | None
) -> int:
    """A new conversation, linked to its chat user when the profile row exists; returns its id."""
    user_id = None
    if external_id is not None:
        user_id = (
            await db.execute(
                select(ChannelUser.id).where(ChannelUser.channel == channel, ChannelUser.external_id == external_id)
            )
        ).scalar_one_or_none()
    row = Conversation(
        started_at=at, last_at=at, channel_user_id=user_id, profile=profile, channel=channel, language=language[:8],
        handed_off=False, identified=False, id_failures=0, id_lockouts=0,
    )  # fmt: skip
    db.add(row)
    await db.flush()
    await _move(db, None, _Share.of(row))
    return row.id


async def update_conversation(
    db: AsyncSession, conversation_id: int, *, at: datetime, language: str | None = None, marks: Iterable[Mark] = ()
) -> bool:
    """Apply a turn's marks (and the language now spoken) to a conversation; False when it is gone (forgotten,
    or removed by retention)."""
    query = select(Conversation).where(Conversation.id == conversation_id).with_for_update()
    row = (await db.execute(query)).scalar_one_or_none()
    if row is None:
        return False
    before = _Share.of(row)
    if language:
        row.language = language[:8]
    for mark in marks:
        if mark is Mark.HANDED_OFF:
            row.handed_off = True
        elif mark is Mark.IDENTIFIED:
            row.identified = True
        elif mark is Mark.ID_FAILURE:
            row.id_failures += 1
        elif mark is Mark.ID_LOCKOUT:
            row.id_lockouts += 1
    row.last_at = max(row.last_at, at)
    await db.flush()
    await _move(db, before, _Share.of(row))
    return True


def _hour(db: AsyncSession, column: Any) -> Any:
    """The UTC hour of a time column, as the hourly counts store it."""
    if db.get_bind().dialect.name == "postgresql":  # truncated in UTC, whatever the connection's time zone
        return func.timezone("UTC", func.date_trunc("hour", func.timezone("UTC", column)))
    return func.strftime("%Y-%m-%d %H:00:00.000000", column)  # SQLite keeps UTC times as text, in this form


async def rebuild_stats(db: AsyncSession) -> int:
    """Recompute every hourly count from the conversations, typed messages, orders and refused promises (after a
    bulk load, or to repair); returns how many hourly rows there are now."""
    await db.execute(delete(ConversationStats))
    hour = _hour(db, Conversation.started_at)
    grouped = select(
        hour.label("hour"), Conversation.profile, Conversation.channel, Conversation.language,
        func.count().label("conversations"),
        func.sum(func.cast(Conversation.handed_off, Integer)).label("handed_off"),
        func.sum(func.cast(Conversation.identified, Integer)).label("identified"),
        func.sum(Conversation.id_failures).label("id_failures"),
        func.sum(Conversation.id_lockouts).label("id_lockouts"),
    ).group_by(hour, Conversation.profile, Conversation.channel, Conversation.language)  # fmt: skip
    columns = ["hour", "profile", "channel", "language", *COUNTERS]
    result = await db.execute(insert(ConversationStats).from_select(columns, grouped))
    total = int(result.rowcount or 0)  # type: ignore[attr-defined]

    await db.execute(delete(UnderstandingStats))
    hour = _hour(db, UnderstandingEvent.at)
    intent = func.coalesce(UnderstandingEvent.intent, "")
    typed = select(
        hour, UnderstandingEvent.profile, UnderstandingEvent.channel, UnderstandingEvent.language,
        UnderstandingEvent.outcome, intent, func.count(),
    ).group_by(hour, UnderstandingEvent.profile, UnderstandingEvent.channel, UnderstandingEvent.language,
               UnderstandingEvent.outcome, intent)  # fmt: skip
    columns = ["hour", "profile", "channel", "language", "outcome", "intent", "messages"]
    result = await db.execute(insert(UnderstandingStats).from_select(columns, typed))
    total += int(result.rowcount or 0)  # type: ignore[attr-defined]

    await db.execute(delete(OrderStats))
    hour = _hour(db, Order.created_at)
    channel, language = func.coalesce(Order.channel, ""), func.coalesce(Order.language, "")
    placed = select(hour, channel, language, Order.kind, Order.status, func.count()).group_by(
        hour, channel, language, Order.kind, Order.status
    )
    columns = ["hour", "channel", "language", "kind", "status", "orders"]
    result = await db.execute(insert(OrderStats).from_select(columns, placed))
    total += int(result.rowcount or 0)  # type: ignore[attr-defined]

    await db.execute(delete(RefusalStats))
    hour = _hour(db, AuditEntry.at)
    channel, language = func.coalesce(ChannelUser.channel, ""), func.coalesce(ChannelUser.language, "")
    reason = func.coalesce(AuditEntry.detail["reason"].as_string(), "unknown")
    refused = (
        select(hour, channel, language, reason, func.count())
        .select_from(AuditEntry)
        .outerjoin(ChannelUser, ChannelUser.id == AuditEntry.channel_user_id)
        .where(AuditEntry.action == "promise", AuditEntry.outcome == "refused")
        .group_by(hour, channel, language, reason)
    )
    columns = ["hour", "channel", "language", "reason", "refusals"]
    result = await db.execute(insert(RefusalStats).from_select(columns, refused))
    return total + int(result.rowcount or 0)  # type: ignore[attr-defined]


async def retain_stats(db: AsyncSession, cutoff: datetime) -> tuple[int, int]:
    """Delete conversations and the hourly counts from before `cutoff` (in whole hours, so rows and counts stay
    equal), but the counts of orders: orders are kept, and so are their counts."""
    hour = hour_of(cutoff)
    rows: Any = await db.execute(delete(Conversation).where(Conversation.started_at < hour))
    counts = 0
    for table in (ConversationStats, UnderstandingStats, RefusalStats):
        result: Any = await db.execute(delete(table).where(table.hour < hour))
        counts += int(result.rowcount or 0)
    return int(rows.rowcount or 0), counts


class ConversationRecords:
    """What the engine records of each conversation (`bot.core.records.ConversationLog`), over these tables."""

    async def start(
        self, db: AsyncSession, *, at: datetime, profile: str, channel: str, language: str, external_id: str | None
    ) -> int:
        return await start_conversation(
            db, at=at, profile=profile, channel=channel, language=language, external_id=external_id
        )

    async def update(
        self, db: AsyncSession, conversation: int, *, at: datetime, language: str | None = None,
        marks: Iterable[Mark] = (),
    ) -> bool:  # fmt: skip
        return await update_conversation(db, conversation, at=at, language=language, marks=marks)

    async def understanding(self, db: AsyncSession, user: UserRef, event: UnderstandingEvent) -> None:
        event.channel_user_id = (
            await db.execute(
                select(ChannelUser.id).where(
                    ChannelUser.channel == user.channel, ChannelUser.external_id == user.external_id
                )
            )
        ).scalar_one_or_none()
        db.add(event)
