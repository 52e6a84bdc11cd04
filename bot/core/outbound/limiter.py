"""The bot's global rate limit on a channel, shared by every `mila run` process through Redis.

The platforms limit a bot, not a process: Telegram about 30 messages a second (1000 with paid broadcasts), Viber
what the operator's contract says. Every message the bot sends on a channel — conversation replies and broadcasts —
takes a slot of one schedule here, so together they keep to the limit. Each send reserves the next free slot of an
evenly spaced schedule (GCRA with no burst: slots `interval` apart) in one Lua script, so any number of workers
together keep to the rate without talking to each other. The schedule is kept in Redis' own clock (`TIME`), so the
processes' clocks do not matter.

Replies first: a reply (`REPLY`) that takes a slot marks the schedule "held by replies" until the end of its slot;
a broadcast (`BULK`) asking while it is held is told to come back when it is free. Users waiting for an answer go
first; a campaign fills whatever rate the replies leave, and takes all of it when nobody is talking.

A 429 from Telegram writes a "send nothing before T" key (`GlobalPause` of the Telegram channel). The script reads
it on every reservation: while it holds, nobody gets a slot; after it, new slots start `gap` seconds later and
follow one another at the rate, so the sends that waited out the pause leave one by one, never as a herd.

At high rates one round trip per message would cost more than the message itself, so a broadcast process reserves a
few consecutive slots at once (`chunk`, about 20 ms worth: one slot at 30/s, twenty at 1000/s) and uses them in turn.

A reply may have to go later than the next free slot: its chat's pace (about one a second per chat on Telegram)
or its place after the user's previous message says "not before T". It asks for the first slot at or after T
(`reserve_after`), and the slots it passes over stay free ("holes", a sorted set in Redis) for the next reply
that may go earlier, instead of being reserved and left unused: with thousands of replies queued half a minute
ahead, a slot thrown away for the pace would also put that reply half a minute further back, and the user's next
replies behind it.

A slot is used on time or not at all. A process that was held up (a busy event loop, a garbage collection, a CPU
shared with other processes) finds the slots it reserved already past; sending on all of them the moment it wakes
would put a second's worth of a stall into a burst, and the platform counts a sliding second. A slot more than
`late_seconds` past is dropped instead, and the sender takes the next one: a stalled process loses its slots and
the rate dips, but no second ever holds more than the rate and a few milliseconds of lateness.

No library was used: the well-kept Python ones (`limits`, `aiolimiter`) either count hits in a window (a caller
that is refused has to poll) or live in one process; a reservation is one script and one round trip here.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

from redis.asyncio import Redis

LATE_SECONDS = 0.01
REPLY = "r"  # a conversation reply: someone is waiting for it
BULK = "b"  # a broadcast: it yields while replies hold the schedule

_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local pause = math.floor(tonumber(redis.call('GET', KEYS[2]) or '0') * 1000000)
if pause > now then return {'p', string.format('%.0f', pause - now)} end
local held = tonumber(redis.call('GET', KEYS[3]) or '0')
if ARGV[4] == 'b' and held > now then return {'y', string.format('%.0f', held - now)} end
local earliest = now
if pause > 0 then earliest = math.max(earliest, pause + tonumber(ARGV[2])) end
local interval = tonumber(ARGV[1])
local slot = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), earliest)
if ARGV[4] == 'r' then
  -- A reply: the first free slot not before ARGV[5] microseconds from now, a hole left by an earlier reply first.
  local nb = math.max(earliest, now + tonumber(ARGV[5]))
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', string.format('(%.0f', earliest))
  local hole = redis.call('ZRANGEBYSCORE', KEYS[4], string.format('%.0f', nb), string.format('(%.0f', slot),
    'LIMIT', 0, 1)
  if #hole > 0 then
    redis.call('ZREM', KEYS[4], hole[1])
    return {'s', string.format('%.0f', tonumber(hole[1]) - now)}
  end
  if nb > slot then
    local left, at = 0, slot
    while at + interval <= nb and left < 64 do
      redis.call('ZADD', KEYS[4], at, string.format('%.0f', at))
      at = at + interval
      left = left + 1
    end
    slot = nb
  end
  redis.call('PEXPIRE', KEYS[4], math.floor((slot - now) / 1000) + 60000)
end
local after = slot + interval * tonumber(ARGV[3])
redis.call('SET', KEYS[1], string.format('%.0f', after), 'PX', math.floor((slot - now) / 1000) + 60000)
if ARGV[4] == 'r' and after > held then
  redis.call('SET', KEYS[3], string.format('%.0f', after), 'PX', math.floor((after - now) / 1000) + 1000)
end
return {'s', string.format('%.0f', slot - now)}
"""


class RateLimiter:
    """`await limiter.acquire()` returns when this process may send one message."""

    def __init__(
        self,
        redis: Redis,
        key: str,
        rate: float,
        *,
        pause_key: str | None = None,
        gap_seconds: float = 1.0,
        late_seconds: float = LATE_SECONDS,
        priority: str = BULK,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        if priority not in (REPLY, BULK):
            raise ValueError("priority must be REPLY or BULK")
        self.key = key
        self.rate = rate
        self.priority = priority
        self.pause_key = pause_key or key + ":no-pause"
        self.held_key = key + ":held-by-replies"
        self.holes_key = key + ":holes"
        self.interval_us = round(1_000_000 / rate)
        self.gap_us = round(gap_seconds * 1_000_000)
        # A reply takes one slot at a time: a slot reserved ahead and not used would hold the schedule for nothing.
        self.chunk = 1 if priority == REPLY else min(100, max(1, round(rate / 50)))
        self.late_seconds = late_seconds
        self.dropped = 0  # slots that came too late to be used
        self._reserve = redis.register_script(_RESERVE)
        self._slots: deque[float] = deque()  # reserved slots of this process, in `time.monotonic()`
        self._refill = asyncio.Lock()

    async def acquire(self) -> float:
        """Wait for one of this process's slots; returns the seconds waited (paused time included)."""
        started = time.monotonic()
        while True:
            slot = await self.reserve()
            delay = slot - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if time.monotonic() - slot <= self.late_seconds:  # a sleep that overran is as late as a missed slot
                return time.monotonic() - started
            self.dropped += 1

    async def reserve(self) -> float:
        """Take the next slot without waiting for it; returns it in `time.monotonic()`."""
        while not self._slots:
            async with self._refill:
                if self._slots:
                    break
                await self._reserve_chunk()
        return self._slots.popleft()

    async def reserve_after(self, not_before: float) -> float:
        """A reply's slot: the first free one at or after `not_before` (`time.monotonic()`), a hole first; the
        slots passed over stay free for others. Returns it in `time.monotonic()`."""
        if self.priority != REPLY:
            raise ValueError("only replies reserve after a moment (a broadcast takes the next slot)")
        ahead = max(0, round((not_before - time.monotonic()) * 1_000_000))
        while True:
            kind, micros = await self._reserve(
                keys=[self.key, self.pause_key, self.held_key, self.holes_key],
                args=[self.interval_us, self.gap_us, 1, REPLY, ahead],
            )
            if (kind.decode() if isinstance(kind, bytes) else str(kind)) == "s":
                return time.monotonic() + int(micros) / 1_000_000
            await asyncio.sleep(int(micros) / 1_000_000)  # paused: nobody gets a slot until it is over

    def forget(self) -> None:
        """Drop the slots reserved ahead: after a 429 they would fire into the pause."""
        self._slots.clear()

    async def _reserve_chunk(self) -> None:
        while True:
            kind, micros = await self._reserve(
                keys=[self.key, self.pause_key, self.held_key, self.holes_key],
                args=[self.interval_us, self.gap_us, self.chunk, self.priority, 0],
            )
            if (kind.decode() if isinstance(kind, bytes) else str(kind)) == "s":
                first = time.monotonic() + int(micros) / 1_000_000
                self._slots.extend(first + i * self.interval_us / 1_000_000 for i in range(self.chunk))
                return
            # Paused (nobody gets a slot until it is over), or a broadcast yielding to replies.
            await asyncio.sleep(int(micros) / 1_000_000)
