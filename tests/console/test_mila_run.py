"""`mila run` serves the console on its own listener and says so at start; never on the webhook port."""

from __future__ import annotations

import asyncio
import io
import json
import sys
from pathlib import Path

import aiohttp
import pytest

from bot.cli import main
from tests.fakes.telegram_api import FakeTelegram
from tests.service import free_port
from tests.telegram.service import start_mila


def _records(log: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in log.splitlines() if line.startswith("{")]


async def test_the_console_listens_apart(
    fake_telegram: FakeTelegram, sqlite_url: str, redis_prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setattr(sys, "stdin", io.StringIO("a-long-admin-password\n"))
    assert await asyncio.to_thread(main, ["admin", "add-user", "ana", "--role", "admin", "--password-stdin"]) == 0
    port = free_port()
    mila = await start_mila(fake_telegram, mode="polling", database_url=sqlite_url, redis_prefix=redis_prefix,
                            log_path=tmp_path / "mila.log", ADMIN_ENABLED="true", ADMIN_HOST="127.0.0.1",
                            ADMIN_PORT=str(port))  # fmt: skip
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/login") as page:
                assert page.status == 200 and 'name="csrf"' in await page.text()
            async with http.get(f"http://127.0.0.1:{port}/analytics", allow_redirects=False) as page:
                assert (page.status, page.headers["Location"]) == (302, "/login")
        # The webhook port has no console.
        status, _ = await mila.get("/login")
        assert status == 404
        running = [r for r in _records(mila.logs()) if r.get("msg") == "the web console is running"]
        assert running and running[0]["url"] == f"http://127.0.0.1:{port}/login", mila.logs()
        (started,) = [r for r in _records(mila.logs()) if r.get("msg") == "mila is running"]
        assert started["console"] == f"http://127.0.0.1:{port}/login"
    finally:
        assert await mila.stop() == 0, mila.logs()


async def test_the_console_off(fake_telegram: FakeTelegram, sqlite_url: str, redis_prefix: str, tmp_path: Path) -> None:
    port = free_port()
    mila = await start_mila(fake_telegram, mode="polling", database_url=sqlite_url, redis_prefix=redis_prefix,
                            log_path=tmp_path / "mila.log", ADMIN_ENABLED="false", ADMIN_PORT=str(port))  # fmt: skip
    try:
        records = _records(mila.logs())
        assert any(r.get("msg") == "the web console is off (ADMIN_ENABLED=false)" for r in records)
        assert [r["console"] for r in records if r.get("msg") == "mila is running"] == ["off"]
        with pytest.raises(aiohttp.ClientConnectionError):
            async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/login"):
                pass
    finally:
        assert await mila.stop() == 0, mila.logs()
