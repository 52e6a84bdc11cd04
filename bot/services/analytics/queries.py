"""The console's analytics: every figure over a period, per channel, language and profile, as plain numbers.

`dashboard` answers with frozen dataclasses of ints, floats, dates and strings — nothing of the database — so the
page, its charts and the CSV export (`to_csv` of any section's `table`) show the same numbers. Where each comes
from:

- conversations, containment, handoffs and identification: the hourly counts of `conversation_stats` (kept as
  the engine records each conversation), so a month is a few thousand rows however many conversations it had;
  the period is taken in whole UTC hours and the days are the profile's local days;
- intents: the hourly counts of `understanding_stats` (kept by a trigger on `understanding_events`); what was not
  understood, most frequent first: `understanding_events` themselves (masked), through a partial index;
- orders per kind and their delivery state: the hourly counts of `order_stats` (kept by triggers on `orders`, per
  the channel and language the order was asked in); promises refused by rule: `refusal_stats` (kept by a trigger
  on the `audit_log`'s `promise`/`refused` entries, per the chat user's channel and language at that moment);
- the operators' queue and ratings: `support_tickets` opened in the period.

A database serves one profile, so the profile filter applies to what records it (conversations, typed messages)
and leaves orders and tickets as they are.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import (
    ConversationStats,
    OrderKind,
    OrderStats,
    OrderStatus,
    RefusalStats,
    SupportStatus,
    SupportTicket,
    UnderstandingEvent,
    UnderstandingOutcome,
    UnderstandingStats,
)
from bot.services.analytics.recording import COUNTERS, hour_of

TOP_NOT_UNDERSTOOD = 50
Cell = str | int | float | None


@dataclass(frozen=True, slots=True)
class Table:
    """One table as shown (and exported): a name for the file, column names, rows of plain values."""

    name: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


def to_csv(table: Table) -> str:
    """The table as CSV (RFC 4180, comma, CRLF), a header row first; empty cells for missing values."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow(["" if cell is None else _csv_cell(cell) for cell in row])
    return out.getvalue()


def _csv_cell(cell: str | int | float) -> str | int | float:
    # A spreadsheet runs a cell starting with = + - @ as a formula: typed messages are text, never formulas.
    if isinstance(cell, str) and cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + cell
    return cell


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


# --- sections ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DayPoint:
    day: date  # the profile's local day
    conversations: int
    handed_off: int

    @property
    def contained(self) -> int:
        return self.conversations - self.handed_off


@dataclass(frozen=True, slots=True)
class Slice:
    """The conversations of one channel or one language over the period, per day and in all."""

    key: str  # the channel (`telegram`, `viber`, …) or the language (`sr`, `tk`, …)
    total: int
    handed_off: int
    days: tuple[DayPoint, ...]  # every day of the period, also the empty ones

    @property
    def contained(self) -> int:
        return self.total - self.handed_off

    @property
    def containment(self) -> float | None:
        return _share(self.contained, self.total)

    @property
    def handoff_rate(self) -> float | None:
        return _share(self.handed_off, self.total)


def _slices_table(name: str, column: str, slices: Sequence[Slice]) -> Table:
    def rate(value: float | None) -> float | None:
        return None if value is None else round(value, 4)

    rows = tuple((s.key, s.total, s.contained, s.handed_off, rate(s.containment), rate(s.handoff_rate))
                 for s in slices)  # fmt: skip
    return Table(name, (column, "conversations", "contained", "handed_off", "containment", "handoff_rate"), rows)


def _slice_days_table(name: str, column: str, slices: Sequence[Slice]) -> Table:
    rows = tuple(sorted(((p.day.isoformat(), s.key, p.conversations, p.contained, p.handed_off)
                         for s in slices for p in s.days), key=lambda row: (row[0], row[1])))  # fmt: skip
    return Table(name, ("day", column, "conversations", "contained", "handed_off"), rows)


@dataclass(frozen=True, slots=True)
class Conversations:
    """How many conversations, and how many the bot finished without a human (containment); the same per channel
    and per language (those that had a conversation in the period, by name)."""

    total: int
    handed_off: int
    days: tuple[DayPoint, ...]  # every day of the period, also the empty ones
    channels: tuple[Slice, ...] = ()
    languages: tuple[Slice, ...] = ()

    @property
    def contained(self) -> int:
        return self.total - self.handed_off

    @property
    def containment(self) -> float | None:
        return _share(self.contained, self.total)

    @property
    def handoff_rate(self) -> float | None:
        return _share(self.handed_off, self.total)

    @property
    def table(self) -> Table:
        rows = tuple((p.day.isoformat(), p.conversations, p.contained, p.handed_off) for p in self.days)
        return Table("conversations", ("day", "conversations", "contained", "handed_off"), rows)

    @property
    def channels_table(self) -> Table:
        return _slices_table("by_channel", "channel", self.channels)

    @property
    def languages_table(self) -> Table:
        return _slices_table("by_language", "language", self.languages)

    @property
    def channel_days_table(self) -> Table:
        return _slice_days_table("days_by_channel", "channel", self.channels)

    @property
    def language_days_table(self) -> Table:
        return _slice_days_table("days_by_language", "language", self.languages)


@dataclass(frozen=True, slots=True)
class Identification:
    identified: int  # conversations in which the subscriber proved who they are
    failures: int  # wrong code words, passports, one-time codes
    lockouts: int  # times identification was refused for a while

    @property
    def tries(self) -> int:
        return self.identified + self.failures

    @property
    def success_rate(self) -> float | None:
        return _share(self.identified, self.tries)

    @property
    def table(self) -> Table:
        rate = None if self.success_rate is None else round(self.success_rate, 4)
        return Table(
            "identification",
            ("identified", "failures", "lockouts", "success_rate"),
            ((self.identified, self.failures, self.lockouts, rate),),
        )


@dataclass(frozen=True, slots=True)
class IntentCount:
    intent: str
    asked: int  # typed messages routed to it or for which it was the best guess when the bot asked back
    clarified: int  # of those, the ones where the bot asked which of two was meant


@dataclass(frozen=True, slots=True)
class MessageCount:
    text: str  # masked as recorded: digits and what looks like a number, a code or a name replaced
    count: int


@dataclass(frozen=True, slots=True)
class Understanding:
    """What people typed: understood (per intent), asked back, not understood (most frequent first)."""

    outcomes: dict[str, int]  # every UnderstandingOutcome value → typed messages
    intents: tuple[IntentCount, ...]  # most asked first
    not_understood: tuple[MessageCount, ...]  # most frequent first, at most TOP_NOT_UNDERSTOOD

    @property
    def messages(self) -> int:
        return sum(self.outcomes.values())

    @property
    def table(self) -> Table:
        rows = tuple((i.intent, i.asked, i.clarified) for i in self.intents)
        return Table("intents", ("intent", "asked", "clarified"), rows)

    @property
    def not_understood_table(self) -> Table:
        return Table("not_understood", ("text", "count"), tuple((m.text, m.count) for m in self.not_understood))


@dataclass(frozen=True, slots=True)
class OrderCount:
    kind: str  # an OrderKind value
    states: dict[str, int]  # every OrderStatus value → orders

    @property
    def total(self) -> int:
        return sum(self.states.values())


@dataclass(frozen=True, slots=True)
class Orders:
    kinds: tuple[OrderCount, ...]  # every OrderKind, in the enum's order
    promises_refused: dict[str, int]  # reconnection on promise refused by rule: reason → times

    @property
    def total(self) -> int:
        return sum(k.total for k in self.kinds)

    def of(self, kind: OrderKind) -> OrderCount:
        return next(k for k in self.kinds if k.kind == kind.value)

    @property
    def promises_given(self) -> int:
        return self.of(OrderKind.RECONNECT_ON_PROMISE).total

    @property
    def table(self) -> Table:
        states = [s.value for s in OrderStatus]
        rows: tuple[tuple[Cell, ...], ...] = tuple(
            (k.kind, k.total, *(k.states[s] for s in states)) for k in self.kinds
        )
        return Table("orders", ("kind", "total", *states), rows)

    @property
    def refusals_table(self) -> Table:
        rows = tuple(sorted(self.promises_refused.items(), key=lambda item: (-item[1], item[0])))
        return Table("promises_refused", ("reason", "count"), rows)


@dataclass(frozen=True, slots=True)
class Queue:
    """Conversations handed to operators (support tickets opened in the period) and how long they took."""

    tickets: int
    after_hours: int  # left as a message while the desk was closed
    states: dict[str, int]  # every SupportStatus value → tickets, as they are now
    taken: int
    answered: int
    closed: int
    wait_seconds: float | None  # opened → taken by an operator, on average over the taken ones
    first_response_seconds: float | None  # opened → the operator's first message, over the answered ones
    close_seconds: float | None  # opened → closed, over the closed ones

    @property
    def table(self) -> Table:
        def rounded(value: float | None) -> float | None:
            return None if value is None else round(value, 1)

        return Table(
            "queue",
            ("tickets", "after_hours", "taken", "answered", "closed", "avg_wait_s", "avg_first_response_s",
             "avg_close_s"),
            ((self.tickets, self.after_hours, self.taken, self.answered, self.closed, rounded(self.wait_seconds),
              rounded(self.first_response_seconds), rounded(self.close_seconds)),),
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Ratings:
    counts: dict[int, int]  # 1..5 → tickets rated so

    @property
    def rated(self) -> int:
        return sum(self.counts.values())

    @property
    def average(self) -> float | None:
        if not self.rated:
            return None
        return sum(value * n for value, n in self.counts.items()) / self.rated

    @property
    def table(self) -> Table:
        return Table("ratings", ("rating", "tickets"), tuple((value, self.counts[value]) for value in range(1, 6)))


@dataclass(frozen=True, slots=True)
class Dashboard:
    since: datetime
    until: datetime
    channel: str | None
    language: str | None
    profile: str | None
    conversations: Conversations
    identification: Identification
    understanding: Understanding
    orders: Orders
    queue: Queue
    ratings: Ratings
    zone: str = field(default="UTC")

    def tables(self) -> tuple[Table, ...]:
        """Every table the page shows, each exportable with `to_csv`."""
        return (
            self.conversations.table,
            self.conversations.channels_table,
            self.conversations.channel_days_table,
            self.conversations.languages_table,
            self.conversations.language_days_table,
            self.identification.table,
            self.understanding.table,
            self.understanding.not_understood_table,
            self.orders.table,
            self.orders.refusals_table,
            self.queue.table,
            self.ratings.table,
        )

    def table(self, name: str) -> Table:
        found = next((t for t in self.tables() if t.name == name), None)
        if found is None:
            raise KeyError(name)
        return found


# --- the queries ---------------------------------------------------------------------------------------------------
def _seconds(db: AsyncSession, start: Any, end: Any) -> ColumnElement[Any]:
    if db.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", end - start)
    # Julian days are floats: a difference is exact to about a millisecond, so it is rounded to one.
    return func.round((func.julianday(end) - func.julianday(start)) * 86400.0, 3)


async def _conversations(
    db: AsyncSession, since: datetime, until: datetime, zone: tzinfo, filters: list[ColumnElement[bool]]
) -> tuple[Conversations, Identification]:
    stats = ConversationStats
    hourly = (
        select(stats.hour, stats.channel, stats.language, *(func.sum(stats.__table__.c[name]) for name in COUNTERS))
        .where(stats.hour >= hour_of(since), stats.hour < until, *filters)
        .group_by(stats.hour, stats.channel, stats.language)
    )
    # day → [conversations, handed off], in all and per channel and per language
    per_day: dict[date, list[int]] = {}
    per_channel: dict[str, dict[date, list[int]]] = {}
    per_language: dict[str, dict[date, list[int]]] = {}
    totals = [0] * len(COUNTERS)
    day_of: dict[datetime, date] = {}  # an hour comes once per channel and language: its local day looked up once
    for hour, channel, language, *counts in (await db.execute(hourly)).all():
        day = day_of.get(hour)
        if day is None:
            day = day_of[hour] = hour.astimezone(zone).date()
        started, handed = int(counts[0] or 0), int(counts[1] or 0)
        for bucket in (per_day.setdefault(day, [0, 0]), per_channel.setdefault(channel, {}).setdefault(day, [0, 0]),
                       per_language.setdefault(language, {}).setdefault(day, [0, 0])):  # fmt: skip
            bucket[0] += started
            bucket[1] += handed
        for i, n in enumerate(counts):
            totals[i] += int(n or 0)
    first, last = since.astimezone(zone).date(), (until.astimezone(zone) - _TICK).date()
    period = _days(first, last)

    def slices(groups: dict[str, dict[date, list[int]]]) -> tuple[Slice, ...]:
        found = []
        for key in sorted(groups):
            days = tuple(DayPoint(d, *groups[key].get(d, [0, 0])) for d in period)
            total = sum(p.conversations for p in days)
            if total:
                found.append(Slice(key, total, sum(p.handed_off for p in days), days))
        return tuple(found)

    days = tuple(DayPoint(d, *per_day.get(d, [0, 0])) for d in period)
    conversations = Conversations(total=totals[0], handed_off=totals[1], days=days, channels=slices(per_channel),
                                  languages=slices(per_language))  # fmt: skip
    identification = Identification(identified=totals[2], failures=totals[3], lockouts=totals[4])
    return conversations, identification


_TICK = datetime.resolution


def _days(first: date, last: date) -> list[date]:
    return [date.fromordinal(n) for n in range(first.toordinal(), last.toordinal() + 1)]


async def _understanding(
    db: AsyncSession, since: datetime, until: datetime, stats: list[ColumnElement[bool]],
    typed: list[ColumnElement[bool]],
) -> Understanding:  # fmt: skip
    outcomes = dict.fromkeys((o.value for o in UnderstandingOutcome), 0)
    asked = (
        select(UnderstandingStats.outcome, UnderstandingStats.intent, func.sum(UnderstandingStats.messages))
        .where(UnderstandingStats.hour >= hour_of(since), UnderstandingStats.hour < until, *stats)
        .group_by(UnderstandingStats.outcome, UnderstandingStats.intent)
    )
    intents: dict[str, list[int]] = {}
    for outcome, intent, count in (await db.execute(asked)).all():
        outcomes[outcome] = outcomes.get(outcome, 0) + int(count or 0)
        if intent and outcome in (UnderstandingOutcome.ROUTED.value, UnderstandingOutcome.CLARIFIED.value):
            counts = intents.setdefault(intent, [0, 0])
            counts[0] += int(count or 0)
            counts[1] += int(count or 0) if outcome == UnderstandingOutcome.CLARIFIED.value else 0
    top = (
        select(UnderstandingEvent.text_masked, func.count().label("n"))
        .where(
            UnderstandingEvent.outcome == UnderstandingOutcome.NOT_UNDERSTOOD.value,
            UnderstandingEvent.at >= hour_of(since), UnderstandingEvent.at < until, *typed,
        )
        .group_by(UnderstandingEvent.text_masked)
        .order_by(func.count().desc(), UnderstandingEvent.text_masked)
        .limit(TOP_NOT_UNDERSTOOD)
    )  # fmt: skip
    not_understood = tuple(MessageCount(text, int(n)) for text, n in (await db.execute(top)).all())
    ranked = sorted(intents.items(), key=lambda item: (-item[1][0], item[0]))
    return Understanding(
        outcomes=outcomes,
        intents=tuple(IntentCount(intent, asked_n, clarified_n) for intent, (asked_n, clarified_n) in ranked),
        not_understood=not_understood,
    )


async def _orders(
    db: AsyncSession, since: datetime, until: datetime, channel: str | None, language: str | None
) -> Orders:
    where = [OrderStats.hour >= hour_of(since), OrderStats.hour < until]
    refused_where = [RefusalStats.hour >= hour_of(since), RefusalStats.hour < until]
    if channel is not None:
        where.append(OrderStats.channel == channel)
        refused_where.append(RefusalStats.channel == channel)
    if language is not None:
        where.append(OrderStats.language == language)
        refused_where.append(RefusalStats.language == language)
    counted = (
        select(OrderStats.kind, OrderStats.status, func.sum(OrderStats.orders))
        .where(*where)
        .group_by(OrderStats.kind, OrderStats.status)
    )
    table = {kind.value: dict.fromkeys((s.value for s in OrderStatus), 0) for kind in OrderKind}
    for kind, status, count in (await db.execute(counted)).all():
        table.setdefault(kind, dict.fromkeys((s.value for s in OrderStatus), 0))[status] = int(count or 0)
    refused = (
        select(RefusalStats.reason, func.sum(RefusalStats.refusals)).where(*refused_where).group_by(RefusalStats.reason)
    )
    refusals = {str(r): int(n or 0) for r, n in (await db.execute(refused)).all() if n}
    return Orders(kinds=tuple(OrderCount(kind, states) for kind, states in table.items()), promises_refused=refusals)


async def _queue(
    db: AsyncSession, since: datetime, until: datetime, channel: str | None, language: str | None
) -> tuple[Queue, Ratings]:
    where = [SupportTicket.created_at >= since, SupportTicket.created_at < until]
    if channel is not None:
        where.append(SupportTicket.channel == channel)
    if language is not None:
        where.append(SupportTicket.language == language)
    created = SupportTicket.created_at
    statuses = [s.value for s in SupportStatus]
    # One pass over the period's tickets for every figure.
    figures = select(
        func.count(),
        func.count(case((SupportTicket.after_hours.is_(True), 1))),
        func.count(SupportTicket.taken_at),
        func.count(SupportTicket.first_response_at),
        func.count(SupportTicket.closed_at),
        func.avg(_seconds(db, created, SupportTicket.taken_at)),
        func.avg(_seconds(db, created, SupportTicket.first_response_at)),
        func.avg(_seconds(db, created, SupportTicket.closed_at)),
        *(func.count(case((SupportTicket.status == status, 1))) for status in statuses),
        *(func.count(case((SupportTicket.rating == value, 1))) for value in range(1, 6)),
    ).where(*where)
    row = (await db.execute(figures)).one()
    total, after_hours, taken, answered, closed, wait, first, close = row[:8]
    states = {status: int(n) for status, n in zip(statuses, row[8 : 8 + len(statuses)], strict=True)}
    ratings = {value: int(n) for value, n in zip(range(1, 6), row[8 + len(statuses) :], strict=True)}

    def number(value: Any) -> float | None:
        return None if value is None else float(value)

    queue = Queue(
        tickets=int(total), after_hours=int(after_hours), states=states, taken=int(taken), answered=int(answered),
        closed=int(closed), wait_seconds=number(wait), first_response_seconds=number(first),
        close_seconds=number(close),
    )  # fmt: skip
    return queue, Ratings(ratings)


async def dashboard(
    db: AsyncSession | async_sessionmaker[AsyncSession],
    *,
    since: datetime,
    until: datetime,
    channel: str | None = None,
    language: str | None = None,
    profile: str | None = None,
    zone: tzinfo = UTC,
) -> Dashboard:
    """Every figure of the analytics page for [since, until) (aware datetimes), optionally for one channel
    (`telegram`, `viber`, `console`), language (`sr`, `sr-Cyrl`, `tk`, …) and profile (`rs`, `tm`); days are
    counted in `zone` (the profile's time zone).

    Given a session factory instead of a session, the four parts of the page (conversations, typed messages,
    orders, the queue) are asked at once, each on a connection of its own: the page then takes as long as its
    slowest part, not their sum. Each part is one consistent read; the parts may be a few milliseconds apart."""
    if since.tzinfo is None or until.tzinfo is None:
        raise ValueError("since and until must be aware datetimes")
    if until <= since:
        raise ValueError("until must be after since")
    stats: list[ColumnElement[bool]] = []
    typed_stats: list[ColumnElement[bool]] = []
    typed: list[ColumnElement[bool]] = []
    for value, name in ((channel, "channel"), (language, "language"), (profile, "profile")):
        if value is not None:
            stats.append(getattr(ConversationStats, name) == value)
            typed_stats.append(getattr(UnderstandingStats, name) == value)
            typed.append(getattr(UnderstandingEvent, name) == value)
    parts = (
        lambda session: _conversations(session, since, until, zone, stats),
        lambda session: _understanding(session, since, until, typed_stats, typed),
        lambda session: _orders(session, since, until, channel, language),
        lambda session: _queue(session, since, until, channel, language),
    )
    results: list[Any]
    if isinstance(db, AsyncSession):
        results = [await part(db) for part in parts]
    else:
        factory = db

        async def alone(part: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
            async with factory() as session:
                return await part(session)

        results = list(await asyncio.gather(*(alone(part) for part in parts)))
    (conversations, identification), understanding, orders, (queue, ratings) = results
    return Dashboard(
        since=since, until=until, channel=channel, language=language, profile=profile,
        conversations=conversations, identification=identification, understanding=understanding, orders=orders,
        queue=queue, ratings=ratings, zone=str(zone),
    )  # fmt: skip


def tables_csv(board: Dashboard, names: Sequence[str] | None = None) -> dict[str, str]:
    """File name → CSV text of each table (all of them, or those named)."""
    return {f"{t.name}.csv": to_csv(t) for t in board.tables() if names is None or t.name in names}
