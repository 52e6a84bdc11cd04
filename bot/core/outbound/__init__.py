"""One outbound path for every message the bot sends on a channel.

What a channel's sender asks of it, message by message (`Outbound`):

- the turn's place in the user's order (`TurnOrder`): a turn's replies wait until those of the user's turn before
  are out, in whichever process, so one user's answers never interleave;
- the chat's pace (`ChatPace`, in Redis): about one message a second per chat on Telegram, short bursts allowed;
- a slot of the bot's global rate (`RateLimiter`, in Redis), shared with the broadcasts: a reply takes it at
  `REPLY` priority, so a running campaign (`BULK`) yields while users are waiting;
- after a 429 the platform's pause is written where every limiter reads it; the send then takes a new slot, so
  the sends that waited out the pause leave at the rate, one by one, never all at once.

Channels keep what is their own (the SDK, the error mapping); the limits and the order are here, once.
"""

from __future__ import annotations

import asyncio
import logging
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.core.outbound.limiter import BULK, REPLY, RateLimiter
from bot.core.outbound.order import TurnOrder
from bot.core.outbound.pace import ChatPace
from bot.core.outbound.pause import GlobalPause, pause_key

__all__ = ["BULK", "REPLY", "ChatPace", "GlobalPause", "Outbound", "RateLimiter", "TurnOrder", "pause_key", "rate_key"]

log = logging.getLogger("mila.outbound")


def rate_key(prefix: str, channel: str) -> str:
    """The Redis key of a channel's global schedule: the same for replies and broadcasts, in every process."""
    return f"{prefix}outbound:{channel}:rate"


class Outbound:
    def __init__(
        self,
        redis: Redis,
        prefix: str,
        channel: str,
        *,
        rate: float,
        chat_rate: float | None,
        chat_burst: int = 1,
        pause_key: str | None = None,
        order_ttl_seconds: int = 24 * 3600,
        gap_seconds: float = 1.0,
    ) -> None:
        self.channel = channel
        self.limiter = RateLimiter(
            redis, rate_key(prefix, channel), rate, pause_key=pause_key, priority=REPLY, gap_seconds=gap_seconds
        )
        # Messages outside a turn that are not broadcasts (an operator's answer) go as replies; broadcasts bring
        # their own BULK limiter on the same key (the campaign worker's).
        self.pace = ChatPace(redis, f"{prefix}outbound:{channel}:chat:", chat_rate, chat_burst) if chat_rate else None
        self.order = TurnOrder(redis, f"{prefix}outbound:{channel}:order:", ttl_seconds=order_ttl_seconds)

    async def reserve(self, chat: str | None) -> float:
        """A moment this chat may get its next message that is also a slot of the global rate (`time.monotonic()`),
        taken now. The chat's pace is counted from the slot, when the message really goes: a pace counted from an
        earlier moment would let a queue of slots bunch the chat's messages together. The slot is the first free
        one at or after the chat's moment (and after the chat's previous message); the ones passed over stay free
        for other chats. Without Redis: now."""
        try:
            if chat is None or self.pace is None:
                return await self.limiter.reserve()
            slot = await self.limiter.reserve_after(await self.pace.earliest(chat))
            await self.pace.commit(chat, slot)
            return slot
        except RedisError:
            log.warning("sending without the shared limits: Redis unavailable", extra={"channel": self.channel})
            return time.monotonic()

    async def wait_for(self, chat: str | None, slot: float) -> None:
        """Sleep until `slot`; one that has passed by more than a few milliseconds (a busy event loop) is replaced
        by a new one, so no message ever goes in another's slot."""
        while True:
            delay = slot - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if time.monotonic() - slot <= self.limiter.late_seconds:
                return
            self.limiter.dropped += 1
            slot = await self.reserve(chat)

    async def before_send(self, chat: str | None) -> None:
        """Wait for the chat's pace and a slot of the global rate, taken now."""
        await self.wait_for(chat, await self.reserve(chat))

    def rate_limited(self) -> None:
        """The platform said 429: slots reserved before the pause was known are not used."""
        self.limiter.forget()

    async def close(self) -> None:
        await self.order.close()
