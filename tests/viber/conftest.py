"""A Viber harness: the real application on the real Redis and SQLite, the channel mounted in a local aiohttp
server, the Viber API replaced by `FakeViberApi`, and Viber users who post signed callbacks."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import SecretStr
from redis.asyncio import Redis

from bot.app import App, build_app
from bot.channels.viber import EVENT_TYPES, WEBHOOK_PATH, ViberChannel, ViberClient
from bot.config import ViberSettings
from bot.core.router import Router
from bot.db.models import ChannelUser
from tests.conftest import AppFactory, make_settings
from tests.fakes.viber_api import TEST_TOKEN, FakeViberApi, ViberUser

TOKEN = TEST_TOKEN
BOT_NAME = "mts Srbija · Mila asistent"  # 26 characters: close to Viber's 28
_ids = itertools.count(1)
# The sample callbacks of the shared platform reference, one JSON object per line, exactly as Viber posts them.
SAMPLES = [
    json.loads(line)
    for line in (Path(__file__).parent.parent / "fixtures" / "viber" / "callbacks.jsonl").read_text().splitlines()
    if line.strip()
]
SAMPLE_USER = "01234567890A="  # the sender of the samples' conversation_started, subscribed and message
SAMPLE_LEAVER = "3SQNc4FPUQmysaM/AQEhXg=="  # the one who unsubscribes


def sample(event: str) -> dict[str, Any]:
    return next(s for s in SAMPLES if s["event"] == event)


ChannelUserLookup = Callable[[str], Awaitable[ChannelUser | None]]


async def post_every_sample(user: ViberUser, *, redis: Redis, prefix: str, channel_user: ChannelUserLookup) -> None:
    """Post each sample callback as recorded (signed with the bot's token) and check that it got 200 and its effect;
    `prefix` is the bot's Redis prefix, `channel_user` reads a chat user's row from the bot's database."""
    api = user.api
    sends = len(api.send_calls())
    assert {s["event"] for s in SAMPLES} == {"webhook", *EVENT_TYPES, "message"}
    for callback in SAMPLES:
        status, answer = await user.post(callback)
        event = callback["event"]
        assert status == 200, event
        if event == "webhook":
            assert answer == b"" and len(api.send_calls()) == sends
        elif event == "conversation_started":
            welcome = json.loads(answer)
            assert "receiver" not in welcome and welcome["sender"]["name"] == BOT_NAME
            assert "Izaberite jezik" in welcome["text"]  # "en" is not offered: the profile's default language
            labels = [b["Text"] for b in welcome["keyboard"]["Buttons"]]
            assert labels == ["Srpski (latinica)", "Српски (ћирилица)", "Türkmençe"]
        elif event == "subscribed":
            row = await channel_user(SAMPLE_USER)
            assert row is not None and not row.unreachable
        elif event == "unsubscribed":
            row = await channel_user(SAMPLE_LEAVER)
            assert row is not None and row.unreachable
        elif event == "message":
            (reply,) = api.messages(SAMPLE_USER)
            assert "Izaberite jezik" in reply["text"]  # a first message before choosing a language: the choice
        else:  # delivered, seen, failed: kept for broadcasts
            token, user_id = callback["message_token"], callback["user_id"]
            kept = await redis.hgetall(f"{prefix}viber:receipt:{token}")
            assert kept[f"{event}:{user_id}".encode()] == str(callback["timestamp"]).encode()
    assert len(api.send_calls()) == sends + 1  # only the text message was answered through the API


async def turkmen_service_list(ayna: ViberUser) -> None:
    """Aýna (demo subscriber 8100001, MTS Türkmenistan) opens the chat in Turkmen, identifies herself with her
    number and code word, pages through the service list and turns MMS on; the bot's last answer names the order."""
    await ayna.open()
    ayna.expect("Salam! Men Mila", "Dili saýlaň.")
    assert ayna.labels()[0] == "✓ Türkmençe"  # pre-selected from the Viber app's language
    await ayna.press("Türkmençe")
    await ayna.press("Ýok, sag boluň")  # no tariff news
    ayna.expect("Size nähili kömek edip bilerin?")
    await ayna.press("Hyzmatlary birikdirmek we öçürmek")
    await ayna.press("Telefon belgisi we kod sözi")
    await ayna.say("+993 65 123456")
    ayna.expect("kod sözüňizi")
    await ayna.say("Gülälek")
    ayna.expect("Sag boluň, Aýna!", "(1/2 sahypa)")
    assert len(ayna.keyboard()) == 8 + 2  # eight services, "next", the menu
    await ayna.press("Indiki ▶")
    ayna.expect("(2/2 sahypa)", "MMS")
    await ayna.press("MMS")
    await ayna.press("Hawa, birikdir")


@dataclass
class Viber:
    app: App
    channel: ViberChannel
    api: FakeViberApi
    server: TestServer
    http: aiohttp.ClientSession

    @property
    def webhook_url(self) -> str:
        return str(self.server.make_url(WEBHOOK_PATH))

    @property
    def redis(self) -> Redis:
        return self.app.redis

    def user(self, language: str = "sr", user_id: str | None = None) -> ViberUser:
        uid = user_id or f"vb{next(_ids):04d}Ab+/cD=="
        return ViberUser(self.api, self.webhook_url, self.http, uid, language=language)


ViberFactory = Callable[..., Awaitable[Viber]]


def viber_settings(api_url: str, webhook_url: str | None = None) -> ViberSettings:
    return ViberSettings(
        auth_token=SecretStr(TOKEN),
        api_base=api_url,
        webhook_url=webhook_url,
        bot_name=BOT_NAME,
        bot_avatar="https://static.example.com/mila.png",
    )


@pytest.fixture
async def make_viber(
    make_app: AppFactory, viber_api: FakeViberApi, sqlite_url: str, redis_prefix: str
) -> AsyncIterator[ViberFactory]:
    """Start the channel on a local HTTP server; `router=` swaps the flows, channel options go to ViberChannel."""
    made: list[Viber] = []
    extra_apps: list[App] = []

    async def factory(profile: str = "rs", *, router: Router | None = None, **options: Any) -> Viber:
        if router is None:
            app = await make_app(profile)
        else:
            app = build_app(make_settings(profile, sqlite_url, redis_prefix), router=router)
            extra_apps.append(app)
        client = ViberClient(TOKEN, viber_api.url, timeout=5.0, retry_delays=(0.01, 0.02, 0.04))
        settings = viber_settings(viber_api.url, webhook_url=options.pop("webhook_url", None))
        channel = ViberChannel(
            app.engine, settings, redis=app.redis, redis_prefix=app.settings.redis.prefix, client=client, **options
        )
        web_app = web.Application()
        web_app.add_routes(channel.routes())
        server = TestServer(web_app, host="127.0.0.1")
        await server.start_server()
        http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        viber = Viber(app, channel, viber_api, server, http)
        made.append(viber)
        return viber

    yield factory
    for viber in made:
        await viber.http.close()
        await viber.channel.close()
        await viber.server.close()
    for app in extra_apps:
        await app.close()


@pytest.fixture
async def viber(make_viber: ViberFactory) -> Viber:
    return await make_viber("rs")
