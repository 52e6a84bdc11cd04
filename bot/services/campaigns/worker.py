"""The campaign worker of `mila run`: claims delivery rows, sends within the shared rate limit, records outcomes.

At most once, whatever crashes: a batch of rows is marked `sending` and committed *before* any platform call; a
row is finished (sent, failed, unreachable, skipped) only after its call. A process killed in between leaves its
rows `sending`: they are never claimed again and show as "unknown" in the results — a subscriber never gets the
same news twice. Only a row the platform explicitly did not take (Telegram 429 after the channel's own waiting,
Viber status 12, the platform not answering) goes back to `pending` for a later attempt.

A campaign is done when no row is pending and none is being sent: a row `sending` counts as being sent for
`SENDING_TIMEOUT` after its claim (see there), after that as unknown, so a killed worker delays the end of its
campaign by that much and no more.

Several workers share the rows: on PostgreSQL each batch is claimed with `FOR UPDATE SKIP LOCKED`, so two workers
never claim the same row; SQLite has no row locks, so run one process there. Rows are streamed in batches of
`BROADCAST_BATCH`; a worker never holds more than a few batches, whatever the size of the campaign.

Consent and reachability are read again for each batch at send time: a user who withdrew consent (the one-tap
button, /news) or blocked the bot after the campaign was enqueued is skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import BroadcastSettings
from bot.core.i18n import I18n
from bot.core.incoming import UserRef
from bot.core.outbound import BULK, RateLimiter, rate_key
from bot.core.push import Delivery, Pusher, PushResult
from bot.core.replies import Reply
from bot.db.base import utcnow
from bot.db.models import Campaign, CampaignDelivery, CampaignStatus, ChannelUser, DeliveryStatus
from bot.services.campaigns.message import compose
from bot.services.campaigns.spec import CampaignSpec, quiet_until
from bot.services.campaigns.store import spec_of

log = logging.getLogger("mila.campaigns")

RETRY_SECONDS = 5.0
# How long a claimed row counts as being sent. The call of a row starts at most `BROADCAST_BATCH / rate` seconds after
# its claim (added per worker below); then a push takes at most about a minute on Telegram (aiogram's 60 s request
# timeout, never repeated for a broadcast, plus the waits of 429s: seconds each) and on Viber (10 s per call, four
# calls with back-off, per message). Ten minutes is well beyond that: a row `sending` longer was left by a worker
# that was killed; it is "unknown" and no longer holds its campaign open.
SENDING_TIMEOUT = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    channel_user_id: int
    attempts: int


@dataclass(frozen=True, slots=True)
class Recipient:
    channel: str
    external_id: str
    language: str | None
    consent: bool
    unreachable: bool


class CampaignWorker:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        redis: Redis,
        *,
        prefix: str,
        settings: BroadcastSettings,
        profile: str,  # the loaded profile's id, as stored with each campaign (never the MILA_PROFILE path)
        timezone: str,
        i18n: I18n,
        default_language: str,
        pushers: Mapping[str, Pusher],
        pause_keys: Mapping[str, str] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.profile = profile
        self.timezone = timezone
        self.i18n = i18n
        self.default_language = default_language
        self.pushers = dict(pushers)
        self.clock = clock
        self.on_success: Callable[[], None] = lambda: None
        rates = {"telegram": settings.telegram_rate, "viber": settings.viber_rate}
        pause_keys = pause_keys or {}
        self.limiters = {
            # The channel's one schedule, shared with its conversation replies, which go first (`BULK` yields).
            name: RateLimiter(
                redis, rate_key(prefix, name), rates.get(name, settings.viber_rate) / (1 + settings.margin),
                pause_key=pause_keys.get(name), priority=BULK,
            )
            for name in self.pushers
        }  # fmt: skip
        # Enough messages in flight to keep the rate with a few milliseconds per call, and no more: every message in
        # flight holds a reserved slot, and slots reserved far ahead would fire into a pause.
        top = max(rates.get(name, settings.viber_rate) for name in self.pushers) if self.pushers else 1.0
        self.in_flight = max(2, math.ceil(top / 20))
        # Lanes claim and record batches side by side, so the database work of one overlaps the sending of others.
        self.lanes = max(2, math.ceil(top / 200))
        slowest = min(limiter.rate for limiter in self.limiters.values()) if self.limiters else top
        self.sending_timeout = SENDING_TIMEOUT + timedelta(seconds=settings.batch / slowest)
        self._semaphore = asyncio.Semaphore(self.in_flight)
        self._specs: dict[int, CampaignSpec] = {}
        self._active_cache: tuple[float, list[int]] = (0.0, [])
        self._messages: dict[tuple[int, str], list[Reply]] = {}

    # --- the loop -----------------------------------------------------------------------------------------------
    async def run_forever(self, stop: asyncio.Event) -> None:
        lanes = [asyncio.create_task(self._lane(stop), name=f"campaign-lane-{n}") for n in range(self.lanes)]
        try:
            await asyncio.gather(*lanes)
        finally:
            for lane in lanes:
                lane.cancel()
            for lane in lanes:
                with contextlib.suppress(asyncio.CancelledError):
                    await lane

    async def _lane(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                handled = await self.run_batch()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("campaign batch failed")
                handled = 0
            else:
                self.on_success()  # `mila run` shows the time of the last good batch in /healthz
            if handled == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.settings.poll_seconds)

    async def run_batch(self) -> int:
        """Claim and send one batch of the first campaign that has rows due; returns the rows handled."""
        now = self.clock()
        for campaign_id in await self._active(now):
            spec = self._specs[campaign_id]
            if quiet_until(spec.quiet_hours, self.timezone, now) is not None:
                continue
            claimed = await self._claim(campaign_id, now)
            if not claimed:
                await self._finish_if_empty(campaign_id, now)
                continue
            await self._send(campaign_id, claimed)
            return len(claimed)
        return 0

    async def run_until_idle(self) -> int:
        """Send until nothing is due (tests, benchmarks, and `mila campaign` on a single worker)."""
        total = 0
        while handled := await self.run_batch():
            total += handled
        return total

    # --- steps ----------------------------------------------------------------------------------------------------
    async def _active(self, now: datetime) -> list[int]:
        """Campaigns being sent, started, of this profile; looked up at most once per poll interval while busy
        (a pause or a cancel is seen within that time)."""
        checked, active = self._active_cache
        if active and time.monotonic() - checked < self.settings.poll_seconds:
            return active
        active = await self._lookup_active(now)
        self._active_cache = (time.monotonic(), active)
        return active

    async def _lookup_active(self, now: datetime) -> list[int]:
        async with self.sessionmaker() as db:
            rows = (
                await db.execute(
                    select(Campaign.id, Campaign.definition)
                    .where(Campaign.status == CampaignStatus.SENDING.value, Campaign.profile == self.profile,
                           Campaign.starts_at <= now)
                    .order_by(Campaign.id)
                )
            ).all()  # fmt: skip
        for campaign_id, definition in rows:
            if campaign_id not in self._specs:
                self._specs[campaign_id] = spec_of(Campaign(definition=definition))
        return [campaign_id for campaign_id, _ in rows]

    async def _claim(self, campaign_id: int, now: datetime) -> list[Claimed]:
        """Mark a batch `sending` and commit it: from here on these rows are never sent by anyone else, or again."""
        d = CampaignDelivery
        due = (
            select(d.id)
            .where(d.campaign_id == campaign_id, d.status == DeliveryStatus.PENDING.value, d.next_attempt_at <= now,
                   d.channel.in_(list(self.pushers)))
            .order_by(d.id)
            .limit(self.settings.batch)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )  # fmt: skip
        async with self.sessionmaker() as db, db.begin():
            rows = (
                await db.execute(
                    update(d)
                    .where(d.id.in_(due), d.status == DeliveryStatus.PENDING.value)
                    .values(status=DeliveryStatus.SENDING.value, claimed_at=now, attempts=d.attempts + 1)
                    .returning(d.id, d.channel_user_id, d.attempts)
                    .execution_options(synchronize_session=False)
                )
            ).all()
        return [Claimed(row_id, user_id, attempts) for row_id, user_id, attempts in rows]

    async def _finish_if_empty(self, campaign_id: int, now: datetime) -> None:
        """Done when no row is pending and none is being sent (by another lane or process): a row `sending` claimed
        within `sending_timeout` is still on its way; an older one was left by a killed worker and stays unknown."""
        d = CampaignDelivery
        unfinished = or_(
            d.status == DeliveryStatus.PENDING.value,
            and_(d.status == DeliveryStatus.SENDING.value, d.claimed_at > now - self.sending_timeout),
        )
        async with self.sessionmaker() as db, db.begin():
            if (await db.execute(select(exists().where(d.campaign_id == campaign_id, unfinished)))).scalar_one():
                return
            await db.execute(
                update(Campaign)
                .where(Campaign.id == campaign_id, Campaign.status == CampaignStatus.SENDING.value)
                .values(status=CampaignStatus.DONE.value, finished_at=self.clock())
            )
        log.info("campaign finished", extra={"campaign": campaign_id})

    async def _recipients(self, claimed: Sequence[Claimed]) -> dict[int, Recipient]:
        u = ChannelUser
        async with self.sessionmaker() as db:
            rows = await db.execute(
                select(u.id, u.channel, u.external_id, u.language, u.marketing_consent, u.unreachable).where(
                    u.id.in_([c.channel_user_id for c in claimed])
                )
            )
            return {
                row_id: Recipient(channel, external_id, language, bool(consent), bool(unreachable))
                for row_id, channel, external_id, language, consent, unreachable in rows
            }

    async def _send(self, campaign_id: int, claimed: list[Claimed]) -> None:
        started: set[int] = set()  # rows whose platform call began: their fate is unknown if it does not return
        tasks: list[asyncio.Task[dict[str, Any]]] = []
        try:
            recipients = await self._recipients(claimed)
            tasks = [asyncio.create_task(self._one(campaign_id, row, recipients.get(row.channel_user_id), started))
                     for row in claimed]  # fmt: skip
            outcomes = await asyncio.gather(*tasks)
        except asyncio.CancelledError:
            # `mila run` is stopping: what is known is recorded, and the rows whose message never left go back to
            # the queue for another worker; only a call cut off half way stays "sending" (at most once).
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.shield(self._record(self._after_stop(claimed, tasks, started)))
            raise
        await self._record(outcomes)
        sent = sum(1 for o in outcomes if o["status"] == DeliveryStatus.SENT.value)
        log.info("campaign batch", extra={"campaign": campaign_id, "claimed": len(claimed), "sent": sent})

    async def _record(self, outcomes: list[dict[str, Any]]) -> None:
        if outcomes:
            async with self.sessionmaker() as db, db.begin():
                await db.execute(update(CampaignDelivery), outcomes)

    @staticmethod
    def _after_stop(
        claimed: list[Claimed], tasks: list[asyncio.Task[dict[str, Any]]], started: set[int]
    ) -> list[dict[str, Any]]:
        outcomes: list[dict[str, Any]] = []
        for index, row in enumerate(claimed):
            task = tasks[index] if index < len(tasks) else None
            if task is not None and task.done() and not task.cancelled() and task.exception() is None:
                outcomes.append(task.result())
            elif row.id not in started:
                outcomes.append({"id": row.id, "status": DeliveryStatus.PENDING.value, "attempts": row.attempts - 1})
        return outcomes

    async def _one(
        self, campaign_id: int, row: Claimed, recipient: Recipient | None, started: set[int]
    ) -> dict[str, Any]:
        outcome: dict[str, Any] = {"id": row.id}
        if recipient is None or not recipient.consent:
            return outcome | {"status": DeliveryStatus.SKIPPED.value, "error": "no consent"}
        if recipient.unreachable:
            return outcome | {"status": DeliveryStatus.SKIPPED.value, "error": "unreachable"}
        pusher = self.pushers[recipient.channel]
        language = recipient.language or self.default_language
        replies = self._compose(campaign_id, language)
        paid = recipient.channel == "telegram" and self.settings.telegram_paid
        try:
            async with self._semaphore:
                limiter = self.limiters[recipient.channel]
                await limiter.acquire()
                started.add(row.id)
                result = await pusher.push(
                    UserRef(recipient.channel, recipient.external_id), replies, purpose=f"campaign {campaign_id}",
                    paid_broadcast=paid, bulk=limiter,
                )  # fmt: skip
        except Exception as exc:  # push answers for the platform; anything else is a bug here, and not retried
            log.exception("campaign message not sent", extra={"campaign": campaign_id})
            return outcome | {"status": DeliveryStatus.FAILED.value, "error": type(exc).__name__[:200]}
        return outcome | self._outcome(result, row)

    def _outcome(self, result: PushResult, row: Claimed) -> dict[str, Any]:
        now = self.clock()
        ids = ",".join(result.message_ids)[:200] or None
        ref = result.message_ids[-1][:32] if result.message_ids else None
        if result.delivery is Delivery.SENT:
            return {"status": DeliveryStatus.SENT.value, "sent_at": now, "message_ids": ids, "message_ref": ref}
        if result.delivery is Delivery.UNREACHABLE:
            return {"status": DeliveryStatus.UNREACHABLE.value, "message_ids": ids}
        if result.delivery is Delivery.FAILED:
            return {"status": DeliveryStatus.FAILED.value, "message_ids": ids, "error": "refused by the platform"}
        if result.delivery is Delivery.UNKNOWN:  # it may have arrived: at most once, so never again
            return {"status": DeliveryStatus.FAILED.value, "message_ids": ids, "error": "no answer: not sent again"}
        if result.message_ids:  # part of it went out: sending again would repeat that part
            return {"status": DeliveryStatus.FAILED.value, "message_ids": ids, "error": "partly sent"}
        if row.attempts >= self.settings.max_attempts:
            return {"status": DeliveryStatus.FAILED.value, "error": "rate limited on every attempt"}
        delay = result.retry_after or RETRY_SECONDS * row.attempts
        return {"status": DeliveryStatus.PENDING.value, "next_attempt_at": now + timedelta(seconds=delay)}

    def _compose(self, campaign_id: int, language: str) -> list[Reply]:
        key = (campaign_id, language)
        if key not in self._messages:
            self._messages[key] = compose(self._specs[campaign_id], campaign_id, self.i18n.get(language))
        return self._messages[key]
