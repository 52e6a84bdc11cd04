"""`mila run` serving Telegram and Viber in one process, with the operators' support group on the fake Bot API:
what an operator runs, driven by the end-to-end tests of the handoff."""

from __future__ import annotations

import asyncio
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from bot.db.models import SupportMessage, SupportTicket
from tests.conftest import REDIS_URL
from tests.environment import without_mila_settings
from tests.fakes.telegram_api import FakeTelegram, FakeUser
from tests.support.conftest import GROUP
from tests.telegram.service import Mila, free_port
from tests.viber.conftest import BOT_NAME, TOKEN


@dataclass
class Desk:
    """Everything a test needs to run `mila run` again with the same configuration (a restart)."""

    fake: FakeTelegram
    viber_url: str
    database_url: str
    redis_prefix: str
    profile: Path
    log_path: Path
    extra: dict[str, str]

    async def start(self, *, polls: bool = True) -> Mila:
        """Start `mila run`; wait until it serves /healthz and (`polls`) takes updates — a second process only
        stands by for polling (one process polls, by a lease)."""
        port = free_port()
        env = without_mila_settings()
        env.update(
            TELEGRAM_BOT_TOKEN=self.fake.token, TELEGRAM_API_BASE=self.fake.base_url, TELEGRAM_POLL_TIMEOUT="2",
            VIBER_AUTH_TOKEN=TOKEN, VIBER_API_BASE=self.viber_url, VIBER_BOT_NAME=BOT_NAME,
            VIBER_WEBHOOK_URL=f"http://127.0.0.1:{port}/webhook/viber",
            REDIS_URL=REDIS_URL, REDIS_PREFIX=self.redis_prefix, DATABASE_URL=self.database_url,
            HTTP_HOST="127.0.0.1", HTTP_PORT=str(port), MILA_PROFILE=str(self.profile),
            SUPPORT_CHAT_ID=str(GROUP), SUPPORT_TICK="0.2", SUPPORT_RELAY_WINDOW=str(self.fake.group_window),
            SUPPORT_MEDIA_URL=f"http://127.0.0.1:{port}",
            **self.extra,
        )  # fmt: skip
        log_file = self.log_path.open("ab")
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=env, stdin=asyncio.subprocess.DEVNULL, stdout=log_file,
            stderr=log_file,
        )  # fmt: skip
        log_file.close()
        mila = Mila(self.fake, process, f"http://127.0.0.1:{port}", self.database_url, self.log_path, "polling")
        before = sum(1 for c in self.fake.calls if c.method == "getUpdates")
        deadline = time.monotonic() + 60
        while True:
            assert process.returncode is None, f"mila run exited:\n{mila.logs()}"
            try:
                status, _ = await mila.get("/healthz")
            except OSError:
                status = 0
            polling = not polls or sum(1 for c in self.fake.calls if c.method == "getUpdates") > before
            if status == 200 and polling:
                return mila
            assert time.monotonic() < deadline, f"mila run did not start:\n{mila.logs()}"
            await asyncio.sleep(0.05)


async def reach_operator(fake: FakeTelegram, user: FakeUser, question: str) -> None:
    """A Telegram user's first contact, then the operator and the question."""
    since = len(fake.calls)
    fake.send_text(user, "/start")
    await fake.wait_text(user, "Izaberite jezik", since=since)
    fake.press(user, "Srpski (latinica)")
    await fake.wait_text(user, "novosti", since=since)
    fake.press(user, "Ne, hvala")
    await fake.wait_text(user, "Kako mogu da vam pomognem?", since=since)
    fake.send_text(user, "operater")
    await fake.wait_text(user, "Povezaću vas sa operaterom", since=since)
    fake.send_text(user, question)
    await fake.wait_text(user, "Operater će vam odgovoriti ovde", since=since)


async def tickets(database_url: str) -> list[SupportTicket]:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(select(SupportTicket).order_by(SupportTicket.id))).all()
            return [SupportTicket(**row._mapping) for row in rows]
    finally:
        await engine.dispose()


async def messages(database_url: str, ticket_id: int) -> list[tuple[str, str]]:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            query = (select(SupportMessage.direction, SupportMessage.text)
                     .where(SupportMessage.ticket_id == ticket_id).order_by(SupportMessage.id))  # fmt: skip
            return [(d, t) for d, t in (await conn.execute(query)).all()]
    finally:
        await engine.dispose()


def texts(posts: list[dict[str, Any]]) -> list[str]:
    return [p.get("text") or p.get("caption") or "" for p in posts]


_MERGED_LINE = re.compile(r"^\d\d:\d\d(:\d\d)?  ")


def relayed(posts: list[dict[str, Any]]) -> list[str]:
    """Each message relayed into a topic, whether it went alone or merged with others of its ticket (a line each,
    after its time): which of the two happens depends on how fast the queue drains."""
    return [_MERGED_LINE.sub("", line) for text in texts(posts) for line in text.splitlines()]
