"""Fixtures of the broadcast tests: the fake Bot API and Viber API servers, and the app's channels on them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest

from bot.app import App
from tests.broadcasts.harness import Platforms, platforms
from tests.conftest import AppFactory, _empty_tables
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.viber_api import FakeViberApi


@pytest.fixture
def pg_url(postgres_server: str) -> Iterator[str]:
    """The PostgreSQL database of the test session (several workers need row locks), emptied afterwards."""
    yield postgres_server
    asyncio.run(_empty_tables(postgres_server))


MakePlatforms = Callable[..., Awaitable[Platforms]]


@pytest.fixture
async def make_platforms(
    make_app: AppFactory, fake_telegram: FakeTelegram, viber_api: FakeViberApi
) -> AsyncIterator[MakePlatforms]:
    made: list[Platforms] = []

    async def factory(database_url: str | None = None) -> Platforms:
        app: App = await make_app("rs", database_url=database_url)
        made.append(platforms(app, fake_telegram, viber_api))
        return made[-1]

    yield factory
    for item in made:
        await item.close()
