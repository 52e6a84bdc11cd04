"""Messages outside a turn (broadcasts, an operator's answer) through the Telegram channel's `push`, and messages
the channel removes later (a secret shown once)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from aiogram.types import Update
from pydantic import SecretStr
from sqlalchemy import select

from bot.app import build_app
from bot.channels.telegram import TelegramChannel
from bot.config import Settings, TelegramSettings
from bot.core.incoming import UserRef
from bot.core.push import Delivery, Pusher
from bot.core.replies import Button, Picture, Text
from bot.core.router import Router
from bot.core.turn import Turn
from bot.db.models import ChannelUser
from bot.metrics import Metrics
from handlers import build_router
from tests.conftest import make_settings
from tests.fakes.telegram_api import FakeTelegram


def telegram_settings(fake: FakeTelegram, sqlite_url: str, redis_prefix: str) -> Settings:
    base = make_settings("rs", sqlite_url, redis_prefix)
    telegram = TelegramSettings(bot_token=SecretStr(fake.token), api_base=fake.base_url)
    return base.model_copy(update={"telegram": telegram})


ChannelFactory = Callable[..., TelegramChannel]


@pytest.fixture
async def make_channel(
    fake_telegram: FakeTelegram, sqlite_url: str, redis_prefix: str
) -> AsyncIterator[ChannelFactory]:
    """The Telegram channel of a `mila run` process (in this process), on the fake Bot API; `router=` swaps flows."""
    made: list[TelegramChannel] = []

    def factory(router: Router | None = None) -> TelegramChannel:
        app = build_app(telegram_settings(fake_telegram, sqlite_url, redis_prefix), router=router)
        made.append(TelegramChannel(app, Metrics()))
        return made[-1]

    yield factory
    for channel in made:
        await channel.close()
        await channel.app.close()


async def test_push_sends_text_and_a_picture_with_its_buttons(
    fake_telegram: FakeTelegram, make_channel: ChannelFactory
) -> None:
    channel = make_channel()
    assert isinstance(channel, Pusher)
    jovana = fake_telegram.user(5101)
    news = Picture(
        "https://static.example.com/tarifa.jpg",
        "Nova tarifa <Start> & više",
        ((Button("Saznaj više", url="https://mts.rs/tarife"),), (Button("Odjavi novosti", payload="news:off"),)),
    )
    result = await channel.push(UserRef("telegram", "5101"), [Text("Dobar dan!"), news], purpose="test")
    assert result.delivery is Delivery.SENT and len(result.message_ids) == 2
    hello, photo = fake_telegram.bot_messages(jovana)
    assert hello["text"] == "Dobar dan!"
    assert photo["caption"] == "Nova tarifa <Start> & više" and photo["_url"].endswith("tarifa.jpg")
    rows = photo["reply_markup"]["inline_keyboard"]
    assert rows[0][0]["url"] == "https://mts.rs/tarife" and rows[1][0]["callback_data"] == "news:off"

    long_caption = Picture("https://static.example.com/t.jpg", "x" * 1500, ((Button("OK", payload="menu"),),))
    result = await channel.push(UserRef("telegram", "5101"), [long_caption], purpose="test")
    alone, text = fake_telegram.bot_messages(jovana)[2:]
    assert "caption" not in alone and text["text"] == "x" * 1500 and text["reply_markup"]
    assert result.delivery is Delivery.SENT


async def test_a_user_who_blocked_the_bot_is_unreachable_and_remembered(
    fake_telegram: FakeTelegram, make_channel: ChannelFactory
) -> None:
    channel = make_channel()
    marko = fake_telegram.user(5102)
    fake_telegram.block(marko, announce=False)
    result = await channel.push(UserRef("telegram", "5102"), [Text("Novosti")], purpose="test")
    assert result.delivery is Delivery.UNREACHABLE and result.message_ids == ()
    async with channel.app.deps.sessionmaker() as session:
        row = (await session.execute(select(ChannelUser).where(ChannelUser.external_id == "5102"))).scalar_one()
    assert row.unreachable
    forged = await channel.push(UserRef("telegram", "not-a-number"), [Text("x")], purpose="test")
    assert forged.delivery is Delivery.FAILED


async def test_a_secret_shown_once_is_removed_from_the_chat_even_by_another_process(
    fake_telegram: FakeTelegram, make_channel: ChannelFactory
) -> None:
    probe = Router()

    @probe.command("secret")
    async def secret(turn: Turn) -> None:
        turn.say("PUK: 12345678", erase_after=1)
        turn.say("Meni", [[Button("Meni", payload="menu")]])

    router = build_router()
    router.include(probe)
    channel, other = make_channel(router), make_channel(router)
    jovana = fake_telegram.user(5103)
    await channel.process(Update.model_validate(fake_telegram.send_text(jovana, "/start")))
    await channel.process(Update.model_validate(fake_telegram.press(jovana, "Srpski")))
    await channel.process(Update.model_validate(fake_telegram.press(jovana, "Ne, hvala")))
    before = len(fake_telegram.bot_messages(jovana))
    await channel.process(Update.model_validate(fake_telegram.send_text(jovana, "/secret")))
    shown = [m["text"] for m in fake_telegram.bot_messages(jovana)][before:]
    assert shown == ["PUK: 12345678", "Meni"]
    assert await channel.eraser.erase_due() == 0  # not yet

    channel_stops = asyncio.Event()
    erasing = asyncio.create_task(other.eraser.run(channel_stops))  # the process that sent it may be gone
    await fake_telegram.wait_for(
        lambda: "PUK: 12345678" not in [m.get("text") for m in fake_telegram.bot_messages(jovana)] or None,
        timeout=10,
    )
    channel_stops.set()
    await erasing
    assert [c.method for c in fake_telegram.calls].count("deleteMessage") == 1
    assert [m.get("text") for m in fake_telegram.bot_messages(jovana)][-1] == "Meni"
