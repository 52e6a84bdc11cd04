"""The Telegram channel of `mila run`: updates in (webhook or long polling), replies out, all through our engine.

aiogram is used for its Bot API client and types only. Its Dispatcher is not: every update goes through
`TelegramChannel.process`, which does what aiogram's defaults do not — dedupe on `update_id`, per-user ordering
(the engine's session lock), a non-2xx answer when an update was not processed, and a constant-time secret check.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import re
import secrets
import time
from collections.abc import Sequence
from typing import Any

from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import (
    AnswerCallbackQuery,
    DeleteWebhook,
    GetUpdates,
    SendDocument,
    SendMessage,
    SendPhoto,
    SetMyCommands,
    SetWebhook,
    TelegramMethod,
)
from aiogram.types import BotCommandScopeDefault, Message, Update
from aiohttp import web
from pydantic import ValidationError
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from bot.app import App
from bot.channels.base import UpdateNotProcessed
from bot.channels.telegram.checks import make_bot
from bot.channels.telegram.commands import TELEGRAM_LANGUAGES, localized_commands
from bot.channels.telegram.dedupe import Claim, UpdateDedupe
from bot.channels.telegram.desk import Desk
from bot.channels.telegram.eraser import Eraser
from bot.channels.telegram.render import Call, render
from bot.channels.telegram.sender import PAUSE_KEY, Blocked, GlobalPause, Sender
from bot.channels.telegram.updates import ALLOWED_UPDATES, CHANNEL, Parsed, parse
from bot.channels.webhook_body import parse_json, read_body
from bot.config import ConfigError
from bot.core.engine import pseudonym
from bot.core.incoming import UserRef
from bot.core.outbound import Outbound, RateLimiter
from bot.core.outbound.order import TurnGate
from bot.core.push import Delivery, PushResult
from bot.core.replies import Reply
from bot.core.session import DatabaseDown, SessionBusy, SessionStoreDown, TurnNotRun
from bot.db.uow import UnitOfWork
from bot.metrics import DUPLICATE, FAILED, HANDLED, IGNORED, REJECTED, Metrics
from bot.services.attachments import TelegramFiles
from bot.services.users import UserDirectory

log = logging.getLogger("mila.telegram")

WEBHOOK_PATH = "/webhook/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
_SECRET_FORMAT = re.compile(r"^[A-Za-z0-9_-]{1,256}$")

_POLLER_LEASE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]); return 1 end
return 0
"""
_POLLER_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def paid(call: Call) -> Call:
    """The same call with `allow_paid_broadcast`: Telegram then lets the bot send up to 1000 messages/s, for Stars."""
    if isinstance(call.method, SendMessage | SendPhoto | SendDocument):
        return Call(call.method.model_copy(update={"allow_paid_broadcast": True}), call.sends, call.fallback)
    return call


class TelegramChannel:
    name = CHANNEL

    def __init__(self, app: App, metrics: Metrics) -> None:
        settings = app.settings.telegram
        if settings.bot_token is None:
            raise ConfigError("configuration error: TELEGRAM_BOT_TOKEN: required for the Telegram channel")
        self.webhook_url = settings.webhook_url or None
        self.secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
        if self.webhook_url and not self.secret:
            raise ConfigError(
                "configuration error: TELEGRAM_WEBHOOK_SECRET: required when TELEGRAM_WEBHOOK_URL is set "
                "(without it anyone could post updates)"
            )
        if self.secret and not _SECRET_FORMAT.match(self.secret):
            raise ConfigError("configuration error: TELEGRAM_WEBHOOK_SECRET: 1–256 characters of A-Z a-z 0-9 _ -")
        self.app = app
        self.metrics = metrics
        self.poll_timeout = settings.poll_timeout
        self.bot = make_bot(settings)
        prefix = app.settings.redis.prefix
        self.dedupe = UpdateDedupe(app.redis, prefix)
        self.outbound = Outbound(
            app.redis, prefix, CHANNEL, rate=settings.send_rate / (1 + app.settings.broadcast.margin),
            chat_rate=settings.chat_rate, chat_burst=settings.chat_burst, pause_key=prefix + PAUSE_KEY,
            order_ttl_seconds=app.settings.bot.session_ttl_seconds,
        )  # fmt: skip
        self.sender = Sender(self.bot, GlobalPause(app.redis, prefix + PAUSE_KEY), self.outbound, metrics)
        self.eraser = Eraser(app.redis, prefix + "telegram:erase", self.sender)
        self._lease_key = prefix + "telegram:poller"
        self._lease_token = secrets.token_hex(8)
        self._lease = app.redis.register_script(_POLLER_LEASE)
        self._lease_release = app.redis.register_script(_POLLER_RELEASE)
        support = app.deps.support
        # The operators' support group(s): their updates go to the desk, never to the engine.
        files = TelegramFiles(settings.api_base, settings.bot_token.get_secret_value())
        self.desk = Desk(self.bot, self.sender, support, files) if support.enabled else None
        self._stopping = asyncio.Event()
        self._poller: asyncio.Task[None] | None = None
        self._poll_call: asyncio.Future[list[Update]] | None = None

    @property
    def mode(self) -> str:
        return "webhook" if self.webhook_url else "polling"

    # --- lifecycle ------------------------------------------------------------------------------------------------
    def routes(self) -> list[web.RouteDef]:
        routes = [web.post(WEBHOOK_PATH, self.webhook)] if self.webhook_url else []
        return routes + (self.desk.routes() if self.desk is not None else [])

    async def start(self) -> None:
        """A public support group refused, the command menu, then the webhook or the poller. The eraser
        (`self.eraser`) is a worker `mila run` supervises with the others."""
        if self.desk is not None:
            await self.desk.refuse_public_groups()
        await self._set_commands()
        if self.webhook_url:
            await self.sender.call(
                SetWebhook(url=self.webhook_url, secret_token=self.secret, allowed_updates=ALLOWED_UPDATES), None,
                paced=False,
            )  # fmt: skip
            log.info("telegram webhook set", extra={"mode": "webhook"})
        else:
            self._poller = asyncio.create_task(self._poll(), name="telegram-poller")
            log.info("telegram long polling", extra={"mode": "polling"})

    async def stop(self) -> None:
        self._stopping.set()
        if self._poll_call is not None and not self._poll_call.done():
            self._poll_call.cancel()  # only the wait for new updates: updates being handled are finished
        if self._poller is not None:
            await self._poller

    async def close(self) -> None:
        await self.outbound.close()
        await self.bot.session.close()

    async def _set_commands(self) -> None:
        """Best effort: a bot without a command menu still works, so a failure here does not stop start-up."""
        known = set(self.app.engine.router.commands)
        i18n = self.app.deps.i18n
        default = self.app.deps.profile.default_language
        calls: list[SetMyCommands] = [
            SetMyCommands(commands=localized_commands(i18n, default, known), scope=BotCommandScopeDefault())
        ]
        for tg_code, code in TELEGRAM_LANGUAGES.items():
            if code in i18n.codes:
                calls.append(
                    SetMyCommands(
                        commands=localized_commands(i18n, code, known), scope=BotCommandScopeDefault(),
                        language_code=tg_code,
                    )
                )  # fmt: skip
        for call in calls:
            try:
                await self.sender.call(call, None, paced=False)
            except (TelegramAPIError, Blocked) as exc:
                log.warning("setMyCommands failed", extra={"error": type(exc).__name__})
                self.metrics.errors.labels(CHANNEL, "commands").inc()

    # --- one update -------------------------------------------------------------------------------------------------
    async def process(self, update: Update, parsed: Parsed | None = None) -> str:
        """Handle one update exactly once; raises `UpdateNotProcessed` when it must come back later."""
        started = time.perf_counter()
        if self.desk is not None and self.desk.owns(update) is not None:
            return await self._process_desk(update)
        parsed = parsed or parse(update)
        if parsed is None:
            self.metrics.updates.labels(CHANNEL, IGNORED).inc()
            if update.callback_query is not None:
                await self._answer_callback(update.callback_query.id)  # even here, or the button keeps spinning
            return IGNORED
        if not await self._claim(update.update_id):
            return DUPLICATE
        incoming = parsed.incoming
        # The turn's place in the user's order is claimed inside the user's lock: the next turn finds it on its way.
        claims = self.outbound.order.claims(incoming.user.key)
        try:
            async with self.dedupe.held(update.update_id):
                replies = await self.app.engine.handle(incoming, numbered=claims)
        except TurnNotRun as exc:
            await self.dedupe.release(update.update_id)
            await claims.release()
            self._failed({SessionBusy: "busy", DatabaseDown: "database"}.get(type(exc), "redis"))
            raise UpdateNotProcessed(type(exc).__name__) from exc
        except BaseException:
            await self.dedupe.release(update.update_id)
            await claims.release()
            raise
        try:
            try:
                await self.dedupe.done(update.update_id)
            except SessionStoreDown:
                # The turn ran and is saved: its replies go out; the claim expires and a re-delivery is unlikely.
                log.warning("update not marked done: Redis unavailable", extra={"update_id": update.update_id})
            if parsed.callback_id is not None:
                await self._answer_callback(parsed.callback_id)
            edit = parsed.keyboard_message_id if parsed.callback_id is not None else None
            calls = render(replies, parsed.chat_id, edit_message_id=edit)
            await self.deliver(incoming.user, parsed.chat_id, calls, turn=replies.turn)
        finally:
            await claims.done()  # nothing left to do if sent; never left to hold the user's next turn
        self.metrics.updates.labels(CHANNEL, HANDLED).inc()
        self.metrics.latency.labels(CHANNEL).observe(time.perf_counter() - started)
        return HANDLED

    async def _claim(self, update_id: int) -> bool:
        """Whether this process handles the update now; False for one handled before (counted as a duplicate).
        Raises `UpdateNotProcessed` when that cannot be told (Redis down) or another process has it right now."""
        try:
            claim = await self.dedupe.claim(update_id)
        except SessionStoreDown as exc:
            self._failed("redis")
            raise UpdateNotProcessed("Redis is not answering") from exc
        if claim is Claim.DONE:
            self.metrics.updates.labels(CHANNEL, DUPLICATE).inc()
            return False
        if claim is Claim.IN_PROGRESS:
            self._failed("in_progress")
            raise UpdateNotProcessed("the update is being handled elsewhere")
        return True

    async def _process_desk(self, update: Update) -> str:
        """An update from a support group: once (the same dedupe as users' updates), handled by the desk."""
        assert self.desk is not None
        if not await self._claim(update.update_id):
            return DUPLICATE
        try:
            await self.desk.handle(update)
        except (SQLAlchemyError, RedisError, OSError) as exc:
            await self.dedupe.release(update.update_id)
            self._failed("desk")
            raise UpdateNotProcessed(type(exc).__name__) from exc
        except BaseException:
            await self.dedupe.release(update.update_id)
            raise
        with contextlib.suppress(SessionStoreDown):
            await self.dedupe.done(update.update_id)
        self.metrics.updates.labels(CHANNEL, HANDLED).inc()
        return HANDLED

    def _failed(self, kind: str) -> None:
        self.metrics.updates.labels(CHANNEL, FAILED).inc()
        self.metrics.errors.labels(CHANNEL, kind).inc()

    async def _answer_callback(self, callback_id: str) -> None:
        """Always answered — also for a stale or forged payload — or the user's button keeps spinning."""
        try:
            await self.sender.call(AnswerCallbackQuery(callback_query_id=callback_id), None, paced=False)
        except (TelegramAPIError, Blocked) as exc:
            log.info("callback query not answered", extra={"error": type(exc).__name__})

    async def deliver(
        self,
        user: UserRef,
        chat_id: int,
        calls: list[Call],
        *,
        retry_unanswered: bool = True,
        turn: int | None = None,
        bulk: RateLimiter | None = None,
    ) -> PushResult:
        """Send a turn's replies in order, after those of the user's turn before (`turn`, in whichever process);
        stop at the first call that cannot be delivered (order matters)."""
        async with self.outbound.order.turn(user.key, turn) as gate:
            return await self._deliver(user, chat_id, calls, gate, retry_unanswered=retry_unanswered, bulk=bulk)

    async def _deliver(
        self,
        user: UserRef,
        chat_id: int,
        calls: list[Call],
        gate: TurnGate,
        *,
        retry_unanswered: bool,
        bulk: RateLimiter | None,
    ) -> PushResult:
        # Each message's place — a moment the chat's pace allows that is a slot of the global rate — is taken in
        # order, in the background, while the ones before are being sent; once all are taken the user's next turn
        # may take its own. A turn takes its places once the user's previous turn was sent: a place taken earlier
        # would pass while that turn waits (for a slot it lost to a busy event loop, say) and be thrown away, and
        # every later turn of the user after it; so when many users wait, each gets a turn in every round of the
        # queue, and a message that misses its slot delays only itself.
        chat = str(chat_id)
        loop = asyncio.get_running_loop()
        ready: list[asyncio.Future[float] | None] = [
            loop.create_future() if call.sends and not (bulk is not None and index == 0) else None
            for index, call in enumerate(calls)
        ]  # a chat action takes no slot; a broadcast's first message has the one its caller took

        async def reserve_all() -> None:
            try:
                await gate.previous_sent()
                for future in ready:
                    if future is not None:
                        future.set_result(await self.outbound.reserve(chat))
            finally:
                for future in ready:  # never left waiting: a place that could not be taken is "now"
                    if future is not None and not future.done():
                        future.set_result(time.monotonic())
                await gate.reserved()

        reserving = asyncio.create_task(reserve_all())
        try:
            return await self._send_calls(user, chat_id, calls, ready, gate, retry_unanswered, bulk)
        finally:
            if not reserving.done():
                reserving.cancel()
            for future in ready:
                if future is not None and not future.done():
                    future.cancel()

    async def _send_calls(
        self,
        user: UserRef,
        chat_id: int,
        calls: list[Call],
        ready: list[asyncio.Future[float] | None],
        gate: TurnGate,
        retry_unanswered: bool,
        bulk: RateLimiter | None,
    ) -> PushResult:
        sent: list[str] = []
        for call, slot in zip(calls, ready, strict=True):
            try:
                result = await self.sender.call(
                    call.method, chat_id, paced=call.sends, retry_unanswered=retry_unanswered, bulk=bulk, ready=slot,
                    in_order=gate.previous_sent,
                )  # fmt: skip
                bulk = None  # the broadcast's slot was the first message's; any more took a reply's
            except Blocked:
                await self.mark_unreachable(user)
                return PushResult(Delivery.UNREACHABLE, tuple(sent))
            except TelegramBadRequest as exc:
                if call.fallback is None:
                    self._send_error(user, exc, call.method)
                    continue
                if "not modified" in exc.message:
                    continue  # the message already shows exactly this
                try:
                    result = await self.sender.call(call.fallback, chat_id, paced=True)
                except Blocked:
                    await self.mark_unreachable(user)
                    return PushResult(Delivery.UNREACHABLE, tuple(sent))
                except TelegramAPIError as fallback_exc:
                    self._send_error(user, fallback_exc, call.fallback)
                    return PushResult(Delivery.FAILED, tuple(sent))
            except TelegramAPIError as exc:
                self._send_error(user, exc, call.method)
                return PushResult(Delivery.FAILED, tuple(sent))
            if isinstance(result, Message):
                sent.append(str(result.message_id))
                if call.erase_after is not None:
                    await self.eraser.schedule(chat_id, result.message_id, call.erase_after)
        return PushResult(Delivery.SENT, tuple(sent))

    async def push(
        self,
        user: UserRef,
        replies: Sequence[Reply],
        *,
        purpose: str,
        paid_broadcast: bool = False,
        bulk: RateLimiter | None = None,
    ) -> PushResult:
        """A message outside a turn (see `Pusher`). A 429 is waited out inside, shared by every process."""
        try:
            chat_id = int(user.external_id)
        except ValueError:
            log.error("push to a malformed Telegram id refused", extra={"purpose": purpose})
            return PushResult(Delivery.FAILED)
        calls = render(list(replies), chat_id)
        if paid_broadcast:
            calls = [paid(call) for call in calls]
        try:
            return await self.deliver(user, chat_id, calls, retry_unanswered=False, bulk=bulk)
        except TelegramRetryAfter as exc:  # still limited after the sender's own retries
            return PushResult(Delivery.RETRY_LATER, retry_after=float(exc.retry_after))
        except (TelegramNetworkError, TelegramServerError):
            log.warning("push unanswered: Telegram may or may not have taken it", extra={"purpose": purpose})
            return PushResult(Delivery.UNKNOWN)

    def _send_error(self, user: UserRef, exc: TelegramAPIError, method: TelegramMethod[Any]) -> None:
        self.metrics.errors.labels(CHANNEL, "send").inc()
        log.error(
            "reply not delivered",
            extra={"user": pseudonym(user.key), "method": method.__api_method__, "error": type(exc).__name__,
                   "description": exc.message},
        )  # fmt: skip

    async def mark_unreachable(self, user: UserRef) -> None:
        """403: the user blocked the bot. Remembered in their profile; nothing is sent to them until they return."""
        self.metrics.errors.labels(CHANNEL, "blocked").inc()
        log.info("user blocked the bot", extra={"user": pseudonym(user.key)})
        try:
            async with UnitOfWork(self.app.deps.sessionmaker) as uow:
                row = await UserDirectory(uow.session).ensure(user)
                row.unreachable = True
        except (SQLAlchemyError, OSError) as exc:
            log.error("unreachable flag not saved", extra={"user": pseudonym(user.key), "error": type(exc).__name__})

    # --- webhook ----------------------------------------------------------------------------------------------------
    async def webhook(self, request: web.Request) -> web.Response:
        """Telegram's POST. 401 without the right secret (nothing runs); non-2xx when the update must come back."""
        given = request.headers.get(SECRET_HEADER, "")
        # aiohttp keeps undecodable header bytes as surrogates: encoded back the same way, they compare unequal.
        if not hmac.compare_digest(given.encode("utf-8", "surrogateescape"), self.secret.encode()):
            self.metrics.updates.labels(CHANNEL, REJECTED).inc()
            return web.Response(status=401, text="wrong secret token")
        body = await read_body(request)
        if body is None:
            self.metrics.updates.labels(CHANNEL, REJECTED).inc()
            return web.Response(status=413, text="request body too large")
        data = parse_json(body)
        if data is None:
            self.metrics.updates.labels(CHANNEL, REJECTED).inc()
            return web.Response(status=400, text="not JSON")
        try:
            update = Update.model_validate(data, context={"bot": self.bot})
        except ValidationError:
            self.metrics.updates.labels(CHANNEL, REJECTED).inc()
            if isinstance(data, dict) and isinstance(data.get("update_id"), int):
                # From Telegram (the secret matched) but unreadable by this aiogram: a retry would fail the same way.
                log.error("unreadable update skipped", extra={"update_id": data["update_id"]})
                return web.Response(status=200)
            return web.Response(status=400, text="not a Telegram update")
        try:
            await self.process(update)
        except UpdateNotProcessed as exc:
            return web.Response(status=503, text=f"not processed: {exc}", headers={"Retry-After": "1"})
        return web.Response(status=200)

    # --- long polling -----------------------------------------------------------------------------------------------
    async def _poll(self) -> None:
        """One process polls (a Redis lease); the others stand by. A batch is confirmed only once it is handled."""
        offset: int | None = None
        holding = False
        try:
            while not self._stopping.is_set():
                if not await self._hold_lease():
                    holding = False
                    await self._pause(5)
                    continue
                if not holding:
                    try:
                        await self.sender.call(DeleteWebhook(drop_pending_updates=False), None, paced=False)
                    except (TelegramAPIError, Blocked) as exc:
                        log.warning("deleteWebhook failed", extra={"error": type(exc).__name__})
                        await self._pause(2)
                        continue
                    holding = True
                try:
                    updates = await self._get_updates(offset)
                except asyncio.CancelledError:
                    if self._stopping.is_set():
                        break
                    raise
                except TelegramConflictError:
                    log.warning("another client is polling this bot")
                    await self._pause(5)
                    continue
                except ClientDecodeError as exc:
                    # aiogram could not read one of the updates (a type newer than this aiogram): take the others.
                    updates = self._readable_updates(exc)
                except Exception as exc:
                    log.warning("getUpdates failed", extra={"error": type(exc).__name__})
                    self.metrics.errors.labels(CHANNEL, "poll").inc()
                    await self._pause(2)
                    continue
                if not updates:
                    continue
                failed = await self._handle_batch(updates)
                offset = failed if failed is not None else max(u.update_id for u in updates) + 1
                if failed is not None:
                    await self._pause(1)
            if offset is not None:
                # Confirm what was handled, so a restart does not fetch it again (dedupe would skip it anyway).
                with contextlib.suppress(TelegramAPIError, asyncio.TimeoutError):
                    await asyncio.wait_for(self.bot(GetUpdates(offset=offset, limit=1, timeout=0)), 5)
        finally:
            if holding:
                with contextlib.suppress(RedisError):
                    await self._lease_release(keys=[self._lease_key], args=[self._lease_token])

    def _readable_updates(self, exc: ClientDecodeError) -> list[Update]:
        """The updates of an unreadable batch one by one; an unreadable one is skipped for good (logged)."""
        batch = exc.data.get("result") if isinstance(exc.data, dict) else None
        if not isinstance(batch, list):
            raise exc
        updates: list[Update] = []
        for raw in batch:
            try:
                updates.append(Update.model_validate(raw, context={"bot": self.bot}))
            except ValidationError:
                update_id = raw.get("update_id") if isinstance(raw, dict) else None
                if not isinstance(update_id, int):
                    raise exc from None
                log.error("unreadable update skipped", extra={"update_id": update_id})
                self.metrics.updates.labels(CHANNEL, REJECTED).inc()
                # A stand-in with the same id, so the offset moves past it.
                updates.append(Update(update_id=update_id))
        return updates

    async def _get_updates(self, offset: int | None) -> list[Update]:
        call = GetUpdates(offset=offset, timeout=self.poll_timeout, allowed_updates=ALLOWED_UPDATES)
        self._poll_call = asyncio.ensure_future(self.bot(call, request_timeout=self.poll_timeout + 15))
        try:
            return await self._poll_call
        finally:
            self._poll_call = None

    async def _hold_lease(self) -> bool:
        try:
            return bool(await self._lease(keys=[self._lease_key], args=[self._lease_token, 60_000]))
        except RedisError:
            log.warning("poller lease unavailable: Redis not answering")
            return False

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _handle_batch(self, updates: list[Update]) -> int | None:
        """Chats in parallel, each chat's updates in order; returns the first update id that must come back."""
        chats: dict[object, list[tuple[Update, Parsed | None]]] = {}
        for update in updates:
            group = self.desk.owns(update) if self.desk is not None else None
            parsed = parse(update) if group is None else None
            # A support group's updates are handled in order too (an operator's messages to a user).
            key: object = parsed.chat_id if parsed is not None else (group or ("update", update.update_id))
            chats.setdefault(key, []).append((update, parsed))

        async def one_chat(items: list[tuple[Update, Parsed | None]]) -> int | None:
            for update, parsed in items:
                try:
                    await self.process(update, parsed)
                except UpdateNotProcessed:
                    return update.update_id  # this chat's later updates wait for it
                except Exception:
                    # A bug, not a passing outage: retrying would fail the same way, so it is logged and skipped.
                    log.exception("update skipped after an unexpected error", extra={"update_id": update.update_id})
                    self.metrics.errors.labels(CHANNEL, "unexpected").inc()
            return None

        failed = [f for f in await asyncio.gather(*(one_chat(items) for items in chats.values())) if f is not None]
        return min(failed) if failed else None
