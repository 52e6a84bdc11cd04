"""What the broadcast tests share: chat users in bulk, campaigns, and the real channels on the fake platforms.

Users are written straight into `channel_users` (as if they had talked to the bot and answered the consent
question); campaigns go through the same service functions as `mila campaign`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import SecretStr
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from bot.app import App
from bot.channels.telegram import TelegramChannel
from bot.channels.viber import ViberChannel, ViberClient
from bot.config import BroadcastSettings, TelegramSettings
from bot.core.push import Pusher
from bot.db.base import utcnow
from bot.db.models import CampaignDelivery, ChannelUser, DeliveryStatus
from bot.metrics import Metrics
from bot.services.campaigns import store
from bot.services.campaigns.spec import parse
from bot.services.campaigns.worker import CampaignWorker
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.viber_api import FakeViberApi
from tests.viber.conftest import TOKEN as VIBER_TOKEN
from tests.viber.conftest import viber_settings

TEXTS = {"sr": "Nova tarifa Start: 20 GB za 990 dinara mesečno.", "tk": "Täze Start tarifi: aýda 20 GB."}
CYRILLIC = "Нова тарифа Старт: 20 GB за 990 динара месечно."  # a unit in capitals stays as the operator writes it


def campaign_file(**changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {"name": "Start", "profile": "rs", "text": dict(TEXTS)}
    raw.update(changes)
    return raw


@dataclass
class Person:
    channel: str
    external_id: str
    language: str = "sr"
    consent: bool | None = True
    unreachable: bool = False
    subscriber_id: int | None = None
    last_seen: datetime | None = None


async def add_users(sessionmaker: async_sessionmaker[AsyncSession], people: Iterable[Person]) -> None:
    now = utcnow()
    rows = [
        {"channel": p.channel, "external_id": p.external_id, "language": p.language, "marketing_consent": p.consent,
         "marketing_consent_at": now if p.consent is not None else None, "unreachable": p.unreachable,
         "first_seen": now, "last_seen": p.last_seen or now, "subscriber_id": p.subscriber_id}
        for p in people
    ]  # fmt: skip
    async with sessionmaker() as db, db.begin():
        for start in range(0, len(rows), 2000):
            await db.execute(insert(ChannelUser), rows[start : start + 2000])


async def add_users_at(url: str, people: Iterable[Person]) -> None:
    engine = create_async_engine(url)
    try:
        await add_users(async_sessionmaker(engine), people)
    finally:
        await engine.dispose()


async def new_campaign(
    sessionmaker: async_sessionmaker[AsyncSession], raw: dict[str, Any], *, enqueue: bool = True, now: datetime | None
    = None
) -> int:  # fmt: skip
    now = now or utcnow()
    async with sessionmaker() as db, db.begin():
        campaign = await store.create(db, parse(raw), profile=raw["profile"], timezone="Europe/Belgrade", now=now)
        campaign_id = campaign.id
        if enqueue:
            await store.enqueue(db, campaign_id, "sr", now)
    return campaign_id


async def statuses(sessionmaker: async_sessionmaker[AsyncSession], campaign_id: int) -> dict[str, int]:
    async with sessionmaker() as db:
        rows = await db.execute(
            select(CampaignDelivery.status, func.count())
            .where(CampaignDelivery.campaign_id == campaign_id)
            .group_by(CampaignDelivery.status)
        )
        return {status: int(n) for status, n in rows}


async def wait_until(check: Callable[[], Any], *, timeout: float, what: str, every: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(every)


@dataclass
class Platforms:
    """The app's real Telegram and Viber channels, pointed at the fake servers, and a campaign worker on them."""

    app: App
    telegram: TelegramChannel
    viber: ViberChannel
    fake_telegram: FakeTelegram
    fake_viber: FakeViberApi
    now: datetime | None = None  # the workers' clock when a test sets it; else the real time

    @property
    def pushers(self) -> dict[str, Pusher]:
        return {"telegram": self.telegram, "viber": self.viber}

    def worker(self, **settings: Any) -> CampaignWorker:
        broadcast = BroadcastSettings(**{"BROADCAST_POLL": 0.05, **settings})
        prefix = self.app.settings.redis.prefix
        return CampaignWorker(
            self.app.deps.sessionmaker, self.app.redis, prefix=prefix, settings=broadcast, profile="rs",
            timezone="Europe/Belgrade", i18n=self.app.deps.i18n, default_language="sr", pushers=self.pushers,
            pause_keys={"telegram": prefix + "telegram:pause-until"}, clock=lambda: self.now or utcnow(),
        )  # fmt: skip

    async def close(self) -> None:
        await self.telegram.close()
        await self.viber.close()


def platforms(app: App, fake_telegram: FakeTelegram, fake_viber: FakeViberApi) -> Platforms:
    telegram_settings = TelegramSettings(bot_token=SecretStr(fake_telegram.token), api_base=fake_telegram.base_url)
    app.settings.telegram = telegram_settings
    telegram = TelegramChannel(app, Metrics())
    client = ViberClient(VIBER_TOKEN, fake_viber.url, timeout=5.0, retry_delays=(0.01, 0.02))
    viber = ViberChannel(
        app.engine, viber_settings(fake_viber.url), redis=app.redis, redis_prefix=app.settings.redis.prefix,
        client=client,
    )  # fmt: skip
    return Platforms(app, telegram, viber, fake_telegram, fake_viber)


SENT = DeliveryStatus.SENT.value
