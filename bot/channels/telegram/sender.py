"""Sending to the Bot API within Telegram's limits, shared by every `mila run` process.

- 429 `retry_after`: Telegram's limit is per bot, not per process, so the pause is written to Redis and every
  process sending for this bot waits it out; then the same call is retried (aiogram never retries by itself).
- Every message takes the chat's pace and a slot of the bot's global rate from the shared outbound path
  (`bot.core.outbound`): replies before broadcasts; after a 429 the retry takes a new slot, so the sends that
  waited out the pause leave at the rate instead of all at once.
- 403 (the user blocked the bot): `Blocked` is raised, the caller marks the user unreachable; never retried.
- Network errors and 5xx: a few retries with back-off, then the call is given up and logged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramForbiddenError, TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageText,
    GetUpdates,
    SendChatAction,
    SendDocument,
    SendMessage,
    SendPhoto,
    TelegramMethod,
)
from aiogram.methods.base import Response
from redis.exceptions import RedisError

from bot.core.outbound import GlobalPause, Outbound, RateLimiter, pause_key
from bot.metrics import Metrics

__all__ = ["CHANNEL", "PAUSE_KEY", "Blocked", "GlobalPause", "Sender"]

log = logging.getLogger("mila.telegram.send")

CHANNEL = "telegram"
PAUSE_KEY = pause_key("", CHANNEL)  # after the Redis prefix: "send nothing before T", read by broadcast workers too


# aiogram parses every answer as `Response[method.__returning__]`; pydantic caches such parametrized models only
# weakly, and `Response[Message | bool]` (editMessageText) is collected and rebuilt over and over — about a sixth
# of the CPU time of a menu press. Holding them here keeps pydantic's cache warm.
_RESPONSE_MODELS = [
    Response[method.__returning__]  # type: ignore[name-defined]
    for method in (
        SendMessage,
        EditMessageText,
        AnswerCallbackQuery,
        SendChatAction,
        SendDocument,
        SendPhoto,
        GetUpdates,
    )
]


class Blocked(Exception):
    """The user blocked the bot (403): nothing more can be sent to them."""


class Sender:
    def __init__(
        self,
        bot: Bot,
        pause: GlobalPause,
        outbound: Outbound,
        metrics: Metrics,
        *,
        max_rate_limit_retries: int = 20,
        network_retries: int = 3,
    ) -> None:
        self.bot = bot
        self.pause = pause
        self.outbound = outbound
        self.metrics = metrics
        self.max_rate_limit_retries = max_rate_limit_retries
        self.network_retries = network_retries

    async def call(
        self,
        method: TelegramMethod[Any],
        chat_id: int | None,
        *,
        paced: bool = True,
        retry_unanswered: bool = True,
        bulk: RateLimiter | None = None,
        ready: Awaitable[float] | None = None,
        in_order: Callable[[], Awaitable[None]] | None = None,
    ) -> Any:
        """Make one Bot API call within the limits; raises `Blocked`, or the API's error after the retries.

        `paced`: a message to a chat — it takes the chat's pace and a slot of the global rate (a reply's, or from
        `bulk`, the broadcast's limiter, whose slot the caller took already for the first attempt).
        `ready`: the chat's pace and the slot were taken ahead (a turn's messages queue for the rate together);
        `in_order`: awaited before the first attempt (the user's previous turn sent).
        `retry_unanswered=False`: a network error or a 5xx is raised at once, since Telegram may have taken the
        message (a broadcast sends at most once)."""
        message = paced and chat_id is not None
        chat = str(chat_id)
        slot: float | None = None
        # The user's previous turn is waited for before this message's slot, not after it: its messages have
        # earlier slots, so it is out long before this one's comes, and a wait (a round trip to Redis) after the
        # slot would make the slot late — thrown away, and the message put at the end of the queue.
        if in_order is not None:
            await in_order()
        if message and ready is not None:
            slot = await ready
            await self.outbound.wait_for(chat, slot)  # a slot that passed meanwhile is replaced by a new one
        elif message and bulk is None:
            await self.outbound.before_send(chat)
        # A broadcast's message goes the moment its slot comes (one a user, and a campaign yields while replies
        # are queued): a round trip for the chat's pace between the slot and the send would make it late.
        rate_limited = 0
        failures = 0
        while True:
            wait = await self.pause.remaining()
            if wait > 0:
                await asyncio.sleep(wait)
                if message:
                    # A slot taken before the pause is worthless: a new one, taken after it, so the sends that
                    # waited leave one by one at the rate instead of all at once (no herd).
                    await self._new_slot(chat, bulk)
            try:
                result = await self.bot(method)
            except TelegramRetryAfter as exc:
                rate_limited += 1
                self.metrics.rate_limit_waits.labels(CHANNEL).inc()
                log.warning(
                    "rate limited by Telegram", extra={"retry_after": exc.retry_after, "method": method.__api_method__}
                )
                if rate_limited > self.max_rate_limit_retries:
                    raise
                await self.pause.pause_for(exc.retry_after)
                continue  # waited out above, then a new slot
            except TelegramForbiddenError as exc:
                raise Blocked(str(exc)) from exc
            except (TelegramNetworkError, TelegramServerError):
                failures += 1
                if failures > self.network_retries or not retry_unanswered:
                    raise
                await asyncio.sleep(0.5 * 2**failures)
                continue
            self.metrics.sent.labels(CHANNEL, method.__api_method__).inc()
            return result

    async def _new_slot(self, chat: str, bulk: RateLimiter | None) -> None:
        self.outbound.rate_limited()
        if bulk is not None:
            bulk.forget()
            try:
                await bulk.acquire()
            except RedisError:
                log.warning("sending without the shared limits: Redis unavailable")
        else:
            await self.outbound.before_send(chat)
