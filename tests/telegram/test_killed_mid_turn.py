"""`mila run` on Telegram killed with SIGKILL in the middle of a turn, then restarted as systemd would: the update
Telegram re-delivers is answered within a lease of seconds (not after the dedupe's five minutes), and the user's
next messages after it, in order."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

from redis.asyncio import Redis

from bot.channels.lease import LEASE_SECONDS
from bot.core.session import LEASE_MS
from tests.conftest import REDIS_URL
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram.service import Mila, start_mila
from tests.telegram.test_service import CHOOSE_LANGUAGE, MENU_SR, NEWS_QUESTION_SR


async def test_an_update_whose_process_was_killed_inside_the_turn_is_answered_on_a_retry_within_a_lease(
    fake_telegram: FakeTelegram, sqlite_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    fake = fake_telegram
    started: list[Mila] = []

    async def start() -> Mila:
        mila = await start_mila(fake, mode="webhook", database_url=sqlite_url, redis_prefix=redis_prefix,
                                log_path=tmp_path / f"mila-{len(started)}.log")  # fmt: skip
        started.append(mila)
        return mila

    try:
        first = await start()
        vesna = fake.user(222000111)
        mark = len(fake.calls)
        fake.send_text(vesna, "/start")
        await fake.wait_text(vesna, CHOOSE_LANGUAGE, since=mark)
        # Telegram waits for each webhook request's answer before the next: /start was answered.
        await fake.wait_for(lambda: fake.webhook_statuses.count(200) >= 1 or None, what="/start answered")

        lock_key = f"{redis_prefix}telegram:{vesna.id}:lock"
        redis = Redis.from_url(REDIS_URL)
        database = sqlite3.connect(tmp_path / "mila.sqlite3", isolation_level=None)
        try:
            database.execute("BEGIN EXCLUSIVE")  # every read and write of mila's waits on the file
            mark = len(fake.calls)
            pressed = fake.press(vesna, "Srpski")  # choosing the language writes the user's profile
            deadline = time.monotonic() + 30
            while not await redis.exists(lock_key):  # the turn holds the user's lock, waiting on the database
                assert time.monotonic() < deadline, f"the turn never took the user's lock:\n{first.logs()[-3000:]}"
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.3)
            first.process.kill()  # SIGKILL: no clean-up of any kind
            await first.process.wait()
            killed_at = time.monotonic()
        finally:
            database.rollback()
            database.close()
            await redis.aclose()
        assert not fake.calls_to(vesna, "sendMessage", since=mark), "the killed turn answered"

        await start()  # the same database and Redis: what systemd's restart gives
        restarted = time.monotonic() - killed_at
        bound = max(restarted, LEASE_SECONDS, LEASE_MS / 1000) + 8
        while not any(NEWS_QUESTION_SR in str(c.params.get("text")) for c in fake.calls_to(vesna, since=mark)):
            assert time.monotonic() - killed_at < bound, "the dead process still holds the update"
            fake.redeliver(pressed)  # Telegram re-delivers what was not answered 2xx
            await asyncio.sleep(1.0)

        for step, answer in [("Ne, hvala", MENU_SR), ("pomoć", "/menu"), ("meni", MENU_SR)]:
            since = len(fake.calls)
            sent_at = time.monotonic()
            if step == "Ne, hvala":
                fake.press(vesna, step)
            else:
                fake.send_text(vesna, step)
            await fake.wait_text(vesna, answer, since=since, timeout=10)
            assert time.monotonic() - sent_at < 10, f"{step!r} waited for something the dead process held"
        shown = [str(c.params["text"]) for c in fake.calls_to(vesna, since=mark) if c.ok and "text" in c.params]
        found, rest = [], iter(shown)  # each answer once, in the order of the turns
        for want in [NEWS_QUESTION_SR, MENU_SR, "/menu", MENU_SR]:
            found.append(any(want in text for text in rest))
        assert all(found), shown
    finally:
        for mila in started:
            if mila.process.returncode is None:  # the killed one is gone; the restarted one must stop cleanly
                assert await mila.stop() == 0, mila.logs()[-4000:]
