"""The relay queue to the operators' groups, in Redis: per group, per ticket, paced, shared by every process.

Telegram lets a bot post about 20 messages a minute into one group, so what goes to the desk (a new ticket's
topic and card, the users' messages, notices) waits here and a worker posts it at the configured pace. Per
group there is a sorted set of tickets with something pending (scored by the time of their oldest item, so the
ticket that waited longest goes first) and per ticket a list of items in arrival order; a worker takes a
ticket's run of items and may merge several into one post. Which process posts into a group is decided by a lease; the
pace (the earliest time of the next post) is kept in Redis too, so a second process, or a restart, keeps it.
Delivery is at least once: items leave the list only after their post went out. A group that cannot take posts
(not a forum, the bot not an administrator) is marked down here, so every process can tell its users the truth,
and its items wait until a check finds it usable again.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

MAX_BATCH = 50
DESK_STATE_SECONDS = 24 * 3600

_PUSH = """
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], 'NX', ARGV[2], ARGV[3])
redis.call('INCR', KEYS[3])
return 1
"""
_ACK = """
local count = tonumber(ARGV[1])
redis.call('LTRIM', KEYS[1], count, -1)
local left = tonumber(redis.call('DECRBY', KEYS[3], count))
if left < 0 then redis.call('SET', KEYS[3], 0) end
local head = redis.call('LINDEX', KEYS[1], 0)
if not head then
  redis.call('ZREM', KEYS[2], ARGV[2])
else
  redis.call('ZADD', KEYS[2], 'XX', cjson.decode(head)['at'] * 1000, ARGV[2])
end
return 1
"""
_PACE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local at = tonumber(redis.call('GET', KEYS[1]) or '0')
if at > now then return at - now end
local interval = math.floor(tonumber(ARGV[1]))
redis.call('SET', KEYS[1], now + interval, 'PX', math.floor(interval * 2) + 1000)
return 0
"""
_LEASE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]); return 1 end
return 0
"""
_LEASE_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True, slots=True)
class Item:
    """One thing to post into a ticket's topic.

    kind: "open" (create the topic, then post `text` as the ticket's card with `buttons`), "user" (what the user
    wrote), "sys" (a notice for the operators), "close" (close the topic).
    """

    kind: str
    text: str = ""
    at: float = field(default_factory=time.time)
    attachment: dict[str, str] | None = None  # {"kind": "photo"|"file", "ref": …, "name": …}
    buttons: list[list[str]] | None = None  # [[label, callback data], …] on one row
    title: str = ""  # the topic's name (with "open")
    thread: int | None = None  # the topic, when it must be this one (a transferred ticket's old topic)

    def dumps(self) -> str:
        data: dict[str, Any] = {"k": self.kind, "t": self.text, "at": self.at}
        if self.attachment:
            data["a"] = self.attachment
        if self.buttons:
            data["b"] = self.buttons
        if self.title:
            data["n"] = self.title
        if self.thread is not None:
            data["th"] = self.thread
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def loads(cls, raw: bytes | str) -> Item:
        data = json.loads(raw)
        return cls(kind=data["k"], text=data.get("t", ""), at=float(data["at"]), attachment=data.get("a"),
                   buttons=data.get("b"), title=data.get("n", ""), thread=data.get("th"))  # fmt: skip


@dataclass(frozen=True, slots=True)
class Backlog:
    """How far behind the relay into one group is: what the ticket card shows the operators."""

    pending: int
    behind_seconds: float


class RelayQueue:
    def __init__(self, redis: Redis, prefix: str, *, rate: int, window_seconds: float) -> None:
        self.redis = redis
        self.prefix = f"{prefix}support:relay:"
        # Evenly spaced, a little wider than the limit: Telegram counts arrivals, and a post that left late must
        # not bring the next twenty closer together than the window.
        self.interval_ms = max(1, round(window_seconds * 1000 / rate * 1.05))
        self.token = secrets.token_hex(8)
        self._push = redis.register_script(_PUSH)
        self._ack = redis.register_script(_ACK)
        self._pace = redis.register_script(_PACE)
        self._lease = redis.register_script(_LEASE)
        self._lease_release = redis.register_script(_LEASE_RELEASE)

    def _keys(self, group: int, ticket: int) -> list[str]:
        return [f"{self.prefix}{group}:t:{ticket}", f"{self.prefix}{group}:q", f"{self.prefix}{group}:n"]

    async def push(self, group: int, ticket: int, item: Item) -> None:
        await self._push(keys=self._keys(group, ticket), args=[item.dumps(), int(item.at * 1000), ticket])

    async def next_batch(self, group: int) -> tuple[int, list[Item]] | None:
        """The ticket that waited longest in this group and its pending items (oldest first)."""
        head = await self.redis.zrange(f"{self.prefix}{group}:q", 0, 0)
        if not head:
            return None
        ticket = int(str(head[0], "ascii") if isinstance(head[0], bytes) else str(head[0]))
        raw = await self.redis.lrange(f"{self.prefix}{group}:t:{ticket}", 0, MAX_BATCH - 1)
        if not raw:
            await self.redis.zrem(f"{self.prefix}{group}:q", ticket)
            return None
        return ticket, [Item.loads(r) for r in raw]

    async def ack(self, group: int, ticket: int, count: int) -> None:
        """The first `count` items of the ticket were posted: drop them."""
        await self._ack(keys=self._keys(group, ticket), args=[count, ticket])

    async def backlog(self, group: int) -> Backlog:
        pending = int(await self.redis.get(f"{self.prefix}{group}:n") or 0)
        oldest = await self.redis.zrange(f"{self.prefix}{group}:q", 0, 0, withscores=True)
        behind = max(0.0, time.time() - float(oldest[0][1]) / 1000) if oldest else 0.0
        return Backlog(max(pending, 0), behind)

    async def wait_turn(self, group: int) -> float:
        """0 when a post into this group may go now (the slot is taken); otherwise seconds to wait first."""
        wait_ms = int(await self._pace(keys=[f"{self.prefix}{group}:pace"], args=[self.interval_ms]))
        return wait_ms / 1000

    async def hold(self, group: int, lease_ms: int = 30_000) -> bool:
        """Take or renew this process's lease on posting into `group`."""
        return bool(await self._lease(keys=[f"{self.prefix}{group}:lease"], args=[self.token, lease_ms]))

    async def release(self, group: int) -> None:
        await self._lease_release(keys=[f"{self.prefix}{group}:lease"], args=[self.token])

    # --- whether a group can take posts, as the last check found (shared by every process) -----------------------
    async def mark_desk(self, group: int, problem: str | None) -> None:
        """What keeps `group` from taking posts (None: nothing, it works). Kept for a day at most: the process that
        posts into the group checks it again while it is down."""
        key = f"{self.prefix}{group}:down"
        if problem is None:
            await self.redis.delete(key)
        else:
            await self.redis.set(key, problem[:300], ex=DESK_STATE_SECONDS)

    async def desk_problems(self, groups: list[int]) -> dict[int, str]:
        """The groups that cannot take posts now, with the reason."""
        if not groups:
            return {}
        values = await self.redis.mget([f"{self.prefix}{group}:down" for group in groups])
        return {group: (v.decode() if isinstance(v, bytes) else str(v))
                for group, v in zip(groups, values, strict=True) if v is not None}  # fmt: skip

    async def usable_groups(self, groups: list[int]) -> list[int]:
        """The groups a new ticket may go to: those not known to be down; all of them when every one is (the
        ticket then waits in its group's queue until the group works again)."""
        down = await self.desk_problems(groups)
        return [group for group in groups if group not in down] or list(groups)

    async def desk_down(self, groups: list[int]) -> bool:
        """No group can take a ticket now: the user must be told the operators cannot be reached."""
        return bool(groups) and len(await self.desk_problems(groups)) == len(groups)
