"""Campaigns in the database: create, select recipients, enqueue once, change status, count results.

Recipient selection is one `INSERT … SELECT` inside the database (never a list of users in Python), guarded by the
campaign's `enqueued_at` under a row lock, so `mila campaign send` run twice enqueues once; the unique
(campaign, recipient) constraint is the last word.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import ColumnElement, Select, and_, exists, func, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.incoming import UserRef
from bot.core.push import BROADCAST_CHANNELS
from bot.db.models import (
    Account,
    Campaign,
    CampaignDelivery,
    CampaignStatus,
    ChannelUser,
    DeliveryStatus,
)
from bot.services.campaigns.spec import CampaignSpec, parse


class CampaignError(Exception):
    """An operation the campaign's state does not allow; the message says why."""


def spec_of(campaign: Campaign) -> CampaignSpec:
    return parse(campaign.definition)


def audience(spec: CampaignSpec, default_language: str, now: datetime) -> Select[int, str, str]:
    """The users who would get it now: on a channel that can receive broadcasts (never the console of `mila chat`,
    which no worker sends to), consent given, reachable, and in the segment."""
    language = func.coalesce(ChannelUser.language, default_language)
    conditions: list[ColumnElement[bool]] = [
        ChannelUser.channel.in_(BROADCAST_CHANNELS),
        ChannelUser.marketing_consent.is_(True),
        ChannelUser.unreachable.is_(False),
        language.in_(spec.languages()),
    ]
    segment = spec.segment
    if segment.channels:
        conditions.append(ChannelUser.channel.in_(segment.channels))
    if segment.identified is True:
        conditions.append(ChannelUser.subscriber_id.is_not(None))
    elif segment.identified is False:
        conditions.append(ChannelUser.subscriber_id.is_(None))
    if segment.account_kinds or segment.tariffs:
        account: list[ColumnElement[bool]] = [Account.subscriber_id == ChannelUser.subscriber_id]
        if segment.account_kinds:
            account.append(Account.kind.in_([kind.value for kind in segment.account_kinds]))
        if segment.tariffs:
            account.append(Account.tariff.in_(segment.tariffs))
        conditions.append(exists(select(Account.id).where(and_(*account))))
    if segment.active_days:
        conditions.append(ChannelUser.last_seen >= now - timedelta(days=segment.active_days))
    return select(ChannelUser.id, ChannelUser.channel, language.label("language")).where(and_(*conditions))


@dataclass(frozen=True, slots=True)
class DryRun:
    by_channel_language: dict[tuple[str, str], int]
    viber_price: Decimal
    currency: str

    @property
    def total(self) -> int:
        return sum(self.by_channel_language.values())

    @property
    def viber_messages(self) -> int:
        return sum(n for (channel, _), n in self.by_channel_language.items() if channel == "viber")

    @property
    def viber_cost(self) -> Decimal:
        return self.viber_price * self.viber_messages


async def dry_run(
    db: AsyncSession, spec: CampaignSpec, default_language: str, now: datetime, price: Decimal, currency: str
) -> DryRun:
    found = audience(spec, default_language, now).subquery()
    rows = await db.execute(
        select(found.c.channel, found.c.language, func.count()).group_by(found.c.channel, found.c.language)
    )
    return DryRun({(channel, language): int(n) for channel, language, n in rows}, price, currency)


async def create(db: AsyncSession, spec: CampaignSpec, *, profile: str, timezone: str, now: datetime) -> Campaign:
    """Store a draft; `profile` is the loaded profile's `id` (`rs`), whatever `MILA_PROFILE` spells (a file path)."""
    if spec.profile != profile:
        raise CampaignError(f"the campaign is for profile {spec.profile!r}; this deployment runs {profile!r}")
    campaign = Campaign(
        name=spec.name,
        profile=spec.profile,
        status=CampaignStatus.DRAFT.value,
        definition=spec.model_dump(mode="json", exclude_none=True),
        starts_at=spec.starts_at(timezone, now),
        created_at=now,
    )
    db.add(campaign)
    await db.flush()
    return campaign


async def get(db: AsyncSession, campaign_id: int, *, lock: bool = False) -> Campaign:
    query = select(Campaign).where(Campaign.id == campaign_id)
    if lock:
        query = query.with_for_update()
    campaign = (await db.execute(query)).scalar_one_or_none()
    if campaign is None:
        raise CampaignError(f"no campaign {campaign_id}")
    return campaign


async def enqueue(db: AsyncSession, campaign_id: int, default_language: str, now: datetime) -> int:
    """Select the recipients (once) and let the workers start; returns how many rows were added now."""
    campaign = await get(db, campaign_id, lock=True)
    if campaign.status in (CampaignStatus.CANCELLED.value, CampaignStatus.DONE.value):
        raise CampaignError(f"campaign {campaign_id} is {campaign.status}")
    added = 0
    if campaign.enqueued_at is None:
        found = audience(spec_of(campaign), default_language, now).subquery()
        statement = insert(CampaignDelivery).from_select(
            ["campaign_id", "channel_user_id", "channel", "language", "status", "attempts", "next_attempt_at"],
            select(
                literal(campaign.id), found.c.id, found.c.channel, found.c.language,
                literal(DeliveryStatus.PENDING.value), literal(0), literal(now, CampaignDelivery.next_attempt_at.type),
            ).order_by(found.c.id),
        )  # fmt: skip
        result = await db.execute(statement)
        added = int(getattr(result, "rowcount", 0) or 0)
        campaign.enqueued_at = now
    if campaign.status == CampaignStatus.DRAFT.value:
        campaign.status = CampaignStatus.SENDING.value
    return added


_MOVES = {
    "pause": ({CampaignStatus.SENDING}, CampaignStatus.PAUSED),
    "resume": ({CampaignStatus.PAUSED}, CampaignStatus.SENDING),
    "cancel": ({CampaignStatus.DRAFT, CampaignStatus.SENDING, CampaignStatus.PAUSED}, CampaignStatus.CANCELLED),
}


async def move(db: AsyncSession, campaign_id: int, action: str, now: datetime) -> Campaign:
    """pause / resume / cancel; cancelling skips the rows still pending (rows being sent finish)."""
    allowed, target = _MOVES[action]
    campaign = await get(db, campaign_id, lock=True)
    if CampaignStatus(campaign.status) not in allowed:
        raise CampaignError(f"campaign {campaign_id} is {campaign.status}: cannot {action} it")
    campaign.status = target.value
    if target is CampaignStatus.CANCELLED:
        campaign.finished_at = now
        await db.execute(
            update(CampaignDelivery)
            .where(CampaignDelivery.campaign_id == campaign_id, CampaignDelivery.status == DeliveryStatus.PENDING.value)
            .values(status=DeliveryStatus.SKIPPED.value, error="cancelled")
        )
    return campaign


@dataclass
class Totals:
    by_status: dict[str, int] = field(default_factory=dict)
    by_channel_language: dict[tuple[str, str], int] = field(default_factory=dict)
    delivered: int = 0
    seen: int = 0
    receipt_failed: int = 0
    opted_out: int = 0

    def count(self, *statuses: DeliveryStatus) -> int:
        return sum(self.by_status.get(status.value, 0) for status in statuses)

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    @property
    def done(self) -> int:
        return self.total - self.count(DeliveryStatus.PENDING, DeliveryStatus.SENDING)


async def totals(db: AsyncSession, campaign_id: int) -> Totals:
    d = CampaignDelivery
    result = Totals()
    rows = await db.execute(
        select(d.status, d.channel, d.language, func.count()).where(d.campaign_id == campaign_id)
        .group_by(d.status, d.channel, d.language)
    )  # fmt: skip
    for status, channel, language, n in rows:
        result.by_status[status] = result.by_status.get(status, 0) + int(n)
        key = (channel, language)
        result.by_channel_language[key] = result.by_channel_language.get(key, 0) + int(n)
    counts = (
        await db.execute(
            select(func.count(d.delivered_at), func.count(d.seen_at), func.count(d.receipt_failed_at),
                   func.count(d.opted_out_at)).where(d.campaign_id == campaign_id)
        )
    ).one()  # fmt: skip
    result.delivered, result.seen, result.receipt_failed, result.opted_out = (int(n) for n in counts)
    return result


async def record_opt_out(db: AsyncSession, user: UserRef, campaign_id: int, now: datetime) -> bool:
    """The one-tap opt-out of a campaign's message: counted on the user's row of that campaign, if there is one
    (a forged or foreign campaign id counts nothing; the opt-out itself is done by the caller anyway)."""
    row_id = (
        await db.execute(
            select(CampaignDelivery.id)
            .join(ChannelUser, ChannelUser.id == CampaignDelivery.channel_user_id)
            .where(
                CampaignDelivery.campaign_id == campaign_id,
                ChannelUser.channel == user.channel,
                ChannelUser.external_id == user.external_id,
            )
        )
    ).scalar_one_or_none()
    if row_id is None:
        return False
    await db.execute(
        update(CampaignDelivery)
        .where(CampaignDelivery.id == row_id, CampaignDelivery.opted_out_at.is_(None))
        .values(opted_out_at=now)
    )
    return True


RECEIPT_COLUMNS = {"delivered": "delivered_at", "seen": "seen_at", "failed": "receipt_failed_at"}


async def record_receipt(db: AsyncSession, channel: str, event: str, message_ref: str, at: datetime) -> int:
    """A delivered / seen / failed receipt of a campaign message (Viber); returns the rows it updated (0 or 1).

    A `seen` also counts as delivered: Viber may send `seen` alone when both happen at once."""
    column = RECEIPT_COLUMNS.get(event)
    if column is None:
        return 0
    d = CampaignDelivery
    base = [d.channel == channel, d.message_ref == message_ref]
    updated = 0
    columns = [column, "delivered_at"] if event == "seen" else [column]
    for name in columns:
        result = await db.execute(
            update(d)
            .where(*base, getattr(d, name).is_(None))
            .values({name: at})
            .execution_options(synchronize_session=False)
        )
        updated = max(updated, int(getattr(result, "rowcount", 0) or 0))
    return updated


async def unknown_tariffs(db: AsyncSession, tariffs: list[str]) -> dict[str, str | None]:
    """The segment's tariffs that no account has, each with the tariff it may have meant (same name, other case)."""
    rows = await db.execute(select(Account.tariff).where(Account.tariff.is_not(None)).distinct())
    names = [name for (name,) in rows if name]
    by_case = {name.casefold(): name for name in names}
    return {tariff: by_case.get(tariff.casefold()) for tariff in tariffs if tariff not in names}


async def same_name(db: AsyncSession, name: str) -> list[Campaign]:
    """The campaigns of this name that are not cancelled (another one is most likely the same file again)."""
    rows = await db.execute(
        select(Campaign)
        .where(Campaign.name == name, Campaign.status != CampaignStatus.CANCELLED.value)
        .order_by(Campaign.id)
    )
    return list(rows.scalars())
