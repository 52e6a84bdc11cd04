"""`mila run`: one process serving the configured channels, the HTTP endpoints and (later) background workers.

Start-up order matters: the HTTP server listens before any channel registers its webhook (Viber calls the webhook
the moment it is set). Shutdown on SIGTERM/SIGINT: channels stop taking updates, the HTTP server stops listening
and waits for the requests in progress, the updates being handled finish, then connections close and the process
exits with 0. Everything shared between processes lives in Redis and the database (sessions and their locks,
update dedupe, the rate-limit pause, the poller lease), so several `mila run` processes can serve one bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import signal
from typing import TYPE_CHECKING

from aiohttp import web
from sqlalchemy import text

from bot.app import App, build_app
from bot.channels.base import Channel, Pusher
from bot.config import ConfigError, Settings
from bot.metrics import Metrics
from bot.services.attachments import fetchers_for
from bot.services.campaigns.receipts import CampaignReceipts
from bot.services.campaigns.worker import CampaignWorker
from bot.services.guard_events import GuardEvents
from bot.services.mail import MailWorker
from bot.services.outbox import OutboxWorker
from bot.services.support.service import Support
from bot.services.support.worker import SupportWorker

if TYPE_CHECKING:
    from bot.channels.viber.channel import ReceiptHook

log = logging.getLogger("mila.server")

MAX_BODY = 1024 * 1024
HEALTH_TIMEOUT = 3.0
SHUTDOWN_TIMEOUT = 60.0  # Telegram waits about as long for a webhook answer


def build_channels(app: App, metrics: Metrics) -> list[Channel]:
    """The channels whose credentials are configured; each is imported only when used (its SDK with it)."""
    channels: list[Channel] = []
    if app.settings.telegram.bot_token is not None:
        from bot.channels.telegram import TelegramChannel

        channels.append(TelegramChannel(app, metrics))
    viber_token = app.settings.viber.auth_token
    if viber_token is not None and viber_token.get_secret_value():
        from bot.channels.viber import ViberChannel

        channels.append(ViberChannel.from_app(app, metrics=metrics))
    return channels


def watch_guards(app: App, metrics: Metrics) -> None:
    """The identification guards' failures, refusals, locks and alarms, counted in `/metrics`."""
    events = app.deps.services.get("guard_events")
    if isinstance(events, GuardEvents):
        metrics.watch(events)


def pushers(channels: list[Channel]) -> dict[str, Pusher]:
    """The running channels that can message a user outside a turn, by channel name (a `UserRef.channel`)."""
    return {channel.name: channel for channel in channels if isinstance(channel, Pusher)}


def start_workers(app: App, metrics: Metrics, channels: list[Channel]) -> list[asyncio.Task[None]]:
    """Background workers of this process: the support relay (when `SUPPORT_CHAT_ID` is set and Telegram runs),
    the order outbox (when `PROVISIONING_URL` is set), the complaint e-mails (when `SMTP_URL` is set) and the
    campaign worker (tariff news, unless `BROADCAST_WORKER=false`), which also takes Viber's receipts of its messages.

    A worker is a coroutine that runs until cancelled and must tolerate other processes running the same worker
    (take work with Redis locks or `SELECT … FOR UPDATE SKIP LOCKED`; on SQLite run one process). Workers that
    message users get `pushers(channels)`.
    """
    tasks: list[asyncio.Task[None]] = []
    support = app.deps.services.get("support")
    desk = next((getattr(c, "desk", None) for c in channels if getattr(c, "desk", None) is not None), None)
    if isinstance(support, Support) and support.enabled and desk is not None:
        support.pushers.update(pushers(channels))
        worker = SupportWorker(support, desk)
        tasks.append(asyncio.create_task(worker.run_forever(asyncio.Event()), name="support"))
    if app.settings.provisioning.url:
        outbox = OutboxWorker(app.deps.sessionmaker, app.settings.provisioning)
        tasks.append(asyncio.create_task(outbox.run_forever(asyncio.Event()), name="outbox"))
    if app.settings.mail.smtp_url is not None:
        mail = MailWorker(app.deps.sessionmaker, app.settings.mail, fetchers=fetchers_for(app.settings))
        tasks.append(asyncio.create_task(mail.run_forever(asyncio.Event()), name="mail"))
    senders = pushers(channels)
    if app.settings.broadcast.enabled and senders:
        tasks.append(asyncio.create_task(campaign_worker(app, senders).run_forever(asyncio.Event()), name="campaigns"))
        take_receipts(app, channels)
    return tasks


def campaign_worker(app: App, senders: dict[str, Pusher]) -> CampaignWorker:
    from bot.channels.telegram.sender import PAUSE_KEY

    prefix = app.settings.redis.prefix
    profile = app.deps.profile
    return CampaignWorker(
        app.deps.sessionmaker, app.redis, prefix=prefix, settings=app.settings.broadcast,
        profile=profile.id, timezone=profile.timezone, i18n=app.deps.i18n,
        default_language=profile.default_language, pushers=senders, pause_keys={"telegram": prefix + PAUSE_KEY},
    )  # fmt: skip


def take_receipts(app: App, channels: list[Channel]) -> None:
    """Viber's delivered/seen/failed receipts update the campaign rows (after any hook already there)."""
    from bot.channels.viber import ViberChannel
    from bot.channels.viber.channel import Receipt

    receipts = CampaignReceipts(app.deps.sessionmaker)
    for channel in channels:
        if not isinstance(channel, ViberChannel):
            continue
        earlier = channel.on_receipt

        async def hook(receipt: Receipt, earlier: ReceiptHook | None = earlier) -> None:
            if earlier is not None:
                await earlier(receipt)
            await receipts.record("viber", receipt.event, receipt.message_token, receipt.timestamp)

        channel.on_receipt = hook


class Health:
    """`/healthz` and `/metrics`: 200 only when Redis and the database answer; the body says which part is down."""

    def __init__(self, app: App, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def healthz(self, request: web.Request) -> web.Response:
        redis_ok, db_ok = await asyncio.gather(self._redis(), self._database())
        body = {"redis": "ok" if redis_ok else "down", "database": "ok" if db_ok else "down"}
        return web.json_response(body, status=200 if redis_ok and db_ok else 503, dumps=json.dumps)

    async def _redis(self) -> bool:
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT):
                return bool(await self.app.redis.ping())
        except Exception:
            return False

    async def _database(self) -> bool:
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT), self.app.db_engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    async def metrics_page(self, request: web.Request) -> web.Response:
        body, content_type = self.metrics.render()
        response = web.Response(body=body)
        response.headers["Content-Type"] = content_type
        return response


def build_web_app(app: App, metrics: Metrics, channels: list[Channel]) -> web.Application:
    health = Health(app, metrics)
    web_app = web.Application(client_max_size=MAX_BODY)
    web_app.router.add_get("/healthz", health.healthz)
    web_app.router.add_get("/metrics", health.metrics_page)
    for channel in channels:
        web_app.add_routes(channel.routes())
    return web_app


async def _cleanup(runner: web.AppRunner) -> None:
    """Stop listening and wait for the requests in progress; safe to call twice."""
    if runner.server is not None:
        await runner.cleanup()


def settle_heap() -> None:
    """Take what start-up built out of the garbage collector's sight, once, before the process starts serving.

    The app, aiogram, SQLAlchemy's mappers and the translation catalogs are hundreds of thousands of objects that
    live as long as the process; every full collection walks them all — about 0.2 s here, during which nothing is
    sent or answered (a broadcast at 1000 messages/s loses two hundred, a webhook answer waits). Frozen, they are
    never walked again; what is allocated afterwards is collected as usual.
    """
    gc.collect()
    gc.freeze()


async def serve(settings: Settings) -> int:
    if settings.redis.url is None:
        log.warning("REDIS_URL is not set: sessions, dedupe and rate limits live in this process only; "
                    "never run several processes like this")  # fmt: skip
    app = build_app(settings)
    metrics = Metrics()
    watch_guards(app, metrics)
    try:
        channels = build_channels(app, metrics)
        if not channels:
            raise ConfigError("configuration error: no channel configured: set TELEGRAM_BOT_TOKEN or VIBER_AUTH_TOKEN")
        runner = web.AppRunner(
            build_web_app(app, metrics, channels), access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, settings.http.host, settings.http.port)
            await site.start()
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
            for channel in channels:
                await channel.start()
            settle_heap()
            workers = start_workers(app, metrics, channels)
            log.info(
                "mila is running",
                extra={"host": settings.http.host, "port": settings.http.port,
                       "channels": ",".join(c.name for c in channels), "profile": settings.bot.profile},
            )  # fmt: skip
            await stop.wait()
            log.info("stopping: finishing the updates in progress")
            # Polling stops taking updates while the HTTP server stops listening and waits for webhook requests.
            await asyncio.gather(*(channel.stop() for channel in channels), _cleanup(runner))
            for worker in workers:
                worker.cancel()
            for worker in workers:
                with contextlib.suppress(asyncio.CancelledError):
                    await worker
        finally:
            await _cleanup(runner)
            for channel in channels:
                await channel.close()
    finally:
        await app.close()
    log.info("stopped")
    return 0
