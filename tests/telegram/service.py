"""`mila run` as a subprocess against the fake Bot API server: what an operator runs, driven by a test."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, ClientTimeout

from bot.config import PROJECT_ROOT
from bot.db.models import ChannelUser
from tests.fakes.telegram_api import FakeTelegram
from tests.service import channel_user, free_port, mila_env, spawn_mila, stop_mila

WEBHOOK_SECRET = "s3cret-For_tests"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def sample_updates() -> list[dict[str, Any]]:
    """Recorded Bot API updates (from the platform reference), one JSON object per line."""
    lines = (FIXTURES / "telegram_updates.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@dataclass
class Mila:
    fake: FakeTelegram
    process: asyncio.subprocess.Process
    url: str  # mila's HTTP server
    database_url: str
    log_path: Path
    mode: str

    async def get(self, path: str) -> tuple[int, str]:
        async with ClientSession(timeout=ClientTimeout(total=10)) as http, http.get(self.url + path) as response:
            return response.status, await response.text()

    async def post_update(self, body: bytes | dict[str, Any], secret: str | None = WEBHOOK_SECRET) -> int:
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        async with (
            ClientSession(timeout=ClientTimeout(total=30)) as http,
            http.post(self.url + "/webhook/telegram", data=data, headers=headers) as response,
        ):
            return response.status

    async def metric(self, name: str, **labels: str) -> float:
        """One sample of /metrics (0 when absent)."""
        _, body = await self.get("/metrics")
        wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        for line in body.splitlines():
            if line.startswith(name) and not line.startswith("#"):
                head, _, value = line.rpartition(" ")
                series = head[len(name) :]
                found = ",".join(sorted(series.strip("{}").split(","))) if series else ""
                if found == wanted:
                    return float(value)
        return 0.0

    async def wait_metric(self, name: str, at_least: float, timeout: float = 30.0, **labels: str) -> float:
        deadline = time.monotonic() + timeout
        while True:
            value = await self.metric(name, **labels)
            if value >= at_least:
                return value
            assert time.monotonic() < deadline, f"{name}{labels} stayed at {value}, expected ≥ {at_least}"
            await asyncio.sleep(0.05)

    async def channel_user(self, user_id: int) -> ChannelUser | None:
        return await channel_user(self.database_url, "telegram", str(user_id))

    async def wait_user(self, user_id: int, timeout: float = 30.0, **expected: Any) -> ChannelUser:
        deadline = time.monotonic() + timeout
        while True:
            row = await self.channel_user(user_id)
            if row is not None and all(getattr(row, k) == v for k, v in expected.items()):
                return row
            assert time.monotonic() < deadline, f"user {user_id} never had {expected}"
            await asyncio.sleep(0.05)

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM, and the exit code (the process must leave within `timeout`)."""
        return await stop_mila(self.process, timeout)


async def start_mila(
    fake: FakeTelegram, *, mode: str, database_url: str, redis_prefix: str, log_path: Path, **extra_env: str
) -> Mila:
    """Start `mila run` and wait until it serves /healthz and has begun taking updates."""
    port = free_port()
    env = mila_env(database_url=database_url, redis_prefix=redis_prefix, port=port, TELEGRAM_BOT_TOKEN=fake.token,
                   TELEGRAM_API_BASE=fake.base_url, TELEGRAM_POLL_TIMEOUT="5")  # fmt: skip
    if mode == "webhook":
        env.update(
            TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}/webhook/telegram", TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET
        )
    env.update(extra_env)
    process = await spawn_mila(env, log_path)
    mila = Mila(fake, process, f"http://127.0.0.1:{port}", database_url, log_path, mode)
    deadline = time.monotonic() + 60
    while True:
        if process.returncode is not None:
            raise AssertionError(f"mila run exited with {process.returncode}:\n{mila.logs()}")
        try:
            status, _ = await mila.get("/healthz")
        except OSError:
            status = 0
        started = any(c.method == ("setWebhook" if mode == "webhook" else "getUpdates") for c in fake.calls)
        if status in (200, 503) and started:
            return mila
        if time.monotonic() > deadline:
            await mila.stop()
            raise AssertionError(f"mila run did not start in time:\n{mila.logs()}")
        await asyncio.sleep(0.05)


__all__ = ["PROJECT_ROOT", "WEBHOOK_SECRET", "Mila", "free_port", "sample_updates", "start_mila"]
