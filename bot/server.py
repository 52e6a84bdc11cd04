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
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING

from aiohttp import web
from sqlalchemy import text

from bot import backlog
from bot.app import App, build_app
from bot.channels.base import Channel
from bot.channels.telegram.checks import check_telegram
from bot.channels.viber.checks import check_viber
from bot.checks.local import check_listeners, check_security, schema_finding
from bot.checks.remote import check_provisioning, check_sms, check_smtp
from bot.config import ConfigError, Settings
from bot.core.outbound import pause_key
from bot.core.push import Pusher
from bot.health import Finding, Level, Parts, error, ok, worst
from bot.metrics import Metrics
from bot.services.attachments import fetchers_for
from bot.services.campaigns.receipts import CampaignReceipts
from bot.services.campaigns.worker import CampaignWorker
from bot.services.mail import MailWorker
from bot.services.outbox import OutboxWorker
from bot.services.support.worker import SupportWorker
from bot.workers import Supervisor, WorkerFactory

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
    metrics.watch(app.deps.guard_events)


def pushers(channels: list[Channel]) -> dict[str, Pusher]:
    """The running channels that can message a user outside a turn, by channel name (a `UserRef.channel`)."""
    return {channel.name: channel for channel in channels if isinstance(channel, Pusher)}


def start_workers(app: App, metrics: Metrics, channels: list[Channel], supervisor: Supervisor, parts: Parts) -> None:
    """Background workers of this process, each kept alive by the supervisor: the support relay (when
    `SUPPORT_CHAT_ID` is set and Telegram runs), the order outbox (when `PROVISIONING_URL` is set), the complaint
    e-mails (when `SMTP_URL` is set), the campaign worker (tariff news, unless `BROADCAST_WORKER=false`), which also
    takes Viber's receipts of its messages, and the eraser of messages shown once (with Telegram).

    A worker is a coroutine that runs until cancelled and must tolerate other processes running the same worker
    (take work with Redis locks or `SELECT … FOR UPDATE SKIP LOCKED`; on SQLite run one process). Workers that
    message users get `pushers(channels)`. The outbox and mail workers wait while their part's start-up check
    fails, checking again every `MILA_RECHECK_SECONDS`, so a refused sender or a wrong path burns no attempts.
    """
    recheck = app.settings.health.recheck_seconds
    support = app.deps.support
    desk = next((getattr(c, "desk", None) for c in channels if getattr(c, "desk", None) is not None), None)
    if support.enabled and desk is not None:
        support.pushers.update(pushers(channels))
        relay = SupportWorker(support, desk, recheck_seconds=recheck, on_desk=desk_reporter(parts))
        relay.on_success = supervisor.heartbeat("desk relay")
        supervisor.start("desk relay", relay.run_forever)
    if app.settings.provisioning.url:
        outbox = OutboxWorker(app.deps.sessionmaker, app.settings.provisioning)
        outbox.on_success = supervisor.heartbeat("outbox")
        check_outbox = partial(check_provisioning, app.settings.provisioning, probe=app.settings.health.probes)
        supervisor.start("outbox", gated(parts, "provisioning", check_outbox, outbox.run_forever, recheck))
    if app.settings.mail.smtp_url is not None:
        mail = MailWorker(app.deps.sessionmaker, app.settings.mail, fetchers=fetchers_for(app.settings))
        mail.on_success = supervisor.heartbeat("mail")
        supervisor.start(
            "mail", gated(parts, "mail", partial(check_smtp, app.settings.mail), mail.run_forever, recheck)
        )
    senders = pushers(channels)
    if app.settings.broadcast.enabled and senders:
        campaigns = campaign_worker(app, senders)
        campaigns.on_success = supervisor.heartbeat("campaigns")
        supervisor.start("campaigns", campaigns.run_forever)
        take_receipts(app, channels)
    for channel in channels:
        eraser = getattr(channel, "eraser", None)
        if eraser is not None:
            eraser.on_success = supervisor.heartbeat("eraser")
            supervisor.start("eraser", eraser.run, graceful=True)  # a deletion is never cut off half way


def gated(
    parts: Parts, part: str, check: Callable[[], Awaitable[list[Finding]]], run: WorkerFactory, every: float
) -> WorkerFactory:
    """The worker `run`, started once `part` is usable: while its check fails it waits, checking every `every`."""

    async def worker(stop: asyncio.Event) -> None:
        while not parts.usable(part):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
            if stop.is_set():
                return
            parts.report(part, await check())
        await run(stop)

    return worker


def desk_reporter(parts: Parts) -> Callable[[int, Finding], None]:
    """The desk relay's findings about each group, as the part "desk" of /healthz (down while any group is)."""
    latest: dict[int, Finding] = {}

    def report(group: int, finding: Finding) -> None:
        latest[group] = finding
        parts.report("desk", latest.values())

    return report


def campaign_worker(app: App, senders: dict[str, Pusher]) -> CampaignWorker:
    prefix = app.settings.redis.prefix
    profile = app.deps.profile
    return CampaignWorker(
        app.deps.sessionmaker, app.redis, prefix=prefix, settings=app.settings.broadcast,
        profile=profile.id, timezone=profile.timezone, i18n=app.deps.i18n,
        default_language=profile.default_language, pushers=senders,
        pause_keys={name: pause_key(prefix, name) for name in ("telegram", "viber")},
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
    """`/healthz` and `/metrics`. /healthz answers 200 only when Redis and the database answer (503 names the one
    that is down); its body also shows each part of the service (an error: stopped, with the reason) and each
    background worker (alive, the time of its last success, its restarts)."""

    def __init__(
        self, app: App, metrics: Metrics, parts: Parts | None = None, supervisor: Supervisor | None = None
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.parts = parts or Parts(metrics)
        self.supervisor = supervisor or Supervisor(metrics)

    async def healthz(self, request: web.Request) -> web.Response:
        redis_ok, db_ok = await asyncio.gather(self._redis(), self._database())
        body: dict[str, object] = {"redis": "ok" if redis_ok else "down", "database": "ok" if db_ok else "down"}
        body["status"] = "degraded" if self.parts.degraded or self._dead_workers() else "ok"
        body["parts"] = self.parts.snapshot()
        body["workers"] = self.supervisor.snapshot()
        return web.json_response(body, status=200 if redis_ok and db_ok else 503, dumps=json.dumps)

    def _dead_workers(self) -> bool:
        return any(not worker["alive"] for worker in self.supervisor.snapshot().values())

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
        await backlog.refresh(self.app, self.metrics)
        body, content_type = self.metrics.render()
        response = web.Response(body=body)
        response.headers["Content-Type"] = content_type
        return response


def build_web_app(
    app: App,
    metrics: Metrics,
    channels: list[Channel],
    parts: Parts | None = None,
    supervisor: Supervisor | None = None,
) -> web.Application:
    health = Health(app, metrics, parts, supervisor)
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


async def start_checks(app: App, channels: list[Channel], parts: Parts) -> list[Channel]:
    """The checks of `mila doctor`, at start: the channels that may start (one whose token the platform refuses
    does not), and each part's state for /healthz (a stopped part is logged once, with what to do)."""
    settings = app.settings
    probe = settings.health.probes
    for finding in check_security(settings):
        _log(finding)
    parts.report("admin", check_listeners(settings))
    usable: list[Channel] = []
    telegram_down: str | None = None
    for channel in channels:
        bot = getattr(channel, "bot", None)
        client = getattr(channel, "client", None)
        if channel.name == "telegram" and bot is not None:
            # The webhook is left out: this process sets it (or deletes it, to poll) right after.
            findings = await check_telegram(settings.telegram, settings.support.groups, bot=bot, webhook=False)
        elif channel.name == "viber" and client is not None:
            findings = await check_viber(settings.viber, client=client, webhook=False)
        else:
            findings = []
        if parts.report(channel.name, findings):
            usable.append(channel)
        elif channel.name == "telegram":
            telegram_down = (worst(findings) or ok("telegram", "")).message
        desk = [f for f in findings if f.part == "desk"]
        if desk:
            parts.report("desk", desk)
            await _mark_groups(app, desk)
    support = app.deps.support
    if telegram_down is not None and support.enabled:
        stopped = error("desk", f"the Telegram channel is stopped ({telegram_down})", "see the telegram line")
        parts.report("desk", [stopped])
        for group in support.groups:
            await support.relay.mark_desk(group, stopped.message)
    remote = []
    if settings.mail.smtp_url is not None:
        remote.append(check_smtp(settings.mail))
    if settings.provisioning.url:
        remote.append(check_provisioning(settings.provisioning, probe=probe))
    if settings.identification.sms_gateway_url:
        remote.append(check_sms(settings.identification, probe=probe))
    for findings in await asyncio.gather(*remote):
        if findings:
            parts.report(findings[0].part, findings)
    return usable


async def _mark_groups(app: App, findings: list[Finding]) -> None:
    """What the start-up check found about each support group, for every process (and the desk relay)."""
    support = app.deps.support
    for group, finding in zip(support.groups, findings, strict=False):
        if finding.level is Level.ERROR:
            await support.relay.mark_desk(group, finding.message)
        elif finding.level is Level.OK:
            await support.relay.mark_desk(group, None)


def _log(finding: Finding) -> None:
    if finding.level is not Level.OK:
        log.warning(finding.message, extra={"part": finding.part, "advice": finding.advice})


def console_address(app: App) -> str:
    from bot.console.serve import console_url

    return console_url(app)


async def console_if_enabled(app: App, parts: Parts) -> web.AppRunner | None:
    """The web console on its own listener, unless ADMIN_ENABLED=false or its start-up check failed (it would
    share the webhook port); logged either way, with where it listens."""
    from bot.console.serve import console_url, start_console

    admin = app.settings.admin
    if not admin.enabled:
        log.info("the web console is off (ADMIN_ENABLED=false)", extra={"console": "off"})
        return None
    if not parts.usable("admin"):
        log.error("the web console is not started: see the admin part of /healthz", extra={"console": "off"})
        return None
    try:
        runner = await start_console(app)
    except OSError as exc:
        parts.report("admin", [error("admin", f"the web console cannot listen on {admin.host}:{admin.port}: {exc}",
                                     "give ADMIN_PORT a free port")])  # fmt: skip
        log.error("the web console is not started", extra={"console": "off", "reason": str(exc)})
        return None
    log.info("the web console is running", extra={"console": "on", "host": admin.host, "port": admin.port,
                                                  "url": console_url(app)})  # fmt: skip
    return runner


async def refuse_a_schema_not_ours(settings: Settings) -> None:
    """The code and the database schema must match: a database behind (or ahead of) this version stops start-up
    with what to do. A database that does not answer does not: /healthz says so until it does."""
    schema = await schema_finding(settings.database.url)
    if schema is not None and schema.level is Level.ERROR:
        raise ConfigError(f"configuration error: DATABASE_URL: {schema.message}: {schema.advice}")


async def serve(settings: Settings) -> int:
    if settings.redis.url is None:
        if settings.security.environment == "production":
            raise ConfigError("configuration error: REDIS_URL: required when MILA_ENV=production (sessions, locks "
                              "and queues must be shared and outlive a process)")  # fmt: skip
        log.warning("REDIS_URL is not set: sessions, dedupe and rate limits live in this process only; "
                    "never run several processes like this")  # fmt: skip
    await refuse_a_schema_not_ours(settings)
    app = build_app(settings)
    await asyncio.to_thread(lambda: app.engine.understanding)  # fitted before the first message, not at it
    metrics = Metrics()
    watch_guards(app, metrics)
    parts = Parts(metrics)
    supervisor = Supervisor(metrics)
    try:
        configured = build_channels(app, metrics)
        if not configured:
            raise ConfigError("configuration error: no channel configured: set TELEGRAM_BOT_TOKEN or VIBER_AUTH_TOKEN")
        channels = await start_checks(app, configured, parts)
        for channel in configured:
            if channel not in channels:
                await channel.close()
        if not channels:
            reasons = "; ".join(f"{part}: {state}" for part, state in parts.snapshot().items()
                                if part in ("telegram", "viber"))  # fmt: skip
            raise ConfigError(f"configuration error: no channel can start: {reasons}")
        runner = web.AppRunner(
            build_web_app(app, metrics, channels, parts, supervisor), access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT
        )
        await runner.setup()
        console: web.AppRunner | None = None
        try:
            site = web.TCPSite(runner, settings.http.host, settings.http.port)
            await site.start()
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
            console = await console_if_enabled(app, parts)
            for channel in channels:
                await channel.start()
            settle_heap()
            start_workers(app, metrics, channels, supervisor, parts)
            log.info(
                "mila is running",
                extra={"host": settings.http.host, "port": settings.http.port,
                       "channels": ",".join(c.name for c in channels), "profile": settings.bot.profile,
                       "workers": ",".join(supervisor.names),
                       "console": console_address(app) if console is not None else "off", "degraded": ",".join(
                           part for part, state in parts.snapshot().items() if state.startswith("error"))},
            )  # fmt: skip
            await stop.wait()
            log.info("stopping: finishing the updates in progress")
            # Polling stops taking updates while the HTTP server stops listening and waits for webhook requests.
            await asyncio.gather(*(channel.stop() for channel in channels), _cleanup(runner),
                                 *([_cleanup(console)] if console is not None else []))  # fmt: skip
            await supervisor.stop()
        finally:
            await _cleanup(runner)
            if console is not None:
                await _cleanup(console)
            for channel in channels:
                await channel.close()
    finally:
        await app.close()
    log.info("stopped")
    return 0
