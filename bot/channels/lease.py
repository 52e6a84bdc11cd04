"""A dedupe claim that lives as long as its holder, not as long as a guess at the longest turn.

A claim marks an update or callback "being handled" so that a parallel re-delivery is answered "come back later"
instead of running it twice. With a fixed TTL of minutes, a process killed mid-turn — or a Redis stall that made
every in-flight turn fail — left its claims standing for those minutes: the platform's retries got 503 until they
expired, and the user's message ran long after their newer ones. Here the claim is a short lease that the running
turn keeps renewing: while its holder lives it stays, and once the holder is gone it is free within one lease.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from redis.asyncio import Redis
from redis.exceptions import RedisError

LEASE_SECONDS = 10  # a claim's life without renewal: how long a dead holder keeps the platform's retries waiting

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


class Lease:
    def __init__(self, redis: Redis, seconds: int = LEASE_SECONDS) -> None:
        self.redis = redis
        self.seconds = seconds
        self._renew = redis.register_script(_RENEW)

    @contextlib.asynccontextmanager
    async def kept(self, key: str, value: str) -> AsyncIterator[None]:
        """Renew `key` (while it still holds `value`) every third of the lease until the block ends."""

        # Stopped by the event as well as by cancelling: a cancellation that lands while the Redis client waits for a
        # pool connection can be swallowed (Python 3.11's timeouts), and a renewal that went on would keep the claim
        # — and the turn waiting for it here — forever.
        stop = asyncio.Event()

        async def renew() -> None:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.seconds / 3)
                    return
                with contextlib.suppress(RedisError):  # a stall: the claim may lapse, and a retry takes it over
                    await self._renew(keys=[key], args=[value, self.seconds])

        task = asyncio.create_task(renew(), name="dedupe-lease")
        try:
            yield
        finally:
            stop.set()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
