"""aiogram's own requests against the fake Bot API server: the wire format both sides agree on.

These run the adapter's sending path in-process (no `mila run`), which makes the cases that no flow produces yet
cheap to check: documents, 429 and 403 as aiogram's exceptions, HTML refused by the server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter
from aiogram.methods import SendMessage
from redis.asyncio import Redis

from bot.channels.telegram.render import render
from bot.channels.telegram.sender import Blocked, GlobalPause, Sender
from bot.core.outbound import Outbound
from bot.core.replies import Button, Document, Text
from bot.metrics import Metrics
from tests.conftest import REDIS_URL
from tests.fakes.telegram_api import FakeTelegram


@pytest.fixture
async def bot(fake_telegram: FakeTelegram) -> AsyncIterator[Bot]:
    bot = Bot(fake_telegram.token, session=AiohttpSession(api=TelegramAPIServer.from_base(fake_telegram.base_url)))
    yield bot
    await bot.session.close()


@pytest.fixture
async def sender(bot: Bot, redis_prefix: str) -> AsyncIterator[Sender]:
    redis = Redis.from_url(REDIS_URL)
    outbound = Outbound(redis, redis_prefix, "telegram", rate=1000, chat_rate=100, chat_burst=100)
    yield Sender(bot, GlobalPause(redis, redis_prefix + "pause"), outbound, Metrics())
    await outbound.close()
    await redis.aclose()


async def test_documents_go_as_multipart_with_an_escaped_caption(fake_telegram: FakeTelegram, sender: Sender) -> None:
    user = fake_telegram.user(10)
    (call,) = render([Document("račun.pdf", b"%PDF-1.4 demo", caption="Račun <jun> & jul")], user.id)
    message = await sender.call(call.method, user.id)
    assert message.document.file_name == "račun.pdf"
    (recorded,) = fake_telegram.calls_to(user, "sendDocument")
    assert recorded.ok and recorded.result["caption"] == "Račun <jun> & jul"


async def test_keyboards_and_text_reach_the_server_as_sent(fake_telegram: FakeTelegram, sender: Sender) -> None:
    user = fake_telegram.user(11)
    reply = Text("Izaberite <opciju> & pritisnite", ((Button("Türkmençe", "lang:tk"),),), share_phone=None)
    for call in render([reply], user.id):
        await sender.call(call.method, user.id)
    assert fake_telegram.labels(user) == ["Türkmençe"]
    assert fake_telegram.bot_messages(user)[-1]["text"] == "Izaberite <opciju> & pritisnite"


async def test_what_the_server_refuses_becomes_aiogram_exceptions(fake_telegram: FakeTelegram, bot: Bot) -> None:
    user = fake_telegram.user(12)
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot(SendMessage(chat_id=user.id, text="a < b", parse_mode="HTML"))
    with pytest.raises(TelegramBadRequest, match="too long"):
        await bot(SendMessage(chat_id=user.id, text="x" * 4097))
    fake_telegram.limit_next(user, retry_after=7)
    with pytest.raises(TelegramRetryAfter) as limited:
        await bot(SendMessage(chat_id=user.id, text="hello"))
    assert limited.value.retry_after == 7
    fake_telegram.block(user, announce=False)
    with pytest.raises(TelegramForbiddenError, match="blocked"):
        await bot(SendMessage(chat_id=user.id, text="hello"))


async def test_a_blocked_chat_is_never_retried(fake_telegram: FakeTelegram, sender: Sender) -> None:
    user = fake_telegram.user(13)
    fake_telegram.block(user, announce=False)
    with pytest.raises(Blocked):
        await sender.call(SendMessage(chat_id=user.id, text="hello"), user.id)
    assert len(fake_telegram.calls_to(user)) == 1


async def test_sending_too_fast_to_one_chat_is_paused_and_retried(fake_telegram: FakeTelegram, sender: Sender) -> None:
    fake_telegram.per_chat_per_second = 3
    user = fake_telegram.user(14)
    for n in range(5):
        await sender.call(SendMessage(chat_id=user.id, text=f"poruka {n}"), user.id)
    assert [m["text"] for m in fake_telegram.bot_messages(user)] == [f"poruka {n}" for n in range(5)]
    assert any(c.status == 429 for c in fake_telegram.calls_to(user))
