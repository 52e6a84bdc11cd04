"""A platform's "send nothing before T", shared by every process sending for the bot through Redis.

Telegram answers 429 with `retry_after`, Viber status 12 (too many requests) with nothing: either way the limit is
the bot's, not one process's, so the pause is written here and read by every sender — the channels' own (cached,
so a send costs no extra round trip) and the shared schedule (`RateLimiter(pause_key=...)`), which gives no slot
during it and, after it, slots one by one at the rate, so the sends that waited do not leave as a herd.
"""

from __future__ import annotations

import logging
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger("mila.outbound")


def pause_key(prefix: str, channel: str) -> str:
    """The Redis key of a channel's pause, read by the channel's senders and the campaign worker's limiter."""
    return f"{prefix}{channel}:pause-until"


_PAUSE_LATER = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
return 1
"""


class GlobalPause:
    """ "Send nothing before T", shared through Redis and cached here so a send costs no extra round trip.

    Another process's pause is seen within `refresh` seconds; until then a send may meet the 429 itself, and then
    waits too. Without Redis the pause still holds within this process.
    """

    def __init__(self, redis: Redis, key: str, *, refresh: float = 0.5) -> None:
        self.redis = redis
        self.key = key
        self.refresh = refresh
        self._until = 0.0
        self._checked = 0.0
        self._set_later = redis.register_script(_PAUSE_LATER)

    async def pause_for(self, seconds: float) -> None:
        until = time.time() + seconds
        self._until = max(self._until, until)
        try:
            await self._set_later(keys=[self.key], args=[repr(until), int(seconds * 1000) + 1000])
        except RedisError:
            log.warning("rate-limit pause not shared: Redis unavailable")

    async def remaining(self) -> float:
        now = time.time()
        if now - self._checked >= self.refresh:
            self._checked = now
            try:
                raw = await self.redis.get(self.key)
            except RedisError:
                raw = None
            if raw:
                self._until = max(self._until, float(raw))
        return max(0.0, self._until - time.time())
