"""The background workers of `mila run` stay alive: one that dies (an error, or killed) is logged, counted in
/metrics, shown dead in /healthz until it is back, and started again; SIGTERM still ends the process cleanly.

The end-to-end test runs `serve()` itself in this test's event loop (the real channels against the fake Bot API,
the real mail worker against a real SMTP server), so it can reach into the process and kill a worker's task."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import Callable
from functools import partial

import pytest
from aiohttp import ClientSession, ClientTimeout
from pydantic import SecretStr
from redis.asyncio import Redis
from sqlalchemy import select

from bot.checks.remote import check_smtp
from bot.config import (
    BotSettings,
    DatabaseSettings,
    HttpSettings,
    MailSettings,
    RedisSettings,
    Settings,
    TelegramSettings,
)
from bot.db.base import make_engine, make_sessionmaker, utcnow
from bot.db.models import MailMessage
from bot.health import Parts
from bot.metrics import Metrics
from bot.server import gated, serve
from bot.services.mail import MailWorker
from bot.workers import Supervisor
from tests.conftest import REDIS_URL, AppFactory
from tests.fakes.telegram_api import FakeTelegram
from tests.helpers import seed_database
from tests.smtp import SmtpServer
from tests.telegram.service import free_port


def sample(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


async def until(condition: Callable[[], object], timeout: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def test_a_worker_that_raises_is_started_again_and_counted() -> None:
    metrics = Metrics()
    supervisor = Supervisor(metrics, first_delay=0.05)
    runs: list[int] = []

    async def flaky(stop: asyncio.Event) -> None:
        runs.append(len(runs))
        if len(runs) < 3:
            raise ValueError("a row this code did not expect")
        while not stop.is_set():
            supervisor.beat("flaky")
            await asyncio.sleep(0.01)

    supervisor.start("flaky", flaky)
    await until(lambda: len(runs) == 3 and supervisor.snapshot()["flaky"]["last_success"], what="the third run")
    shown = supervisor.snapshot()["flaky"]
    assert shown["alive"] is True and shown["restarts"] == 2 and shown["last_error"] == "ValueError"
    assert sample(metrics, "mila_worker_restarts_total", worker="flaky") == 2
    assert sample(metrics, "mila_worker_up", worker="flaky") == 1
    last = sample(metrics, "mila_worker_last_success_timestamp_seconds", worker="flaky")
    assert last is not None and abs(last - time.time()) < 5
    await supervisor.stop()
    assert sample(metrics, "mila_worker_up", worker="flaky") == 0 and len(runs) == 3  # stopped, not restarted


async def test_a_graceful_worker_is_asked_to_stop_the_others_are_cancelled() -> None:
    supervisor = Supervisor(Metrics())
    finished: list[str] = []

    async def graceful(stop: asyncio.Event) -> None:
        await stop.wait()
        await asyncio.sleep(0.05)  # finishes what it was doing
        finished.append("graceful")

    async def plain(stop: asyncio.Event) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            finished.append("cancelled")
            raise

    supervisor.start("graceful", graceful, graceful=True)
    supervisor.start("plain", plain)
    await asyncio.sleep(0.05)
    await supervisor.stop()
    assert sorted(finished) == ["cancelled", "graceful"]
    assert supervisor.snapshot()["graceful"]["restarts"] == 0


@pytest.fixture
def telegram_only(fake_telegram: FakeTelegram, sqlite_url: str, redis_prefix: str, smtp: SmtpServer) -> Settings:
    return Settings(
        bot=BotSettings(profile="rs"),
        database=DatabaseSettings(url=sqlite_url),
        redis=RedisSettings(url=REDIS_URL, prefix=redis_prefix),
        telegram=TelegramSettings(
            bot_token=SecretStr(fake_telegram.token), api_base=fake_telegram.base_url, poll_timeout=1
        ),
        http=HttpSettings(port=free_port()),
        mail=MailSettings(smtp_url=SecretStr(smtp.url), backoff_seconds=0.2),
    )


async def get(url: str) -> tuple[int, str]:
    async with ClientSession(timeout=ClientTimeout(total=10)) as http, http.get(url) as response:
        return response.status, await response.text()


def metric(body: str, line: str) -> bool:
    return line in body.splitlines()


async def test_a_worker_killed_inside_mila_run_comes_back_and_metrics_count_it(
    telegram_only: Settings, sqlite_url: str, redis_prefix: str, smtp: SmtpServer
) -> None:
    await seed_database(sqlite_url, "rs")
    base = f"http://127.0.0.1:{telegram_only.http.port}"
    service = asyncio.create_task(serve(telegram_only))
    try:

        async def started() -> None:
            while True:
                try:
                    status, body = await get(base + "/healthz")
                    if status == 200 and json.loads(body)["workers"].get("mail", {}).get("last_success"):
                        return
                except OSError:
                    pass
                assert not service.done(), service
                await asyncio.sleep(0.05)

        await asyncio.wait_for(started(), 30)
        _, body = await get(base + "/metrics")
        for worker in ("mail", "campaigns", "eraser"):
            assert metric(body, f'mila_worker_up{{worker="{worker}"}} 1.0'), body
            assert metric(body, f'mila_worker_restarts_total{{worker="{worker}"}} 0.0'), body
        assert metric(body, 'mila_part_up{part="telegram"} 1.0') and metric(body, 'mila_part_up{part="mail"} 1.0')

        # Killed from inside the process (what an unexpected error does to a task): it comes back.
        [mail] = [task for task in asyncio.all_tasks() if task.get_name() == "mail"]
        mail.cancel()
        # A poisoned entry in the eraser's schedule (not "chat:message"): the eraser raises, and comes back too.
        redis = Redis.from_url(REDIS_URL)
        await redis.zadd(redis_prefix + "telegram:erase", {"not-a-message": 0})
        await redis.aclose()

        async def restarted() -> str:
            while True:
                _, body = await get(base + "/metrics")
                if all(metric(body, line) for line in ('mila_worker_restarts_total{worker="mail"} 1.0',
                                                       'mila_worker_restarts_total{worker="eraser"} 1.0',
                                                       'mila_worker_up{worker="mail"} 1.0',
                                                       'mila_worker_up{worker="eraser"} 1.0')):  # fmt: skip
                    return body
                await asyncio.sleep(0.1)

        await asyncio.wait_for(restarted(), 30)
        status, body = await get(base + "/healthz")
        health = json.loads(body)
        assert status == 200 and health["workers"]["mail"]["restarts"] == 1
        assert health["workers"]["mail"]["last_error"] == "cancelled"
        assert health["workers"]["eraser"]["last_error"] == "ValueError" and health["workers"]["eraser"]["alive"]
        assert health["status"] == "ok"
        [again] = [task for task in asyncio.all_tasks() if task.get_name() == "mail"]
        assert again is not mail and not again.done()
        engine = make_engine(sqlite_url)  # and it does its work: an e-mail stored now goes out
        async with make_sessionmaker(engine)() as db, db.begin():
            db.add(MailMessage(recipient="info@telekom.rs", subject="Prigovor R-00000001", body="Opis",
                               message_id="<R-00000001.test@mila.rs>", next_attempt_at=utcnow()))  # fmt: skip
        await engine.dispose()
        await until(lambda: smtp.received, what="the e-mail sent by the restarted worker")
        assert smtp.received[0].subject == "Prigovor R-00000001"
    finally:
        os.kill(os.getpid(), signal.SIGTERM)  # what systemd sends: serve() stops its workers and returns
        assert await asyncio.wait_for(service, 60) == 0


async def test_a_mail_worker_stopped_by_its_check_burns_no_attempt_and_starts_once_the_server_takes_the_sender(
    make_app: AppFactory, smtp: SmtpServer
) -> None:
    """The mail server refuses MAIL_FROM at start: the mail part is stopped (every e-mail would fail its attempts
    one by one until given up); it is checked again, and once the server takes the sender the e-mails go."""
    app = await make_app("rs")
    settings = MailSettings(smtp_url=SecretStr(smtp.url), sender="mila@mts.test")
    async with app.deps.sessionmaker() as db, db.begin():
        db.add(MailMessage(recipient="info@telekom.rs", subject="Prigovor R-00000002", body="Opis",
                           message_id="<R-00000002.test@mila.rs>", next_attempt_at=utcnow()))  # fmt: skip
    smtp.refused_senders.add("mila@mts.test")
    metrics = Metrics()
    parts = Parts(metrics)
    check = partial(check_smtp, settings)
    assert not parts.report("mail", await check())
    assert parts.snapshot()["mail"].startswith("error: 127.0.0.1:") and "refuses the sender" in parts.snapshot()["mail"]
    worker = MailWorker(app.deps.sessionmaker, settings)
    supervisor = Supervisor(metrics)
    supervisor.start("mail", gated(parts, "mail", check, worker.run_forever, 0.2))
    try:
        await asyncio.sleep(1.0)  # several checks, all refused: nothing tried
        async with app.deps.sessionmaker() as db:
            assert await db.scalar(select(MailMessage.attempts)) == 0
        smtp.refused_senders.clear()  # the mail server's administrator allows the sender
        await until(lambda: smtp.received, what="the e-mail, once the sender is taken")
        assert parts.snapshot()["mail"] == "ok" and sample(metrics, "mila_part_up", part="mail") == 1
    finally:
        await supervisor.stop()
