"""Fixtures for the Telegram channel: the fake Bot API server and `mila run` started against it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from tests.fakes.telegram_api import FakeTelegram
from tests.telegram.service import Mila, start_mila

StartMila = Callable[..., Awaitable[Mila]]


@pytest.fixture
async def mila_factory(
    fake_telegram: FakeTelegram, sqlite_url: str, redis_prefix: str, tmp_path: Path
) -> AsyncIterator[StartMila]:
    """Start `mila run` (polling or webhook) on a migrated SQLite file and this test's Redis prefix.

    Every process started here must exit with 0 on SIGTERM at the end of the test.
    """
    started: list[Mila] = []

    async def start(mode: str = "polling", **env: str) -> Mila:
        mila = await start_mila(
            fake_telegram, mode=mode, database_url=sqlite_url, redis_prefix=redis_prefix,
            log_path=tmp_path / f"mila-{len(started)}.log", **env,
        )  # fmt: skip
        started.append(mila)
        return mila

    yield start
    for mila in started:
        code = await mila.stop()
        assert code == 0, f"mila run exited with {code} after SIGTERM:\n{mila.logs()[-4000:]}"


@pytest.fixture(params=["polling", "webhook"])
async def mila(request: pytest.FixtureRequest, mila_factory: StartMila) -> Mila:
    """`mila run` in each mode in turn."""
    return await mila_factory(request.param)
