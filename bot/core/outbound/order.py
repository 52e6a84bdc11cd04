"""One user's replies in the order of their turns, whichever process sends them.

A turn is numbered inside the user's session lock (`Session.turns`, saved with the session), so the numbers follow
the order in which the turns ran. The replies are sent after the lock is given back — holding it while waiting for
the platform's limits would hold up the user's next turn as well — and a turn's replies wait here until those of
the turn before are out: `served` in Redis is the last turn whose replies were sent.

A turn that will never be served must not hold the ones after it: the process sending a turn claims its number with
its own token and keeps an "alive" key renewed every second; a waiter goes on when the turn before was claimed by a
process that is gone, or was never claimed within `grace` seconds (its process died between the turn and the send).
A session that expired starts again at 1, which resets `served`; a `served` lost with Redis' data costs the next
turn `grace` seconds. Without Redis nothing can be ordered across
processes: the replies go out at once rather than not at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger("mila.outbound")

_CLAIM = """
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
return 1
"""

_CHECK = """
local served = tonumber(redis.call('GET', KEYS[1]) or '-1')
local seq = tonumber(ARGV[1])
if served >= seq - 1 then return 'go' end
local owner = redis.call('GET', KEYS[2])
if not owner then return 'absent' end
if redis.call('EXISTS', ARGV[2] .. owner) == 0 then return 'dead' end
return 'wait'
"""

_DONE = """
local served = tonumber(redis.call('GET', KEYS[1]) or '-1')
local seq = tonumber(ARGV[1])
if seq == 1 or seq > served then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) end
redis.call('DEL', KEYS[2])
return 1
"""


class TurnOrder:
    def __init__(
        self,
        redis: Redis,
        prefix: str,
        *,
        ttl_seconds: int,
        grace_seconds: float = 5.0,
        max_wait_seconds: float = 300.0,
        alive_seconds: float = 3.0,
    ) -> None:
        self.prefix = prefix
        self.ttl_seconds = max(ttl_seconds, 60)
        self.grace = grace_seconds
        self.max_wait = max_wait_seconds
        self.alive_ms = int(alive_seconds * 1000)
        self.token = secrets.token_hex(8)
        self.redis = redis
        self._claim = redis.register_script(_CLAIM)
        self._check = redis.register_script(_CHECK)
        self._done = redis.register_script(_DONE)
        self._local: dict[tuple[str, int], asyncio.Event] = {}  # turns being sent by this process
        self._renewer: asyncio.Task[None] | None = None
        self.skipped = 0  # waits that gave up on a turn that would never be served

    def _keys(self, chat: str, seq: int) -> tuple[str, str]:
        return f"{self.prefix}{chat}:served", f"{self.prefix}{chat}:{seq}"

    @property
    def _alive_key(self) -> str:
        return f"{self.prefix}alive:{self.token}"

    @contextlib.asynccontextmanager
    async def turn(self, chat: str, seq: int | None) -> AsyncIterator[None]:
        """Send a turn's replies inside this block: it is entered once the turn before is out (`seq` None: at once)."""
        if seq is None:
            yield
            return
        mine = asyncio.Event()
        self._local[(chat, seq)] = mine
        served, claim = self._keys(chat, seq)
        try:
            self._keep_alive()
            try:
                await self._claim(
                    keys=[claim, self._alive_key], args=[self.token, self.alive_ms, int(self.max_wait * 2)]
                )
                await self._wait(chat, seq)
            except RedisError:
                log.warning("replies not ordered across processes: Redis unavailable")
            yield
        finally:
            self._local.pop((chat, seq), None)
            mine.set()
            with contextlib.suppress(RedisError):
                await self._done(keys=[served, claim], args=[seq, self.ttl_seconds])

    async def _wait(self, chat: str, seq: int) -> None:
        if seq <= 1:  # a conversation's first turn (or the first since its session expired)
            return
        started = time.monotonic()
        absent_since: float | None = None
        delay = 0.005
        served, claim = self._keys(chat, seq - 1)
        while time.monotonic() - started < self.max_wait:
            before = self._local.get((chat, seq - 1))
            if before is not None:  # sent by this process: no need to ask Redis
                await before.wait()
                return
            state = await self._check(keys=[served, claim], args=[seq, f"{self.prefix}alive:"])
            state = state.decode() if isinstance(state, bytes) else str(state)
            if state == "go":
                return
            if state == "dead":
                self.skipped += 1
                log.warning("the turn before was claimed by a process that is gone: replies sent")
                return
            if state == "absent":
                now = time.monotonic()
                absent_since = absent_since or now
                if now - absent_since > self.grace:
                    self.skipped += 1
                    log.warning("the turn before never came to be sent: replies sent")
                    return
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.1)
        self.skipped += 1
        log.warning("replies waited too long for the turn before: sent")

    def _keep_alive(self) -> None:
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.create_task(self._renew(), name="outbound-alive")

    async def _renew(self) -> None:
        while True:
            with contextlib.suppress(RedisError):
                await self.redis.set(self._alive_key, "1", px=self.alive_ms)
            await asyncio.sleep(self.alive_ms / 3000)

    async def close(self) -> None:
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError, RedisError):
                await self._renewer
            self._renewer = None
        with contextlib.suppress(RedisError):
            await self.redis.delete(self._alive_key)
