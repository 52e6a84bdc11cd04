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
from tests.viber.conftest import TOKEN as VIBER_TOKEN


@pytest.fixture
async def fake_telegram() -> AsyncIterator[FakeTelegram]:
    fake = FakeTelegram()
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
async def fake_viber() -> AsyncIterator[FakeViberApi]:
    api = FakeViberApi(VIBER_TOKEN)
    await api.start()
    yield api
    await api.close()
    assert api.problems == [], "the bot sent what Viber would refuse"


@pytest.fixture
def pg_url(postgres_server: str) -> Iterator[str]:
    """The PostgreSQL database of the test session (several workers need row locks), emptied afterwards."""
    yield postgres_server
    asyncio.run(_empty_tables(postgres_server))


MakePlatforms = Callable[..., Awaitable[Platforms]]


@pytest.fixture
async def make_platforms(
    make_app: AppFactory, fake_telegram: FakeTelegram, fake_viber: FakeViberApi
) -> AsyncIterator[MakePlatforms]:
    made: list[Platforms] = []

    async def factory(database_url: str | None = None) -> Platforms:
        app: App = await make_app("rs", database_url=database_url)
        made.append(platforms(app, fake_telegram, fake_viber))
        return made[-1]

    yield factory
    for item in made:
        await item.close()
