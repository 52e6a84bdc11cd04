"""The live conversation of one user in Redis, with a per-user lock that keeps turns in order across processes.

A turn costs two Redis round trips when nobody else is talking for that user: one script takes the lock and
returns the session, another saves the session and releases the lock. Waiters queue in arrival order (a sorted
set), so two updates of one user are handled one after the other in the order they came, whichever process got
them; a waiter that stops polling (its process died) is dropped from the queue, and a holder that dies loses the
lock when its lease runs out: a short lease (10 s) that the running turn keeps renewing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.core.incoming import UserRef

_ACQUIRE = """
local lock, queue, polls, session = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local token, lease, stale = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('EXISTS', lock) == 0 then
  local head = redis.call('ZRANGE', queue, 0, 0)
  while head[1] and head[1] ~= token do
    local seen = tonumber(redis.call('HGET', polls, head[1]) or '0')
    if now - seen <= stale then break end
    redis.call('ZREM', queue, head[1]); redis.call('HDEL', polls, head[1])
    head = redis.call('ZRANGE', queue, 0, 0)
  end
  if head[1] == nil or head[1] == token then
    if head[1] then redis.call('ZREM', queue, token); redis.call('HDEL', polls, token) end
    redis.call('SET', lock, token, 'PX', lease)
    return {1, redis.call('GET', session)}
  end
end
if not redis.call('ZSCORE', queue, token) then
  -- Behind the last waiter, in the order Redis runs the scripts: a clock in ms would tie two arrivals in the
  -- same millisecond, and a tie is broken by the random token.
  local last = redis.call('ZRANGE', queue, -1, -1, 'WITHSCORES')
  redis.call('ZADD', queue, last[2] and (tonumber(last[2]) + 1) or 0, token)
end
redis.call('HSET', polls, token, now)
redis.call('PEXPIRE', queue, lease * 2); redis.call('PEXPIRE', polls, lease * 2)
return {0, false}
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] ~= '' then redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3]) end
redis.call('DEL', KEYS[1])
return 1
"""


_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""

LEASE_MS = 10_000  # the lock's life without renewal: how long a holder that died keeps its user waiting
_WAITER_STALE_MS = 2000  # a waiter polls at least every 50 ms; silent this long, it is gone


class TurnNotRun(Exception):
    """Nothing of the turn was kept: the channel answers non-2xx so that the platform brings the update back."""


class SessionBusy(TurnNotRun):
    """The user's lock could not be had in time: the update must come back later (answer non-2xx)."""


class SessionStoreDown(TurnNotRun):
    """Redis did not answer: nothing was processed."""


class DatabaseDown(TurnNotRun):
    """The database did not answer during the turn: its changes were rolled back and the session left as it was,
    so the platform's re-delivery runs the same turn again instead of the user's action being lost."""


@dataclass(slots=True)
class Session:
    """State of one conversation. Small and JSON-serialisable: it is read and written on every turn."""

    state: str = ""  # "" means the user is at the menu
    data: dict[str, Any] = field(default_factory=dict)
    lang: str | None = None  # copy of the profile's language, so a turn need not ask the database
    buttons: list[list[str]] = field(default_factory=list)  # [payload, label] of the last buttons shown
    last_active: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)  # slots for other concerns (identification, handoff)
    is_new: bool = True
    turns: int = 0  # turns completed, numbering their replies (see `bot.core.outbound.order`)

    def to_json(self) -> str:
        return json.dumps(
            {"s": self.state, "d": self.data, "l": self.lang, "b": self.buttons, "t": self.last_active,
             "x": self.extra, "n": self.turns},
            ensure_ascii=False, separators=(",", ":"),
        )  # fmt: skip

    @classmethod
    def from_json(cls, raw: bytes | str | None) -> Session:
        if not raw:
            return cls()
        obj = json.loads(raw)
        return cls(state=obj.get("s", ""), data=obj.get("d", {}), lang=obj.get("l"), buttons=obj.get("b", []),
                   last_active=obj.get("t", 0.0), extra=obj.get("x", {}), is_new=False,
                   turns=obj.get("n", 0))  # fmt: skip

    def reset_flow(self) -> None:
        self.state = ""
        self.data = {}


class SessionStore:
    def __init__(
        self,
        redis: Redis,
        prefix: str,
        *,
        ttl_seconds: int,
        lease_ms: int = LEASE_MS,
        wait_seconds: float = 20.0,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl_seconds = ttl_seconds
        self.lease_ms = lease_ms
        self.wait_seconds = wait_seconds
        self._acquire = redis.register_script(_ACQUIRE)
        self._release = redis.register_script(_RELEASE)
        self._renew = redis.register_script(_RENEW)
        # Within one process, updates of one user queue on an asyncio lock first (FIFO, no Redis polling);
        # the Redis lock then orders them against other processes.
        self._local: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def key(self, user: UserRef, part: str) -> str:
        return f"{self.prefix}{user.channel}:{user.external_id}:{part}"

    @asynccontextmanager
    async def locked(self, user: UserRef) -> AsyncIterator[Session]:
        """Hold the user's lock for one turn; the session is saved on a normal exit and dropped on an error."""
        local = self._local.get(user.key)
        if local is None:
            local = self._local[user.key] = asyncio.Lock()
        try:
            await asyncio.wait_for(local.acquire(), timeout=self.wait_seconds)
        except TimeoutError:
            raise SessionBusy(user.channel) from None
        try:
            async with self._redis_locked(user) as session:
                yield session
        finally:
            local.release()

    @asynccontextmanager
    async def _redis_locked(self, user: UserRef) -> AsyncIterator[Session]:
        token = secrets.token_hex(8)
        keys = [
            self.key(user, "lock"),
            self.key(user, "queue"),
            self.key(user, "polls"),
            self.key(user, "session"),
        ]
        deadline = time.monotonic() + self.wait_seconds
        delay = 0.002
        try:
            while True:
                got, raw = await self._acquire(keys=keys, args=[token, self.lease_ms, _WAITER_STALE_MS])
                if got:
                    break
                if time.monotonic() > deadline:
                    raise SessionBusy(user.channel)
                await asyncio.sleep(delay)
                delay = min(delay * 1.5, 0.05)
        except RedisError as exc:
            raise SessionStoreDown(str(exc)) from exc
        session = Session.from_json(raw)
        saved = False
        try:
            async with self._kept(keys[0], token):
                yield session
            saved = True
        finally:
            # After an error in the turn the lock is given back and the session stays as it was before it.
            payload = session.to_json() if saved else ""
            try:
                await self._release(keys=[keys[0], keys[3]], args=[token, payload, self.ttl_seconds])
            except RedisError as exc:
                if saved:
                    raise SessionStoreDown(str(exc)) from exc

    @asynccontextmanager
    async def _kept(self, lock: str, token: str) -> AsyncIterator[None]:
        """Renew the lock (while it is still ours) every third of its lease until the block ends: a turn however
        slow keeps it, and a holder that died (SIGKILL in the middle of a turn) frees its user within one lease.
        Stopped by the event as well as by cancelling (a cancellation can be swallowed in the Redis pool's wait)."""
        stop = asyncio.Event()

        async def renew() -> None:
            while True:
                await asyncio.sleep(self.lease_ms / 3000)
                if stop.is_set():
                    return
                with contextlib.suppress(RedisError):  # a stall: the lock may lapse, as it did before renewals
                    await self._renew(keys=[lock], args=[token, self.lease_ms])

        task = asyncio.create_task(renew(), name="session-lease")
        try:
            yield
        finally:
            stop.set()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def forget(self, user: UserRef) -> None:
        """Delete every key of this user (personal data erasure)."""
        pattern = f"{self.prefix}{user.channel}:{user.external_id}:*"
        async for key in self.redis.scan_iter(match=pattern, count=500):
            await self.redis.delete(key)
