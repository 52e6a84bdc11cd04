"""A Viber harness: the real application on the real Redis and SQLite, the channel mounted in a local aiohttp
server, the Viber API replaced by `FakeViberApi`, and Viber users who post signed callbacks."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import SecretStr
from redis.asyncio import Redis

from bot.app import App, build_app
from bot.channels.viber import WEBHOOK_PATH, ViberChannel, ViberClient
from bot.config import ViberSettings
from bot.core.router import Router
from tests.conftest import AppFactory, make_settings
from tests.fakes.viber_api import FakeViberApi, ViberUser

TOKEN = "4453b6ac12345678-e02c5f12174805f9-daec9cbb5448c51f"
BOT_NAME = "mts Srbija · Mila asistent"  # 26 characters: close to Viber's 28
_ids = itertools.count(1)


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
async def viber_api() -> AsyncIterator[FakeViberApi]:
    api = FakeViberApi(TOKEN)
    await api.start()
    yield api
    await api.close()
    assert api.problems == [], "the bot sent what Viber would refuse"


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
