"""Fixtures that give tests the real things: a Redis server, SQLite and PostgreSQL, the real engine.

Each test gets its own Redis key prefix and its own database (a SQLite file, or a PostgreSQL database created for
the test session and emptied after each test), and cleans up after itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import App, build_app
from bot.config import BotSettings, DatabaseSettings, RedisSettings, Settings
from bot.db.base import Base
from bot.db.migrate import upgrade
from tests.chat import Chat, Clock
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.viber_api import TEST_TOKEN as VIBER_TEST_TOKEN
from tests.fakes.viber_api import FakeViberApi
from tests.smtp import smtp  # noqa: F401 - a fixture for every test module

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REQUIRE_SERVICES = bool(os.environ.get("CI") or os.environ.get("MILA_REQUIRE_SERVICES"))


async def _postgres_answers() -> str | None:
    engine = create_async_engine(POSTGRES_URL)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("select 1"))
        return None
    except Exception as exc:
        return str(exc)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A database of our own on the PostgreSQL server, migrated once, dropped at the end."""
    problem = asyncio.run(_postgres_answers())
    if problem:
        if REQUIRE_SERVICES:
            pytest.exit(f"PostgreSQL is required here and does not answer at {POSTGRES_URL}: {problem}", 1)
        pytest.skip(f"PostgreSQL does not answer at {POSTGRES_URL}")
    name = f"mila_test_{uuid.uuid4().hex[:10]}"
    admin = POSTGRES_URL

    async def run(sql: str) -> None:
        engine = create_async_engine(admin, isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.execute(text(sql))
        await engine.dispose()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    url = admin.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    yield url
    asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _empty_tables(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    await engine.dispose()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One headless Chromium for the session's browser tests; in CI (MILA_REQUIRE_SERVICES) never skipped."""
    from tests.console import browser

    problem = browser.missing()
    if problem:
        if REQUIRE_SERVICES:
            pytest.exit(f"the browser tests need Chromium here: {problem}", 1)
        pytest.skip(problem)
    driver = browser.start_driver()
    yield driver
    driver.quit()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Every database test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'mila.sqlite3'}"
        upgrade(url)
        yield url
        return
    url = request.getfixturevalue("postgres_server")
    yield url
    asyncio.run(_empty_tables(url))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'mila.sqlite3'}"
    upgrade(url)
    return url


@contextlib.asynccontextmanager
async def own_redis_prefix() -> AsyncIterator[str]:
    """A key prefix of its own on the real Redis server; every key under it is deleted afterwards."""
    prefix = f"mila-test:{uuid.uuid4().hex[:12]}:"
    client = Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except Exception as exc:
        pytest.fail(f"Redis does not answer at {REDIS_URL}: {exc}")
    try:
        yield prefix
    finally:
        async for key in client.scan_iter(match=prefix + "*", count=1000):
            await client.delete(key)
        await client.aclose()


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A key prefix of this test's own on the real Redis server; every key under it is deleted afterwards."""
    async with own_redis_prefix() as prefix:
        yield prefix


def make_settings(profile: str, database_url: str, redis_prefix: str, **bot: object) -> Settings:
    return Settings(
        bot=BotSettings(profile=profile, **bot),  # type: ignore[arg-type]
        database=DatabaseSettings(url=database_url),
        redis=RedisSettings(url=REDIS_URL, prefix=redis_prefix),
    )


AppFactory = Callable[..., Awaitable[App]]


@pytest.fixture
async def make_app(sqlite_url: str, redis_prefix: str) -> AsyncIterator[AppFactory]:
    """Build the real application (as `mila` does) on the real Redis and a fresh database."""
    apps: list[App] = []

    async def factory(profile: str = "rs", database_url: str | None = None, **bot: object) -> App:
        app = build_app(make_settings(profile, database_url or sqlite_url, redis_prefix, **bot), clock=Clock())
        apps.append(app)
        return app

    yield factory
    for app in apps:
        await app.close()


@pytest.fixture
async def rs_chat(make_app: AppFactory) -> Chat:
    return Chat((await make_app("rs")).engine)


@pytest.fixture
async def tm_chat(make_app: AppFactory) -> Chat:
    return Chat((await make_app("tm")).engine)


@pytest.fixture
async def fake_telegram() -> AsyncIterator[FakeTelegram]:
    """The fake Bot API server (tests/fakes/telegram_api.py)."""
    fake = FakeTelegram()
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
async def viber_api() -> AsyncIterator[FakeViberApi]:
    """The fake Viber REST API; at the end it must have nothing the real one would refuse."""
    api = FakeViberApi(VIBER_TEST_TOKEN)
    await api.start()
    yield api
    await api.close()
    assert api.problems == [], "the bot sent what Viber would refuse"
