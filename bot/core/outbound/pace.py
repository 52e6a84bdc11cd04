"""The per-chat pace, shared by every process through Redis: `burst` messages at once, then `rate` a second.

Telegram allows about one message a second in one chat, with short bursts. A user's replies may be sent by any
process (whichever handled the turn), so the pace lives in Redis: a GCRA with a burst tolerance in one script
(the same arithmetic as a token bucket of `burst` tokens refilled at `rate`), in Redis' own clock.
"""

from __future__ import annotations

import asyncio
import time

from redis.asyncio import Redis

_PEEK = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now)
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
return {string.format('%.0f', math.max(tat - tonumber(ARGV[1]), now) - now),
        string.format('%.0f', math.max(last + 1, now) - now)}
"""

_COMMIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local at = now + tonumber(ARGV[2])
local after = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), at) + tonumber(ARGV[1])
local px = math.floor((after - now) / 1000) + 1000
redis.call('SET', KEYS[1], string.format('%.0f', after), 'PX', px)
redis.call('SET', KEYS[2], string.format('%.0f', math.max(tonumber(redis.call('GET', KEYS[2]) or '0'), at)), 'PX', px)
return 1
"""

_PACE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval, tolerance = tonumber(ARGV[1]), tonumber(ARGV[2])
local tat = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now)
local at = math.max(tat - tolerance, now)
local after = math.max(tat, at) + interval
redis.call('SET', KEYS[1], string.format('%.0f', after), 'PX', math.floor((after - now) / 1000) + 1000)
return string.format('%.0f', at - now)
"""


class ChatPace:
    """`await pace.wait(chat)` returns when one more message may be sent to that chat."""

    def __init__(self, redis: Redis, prefix: str, rate: float, burst: int) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.prefix = prefix
        self.interval_us = round(1_000_000 / rate)
        self.tolerance_us = self.interval_us * (burst - 1)
        self._pace = redis.register_script(_PACE)
        self._peek = redis.register_script(_PEEK)
        self._commit = redis.register_script(_COMMIT)

    async def earliest(self, chat: str) -> float:
        """The chat's next moment (`time.monotonic()`), not taken yet: `commit` takes it at the moment chosen. Never
        before the moment of the chat's last message taken, so a message cannot be given an earlier moment than the
        one before it (whichever process took that one)."""
        pace, after_last = await self._peek(
            keys=[self.prefix + chat, self.prefix + chat + ":last"], args=[self.tolerance_us]
        )
        now = time.monotonic()
        return max(now + int(pace) / 1_000_000, now + int(after_last) / 1_000_000)

    async def commit(self, chat: str, at: float) -> None:
        """A message to the chat goes at `at` (`time.monotonic()`, not before `earliest`)."""
        delay = max(0, round((at - time.monotonic()) * 1_000_000))
        await self._commit(keys=[self.prefix + chat, self.prefix + chat + ":last"], args=[self.interval_us, delay])

    async def reserve(self, chat: str) -> float:
        """Take this chat's next moment without waiting for it; returns it in `time.monotonic()`."""
        micros = int(await self._pace(keys=[self.prefix + chat], args=[self.interval_us, self.tolerance_us]))
        return time.monotonic() + micros / 1_000_000

    async def wait(self, chat: str) -> float:
        """Take this chat's next moment and sleep until it; returns the seconds waited."""
        micros = int(await self._pace(keys=[self.prefix + chat], args=[self.interval_us, self.tolerance_us]))
        if micros > 0:
            await asyncio.sleep(micros / 1_000_000)
        return micros / 1_000_000
