"""Thirty days of invented history for the demo console (`mila db seed-demo --history`, `make demo-admin`).

So that a newcomer opening the analytics page sees full charts at once: conversations on every channel and in
every language of the profile, some handed to operators, identifications with failures and a few lockouts, typed
messages understood and not, orders of every kind in every delivery state, promises refused by rule, support
tickets with waiting times and ratings, and a finished tariff-news campaign with its funnel.

Deterministic: the same `seed` and `now` give the same rows. The chat users it invents are `demo-history-…` on
each channel, with no subscriber behind them and nothing personal; running it again first removes what the last
run made (those users, and what hangs on them), so it never piles up.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.base import utcnow
from bot.db.models import (
    Account,
    AuditEntry,
    Campaign,
    CampaignDelivery,
    CampaignStatus,
    ChannelUser,
    Conversation,
    DeliveryStatus,
    Order,
    OrderKind,
    OrderStatus,
    SupportMessage,
    SupportStatus,
    SupportTicket,
    UnderstandingEvent,
)
from bot.profiles import Profile
from bot.services.analytics.recording import rebuild_stats
from bot.services.promises import Refusal

PREFIX = "demo-history-"
CAMPAIGN_NAME = "Demo: winter tariff news"
CHANNELS = ("telegram", "telegram", "viber")  # Telegram twice as often
INTENTS = ("account", "reconnect", "services", "support", "complaints", "puk", "consultations", "menu")
NOT_UNDERSTOOD = (
    "kada stize racun", "zasto je internet spor", "imate li ponudu za penzionere", "gde je najbliza prodavnica",
    "hasabymy nadip doldurmaly", "internet haýal", "kartymy ýitirdim", "promena tarife na # meseci",
)  # fmt: skip
TOPICS = ("Internet ne radi", "Pitanje o računu", "Roaming u inostranstvu", "Internet işlänok", "Hasap barada sorag")


@dataclass(frozen=True, slots=True)
class HistoryReport:
    conversations: int
    typed_messages: int
    orders: int
    tickets: int
    campaign_recipients: int

    def summary(self) -> str:
        return (
            f"demo history: {self.conversations} conversations, {self.typed_messages} typed messages, "
            f"{self.orders} orders, {self.tickets} support tickets, a finished campaign to "
            f"{self.campaign_recipients} chats over the last 30 days"
        )


async def _clear(db: AsyncSession) -> None:
    """What an earlier run made: its campaign, and its chat users with all that hangs on them."""
    users = select(ChannelUser.id).where(ChannelUser.external_id.like(PREFIX + "%"))
    await db.execute(delete(Campaign).where(Campaign.name == CAMPAIGN_NAME))
    await db.execute(delete(Order).where(Order.requested_by_id.in_(users)))
    await db.execute(delete(AuditEntry).where(AuditEntry.channel_user_id.in_(users)))
    await db.execute(delete(SupportTicket).where(SupportTicket.external_id.like(PREFIX + "%")))
    await db.execute(delete(Conversation).where(Conversation.channel_user_id.in_(users)))
    await db.execute(delete(UnderstandingEvent).where(UnderstandingEvent.channel_user_id.in_(users)))
    await db.execute(delete(ChannelUser).where(ChannelUser.external_id.like(PREFIX + "%")))


async def seed_history(
    db: AsyncSession, profile: Profile, *, now: datetime | None = None, days: int = 30, seed: int = 17,
    per_day: int = 60,
) -> HistoryReport:  # fmt: skip
    """Fill the last `days` days, in the caller's transaction (run `seed_demo` first, for the accounts)."""
    now = now or utcnow()
    rng = random.Random(seed)
    await _clear(db)
    start = now - timedelta(days=days)

    users = [
        ChannelUser(
            channel=CHANNELS[i % 3],
            external_id=f"{PREFIX}{i}",
            language=profile.languages[i % len(profile.languages)],
            marketing_consent=i % 4 != 0,
            first_seen=start,
            last_seen=now,
        )
        for i in range(120)
    ]
    db.add_all(users)
    await db.flush()
    accounts = [
        (int(i), str(n)) for i, n in (await db.execute(select(Account.id, Account.number).order_by(Account.id)))
    ]

    def moment(day: int) -> datetime:
        """A time on `day` (0 = the first), more often in the working hours."""
        hour = rng.choice((8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 7, 23, 2))
        at = start + timedelta(days=day, hours=hour, minutes=rng.randrange(60), seconds=rng.randrange(60))
        return min(at, now - timedelta(minutes=1))

    conversations = typed = orders = tickets = 0
    for day in range(days):
        # A little more every week, fewer on weekends.
        weekend = (start + timedelta(days=day)).weekday() >= 5
        count = int(per_day * (0.6 if weekend else 1.0) * (1 + day / (days * 2))) + rng.randrange(10)
        for _ in range(count):
            user = rng.choice(users)
            at = moment(day)
            handed_off = rng.random() < 0.12
            tried = rng.random() < 0.45
            failures = (rng.random() < 0.2) + (rng.random() < 0.05) if tried else 0
            lockouts = 1 if tried and failures == 2 and rng.random() < 0.3 else 0
            db.add(Conversation(
                started_at=at, last_at=at + timedelta(minutes=rng.randrange(1, 15)), channel_user_id=user.id,
                profile=profile.id, channel=user.channel, language=user.language or profile.default_language,
                handed_off=handed_off, identified=tried and not lockouts, id_failures=failures, id_lockouts=lockouts,
            ))  # fmt: skip
            conversations += 1
            for _ in range(rng.choice((0, 0, 1, 1, 2))):
                roll = rng.random()
                outcome = ("routed" if roll < 0.7 else "clarified" if roll < 0.8 else "not_understood" if roll < 0.95
                           else "other_language")  # fmt: skip
                masked = rng.choice(NOT_UNDERSTOOD) if outcome == "not_understood" else rng.choice(INTENTS)
                db.add(UnderstandingEvent(
                    at=at, channel_user_id=user.id, profile=profile.id, channel=user.channel,
                    language=user.language or profile.default_language, outcome=outcome,
                    intent=None if outcome == "not_understood" and rng.random() < 0.6 else rng.choice(INTENTS),
                    confidence=round(rng.uniform(0.3, 0.99), 2), text_masked=masked,
                ))  # fmt: skip
                typed += 1
            if tried and not lockouts and accounts and rng.random() < 0.5:
                orders += 1
                _order(db, rng, orders, at, now, user, accounts)
            if tried and rng.random() < 0.06:
                reason = rng.choice([r.value for r in Refusal])
                db.add(AuditEntry(at=at, action="promise", outcome="refused", channel_user_id=user.id,
                                  detail={"reason": reason}))  # fmt: skip
            if handed_off:
                tickets += 1
                await _ticket(db, rng, tickets, at, now, user, profile)
    recipients = await _campaign(db, rng, profile, users, now)
    await db.flush()
    await rebuild_stats(db)
    return HistoryReport(conversations, typed, orders, tickets, recipients)


def _order(
    db: AsyncSession, rng: random.Random, n: int, at: datetime, now: datetime, user: ChannelUser,
    accounts: list[tuple[int, str]],
) -> None:  # fmt: skip
    kind = rng.choices(list(OrderKind), weights=(30, 20, 15, 6, 4, 4, 3, 3, 10, 5))[0]
    age = now - at
    if age < timedelta(minutes=30):
        status = OrderStatus.PENDING
    else:
        status = rng.choices(
            (OrderStatus.DONE, OrderStatus.SENT, OrderStatus.FAILED, OrderStatus.CANCELLED), weights=(85, 7, 5, 3)
        )[0]
    account_id, number = rng.choice(accounts)
    db.add(Order(
        number=f"D-{n:07d}", kind=kind.value, status=status.value, idempotency_key=f"{PREFIX}order-{n}",
        account_id=account_id, account_number=number, requested_by_id=user.id, channel=user.channel,
        language=user.language, payload={}, created_at=at,
        due_at=at + timedelta(days=7) if kind is OrderKind.RECONNECT_ON_PROMISE else None,
        sent_at=None if status is OrderStatus.PENDING else at + timedelta(seconds=rng.randrange(1, 90)),
    ))  # fmt: skip


async def _ticket(
    db: AsyncSession, rng: random.Random, n: int, at: datetime, now: datetime, user: ChannelUser, profile: Profile
) -> None:
    wait = timedelta(seconds=rng.randrange(20, 900))
    first = wait + timedelta(seconds=rng.randrange(10, 240))
    length = first + timedelta(seconds=rng.randrange(120, 2400))
    done = at + length < now
    status = SupportStatus.CLOSED if done else SupportStatus.WITH_OPERATOR if at + wait < now else SupportStatus.WAITING
    taken = at + wait if status is not SupportStatus.WAITING else None
    answered = at + first if taken is not None and at + first < now else None
    ticket = SupportTicket(
        channel=user.channel, external_id=user.external_id, channel_user_id=user.id,
        language=user.language or profile.default_language, status=status.value, after_hours=False,
        topic=rng.choice(TOPICS), operator_id="900" if taken else None, operator_name="Demo" if taken else None,
        created_at=at, taken_at=taken, first_response_at=answered, last_activity_at=answered or at,
        closed_at=at + length if done else None, closed_by="operator" if done else None,
        rating=rng.choices((1, 2, 3, 4, 5), weights=(4, 4, 10, 30, 52))[0] if done and rng.random() < 0.7 else None,
    )  # fmt: skip
    db.add(ticket)
    await db.flush()
    db.add(SupportMessage(ticket_id=ticket.id, direction="in", text=ticket.topic, created_at=at))
    if answered is not None:
        db.add(SupportMessage(ticket_id=ticket.id, direction="out", author="Demo", text="…", created_at=answered))
    if ticket.rating is not None:
        ticket.rated_at = ticket.closed_at


async def _campaign(
    db: AsyncSession, rng: random.Random, profile: Profile, users: list[ChannelUser], now: datetime
) -> int:
    sent_at = now - timedelta(days=12)
    texts = {"sr": "Novo: zimski paket sa duplim internetom.", "tk": "Täze: iki esse köp internetli gyş bukjasy."}
    campaign = Campaign(
        name=CAMPAIGN_NAME, profile=profile.id, status=CampaignStatus.DONE.value,
        definition={"name": CAMPAIGN_NAME, "profile": profile.id,
                    "text": {code: texts[code] for code in ("sr", "tk") if any(
                        lang.startswith(code) for lang in profile.languages)}, "segment": {}},
        starts_at=sent_at, created_at=sent_at - timedelta(days=1), enqueued_at=sent_at,
        finished_at=sent_at + timedelta(hours=2),
    )  # fmt: skip
    db.add(campaign)
    await db.flush()
    recipients = [u for u in users if u.marketing_consent]
    for user in recipients:
        roll = rng.random()
        status = (DeliveryStatus.SENT if roll < 0.9 else DeliveryStatus.FAILED if roll < 0.95
                  else DeliveryStatus.UNREACHABLE)  # fmt: skip
        sent = sent_at + timedelta(seconds=rng.randrange(7200)) if status is DeliveryStatus.SENT else None
        delivered = sent + timedelta(seconds=rng.randrange(1, 60)) if sent and rng.random() < 0.9 else None
        db.add(CampaignDelivery(
            campaign_id=campaign.id, channel_user_id=user.id, channel=user.channel,
            language=user.language or profile.default_language, status=status.value, attempts=1,
            next_attempt_at=sent_at, sent_at=sent, delivered_at=delivered,
            seen_at=delivered + timedelta(minutes=rng.randrange(1, 600)) if delivered and rng.random() < 0.7 else None,
            opted_out_at=delivered + timedelta(minutes=5) if delivered and rng.random() < 0.03 else None,
            error=None if status is DeliveryStatus.SENT else "demo",
        ))  # fmt: skip
    return len(recipients)
