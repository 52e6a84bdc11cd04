"""At most one effect per `update_id`, across processes, while letting a failed update come back.

An update is claimed (SET NX, a short lease renewed while its turn runs: `bot.channels.lease`) before it is
handled, marked done (long TTL) once its turn has run, and released when it could not be processed — so Telegram's
re-delivery of a failed update is handled, and a re-delivery of a handled one is not. A claim left by a process
that died lapses within one lease, and the next re-delivery is handled.
"""

from __future__ import annotations

import contextlib
import enum

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.channels.lease import LEASE_SECONDS, Lease
from bot.core.session import SessionStoreDown

_CLAIM = """
if redis.call('SET', KEYS[1], 'p', 'NX', 'EX', ARGV[1]) then return 'new' end
return redis.call('GET', KEYS[1]) or 'new'
"""


class Claim(enum.Enum):
    NEW = "new"  # ours to handle
    DONE = "d"  # handled before: a duplicate
    IN_PROGRESS = "p"  # being handled right now (another process, or a re-delivery that overtook it)


class UpdateDedupe:
    def __init__(
        self, redis: Redis, prefix: str, *, claim_seconds: int = LEASE_SECONDS, done_seconds: int = 2 * 24 * 3600
    ) -> None:
        self.redis = redis
        self.prefix = prefix + "telegram:update:"
        self.claim_seconds = claim_seconds
        self.lease = Lease(redis, claim_seconds)
        self.done_seconds = done_seconds
        self._claim = redis.register_script(_CLAIM)

    async def claim(self, update_id: int) -> Claim:
        try:
            raw = await self._claim(keys=[self.prefix + str(update_id)], args=[self.claim_seconds])
        except RedisError as exc:
            raise SessionStoreDown(str(exc)) from exc
        value = raw.decode() if isinstance(raw, bytes) else str(raw)
        return Claim(value) if value in ("d", "p") else Claim.NEW

    def held(self, update_id: int) -> contextlib.AbstractAsyncContextManager[None]:
        """Keep a claim of ours alive while its turn runs."""
        return self.lease.kept(self.prefix + str(update_id), "p")

    async def done(self, update_id: int) -> None:
        try:
            await self.redis.set(self.prefix + str(update_id), "d", ex=self.done_seconds)
        except RedisError as exc:
            raise SessionStoreDown(str(exc)) from exc

    async def release(self, update_id: int) -> None:
        """Forget a claim whose update failed, so its re-delivery is handled. Best effort: the claim expires anyway."""
        with contextlib.suppress(RedisError):
            await self.redis.delete(self.prefix + str(update_id))
