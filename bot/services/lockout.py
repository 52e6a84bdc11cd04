"""Limiting guesses at identification: per subscriber, per chat, per chat and day, with an alarm over them all.

A code word, a name with a passport number or a one-time code is something a guesser may try many times, from many
chats at once. So a guess is *reserved* in Redis before the slow comparison (scrypt) runs, in one script that checks
the locks and the counts and takes the try: fifty chats guessing at the same moment get five comparisons, not
fifty. A reservation counts as a failure unless the comparison succeeds; a success forgives what that chat tried
against that subscriber (the owner's typos in their own chat), and nothing anyone else tried.

- per subscriber (whatever chat the guesses come from) and per chat (whatever subscriber they aim at): 5 tries
  within 15 minutes lock that subscriber / that chat for 15 minutes;
- per chat and day (the ceiling of one source, since every chat is a Telegram or Viber account an attacker must
  own): 20 failures in 24 hours lock that chat until the day is over;
- in total: failures over all chats are counted, and crossing the alarm threshold within the window logs a
  warning and raises the `alarm` event (a metric in `mila run`). It locks nobody: a pause for everyone would be a
  switch any attacker with enough chats could flip.

All numbers are configurable. Subjects are keyed hashes, so Redis never holds a phone number or customer code.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass

from redis.asyncio import Redis

from bot.core.engine import pseudonym
from bot.core.incoming import UserRef
from bot.services.guard_events import GuardEvents

log = logging.getLogger("mila.lockout")

_SUM = """
local function tries(key)
  local n = 0
  for _, v in ipairs(redis.call('HVALS', key)) do n = n + tonumber(v) end
  return n
end
"""

_RESERVE = (
    _SUM
    + """
-- KEYS: chat tries, subject tries, chat lock, subject lock, chat's day
-- ARGV: subject field, chat field, threshold, window, lock seconds, daily ceiling, day seconds
-- Tries are hashes: field = the other side of the pair, value = its tries in the window.
local threshold, lock = tonumber(ARGV[3]), tonumber(ARGV[5])
local function wait(key)
  local t = redis.call('TTL', key)
  if t < 1 then return 1 end
  return t
end
local function engage(lock_key, tries_key)
  redis.call('SET', lock_key, 1, 'EX', lock)
  redis.call('EXPIRE', tries_key, lock)  -- the tries end with the lock: afterwards, a fresh start
end
if redis.call('EXISTS', KEYS[3]) == 1 then return {wait(KEYS[3]), 'chat'} end
if redis.call('EXISTS', KEYS[4]) == 1 then return {wait(KEYS[4]), 'subscriber'} end
if tonumber(redis.call('GET', KEYS[5]) or '0') >= tonumber(ARGV[6]) then return {wait(KEYS[5]), 'daily'} end
local chat_n, subject_n = tries(KEYS[1]), tries(KEYS[2])
if chat_n >= threshold then engage(KEYS[3], KEYS[1]); return {lock, 'chat'} end
if subject_n >= threshold then engage(KEYS[4], KEYS[2]); return {lock, 'subscriber'} end
local function take(key, field)
  redis.call('HINCRBY', key, field, 1)
  if redis.call('TTL', key) < 0 then redis.call('EXPIRE', key, ARGV[4]) end
end
take(KEYS[1], ARGV[1])
take(KEYS[2], ARGV[2])
if redis.call('INCR', KEYS[5]) == 1 then redis.call('EXPIRE', KEYS[5], ARGV[7]) end
-- The last allowed try locks at once, so nobody gets past it while it is being compared; a success lifts it.
local engaged = ''
if chat_n + 1 >= threshold then engage(KEYS[3], KEYS[1]); engaged = 'chat' end
if subject_n + 1 >= threshold then engage(KEYS[4], KEYS[2]); engaged = engaged .. 'subscriber' end
return {0, engaged}
"""
)

_SUCCEED = (
    _SUM
    + """
-- KEYS: chat tries, subject tries, chat lock, subject lock, chat's day
-- ARGV: subject field, chat field, threshold
local threshold = tonumber(ARGV[3])
local had = redis.call('HDEL', KEYS[1], ARGV[1]) + redis.call('HDEL', KEYS[2], ARGV[2])
if had > 0 and tonumber(redis.call('GET', KEYS[5]) or '0') > 0 then redis.call('DECR', KEYS[5]) end
if tries(KEYS[1]) < threshold then redis.call('DEL', KEYS[3]) end
if tries(KEYS[2]) < threshold then redis.call('DEL', KEYS[4]) end
return had
"""
)

_FAIL = """
-- KEYS: total failures; ARGV: window
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
"""

DAY_SECONDS = 24 * 3600


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    threshold: int = 5  # tries within the window that lock a subscriber or a chat
    window_seconds: int = 15 * 60
    lock_seconds: int = 15 * 60
    chat_daily: int = 20  # failures one chat may have in a day, whatever it aimed at
    total_threshold: int = 500  # failures in a window, over all chats, that raise the alarm (never a lock)


class Lockout:
    def __init__(
        self,
        redis: Redis,
        prefix: str,
        secret: bytes,
        policy: LockoutPolicy | None = None,
        events: GuardEvents | None = None,
    ) -> None:
        self.redis = redis
        self.prefix = prefix + "ident:"
        self.secret = secret
        self.policy = policy or LockoutPolicy()
        self.events = events or GuardEvents()
        self._reserve = redis.register_script(_RESERVE)
        self._succeed = redis.register_script(_SUCCEED)
        self._fail = redis.register_script(_FAIL)

    def subject_tag(self, subject: str) -> str:
        """The normalized number or code the user aimed at, as a keyed hash (also for numbers that don't exist)."""
        return hmac.new(self.secret, subject.encode(), hashlib.sha256).hexdigest()[:32]

    def _keys(self, chat: UserRef, subject: str | None) -> list[str]:
        tag = self.subject_tag(subject) if subject else "-"
        return [
            f"{self.prefix}try:chat:{chat.key}",
            f"{self.prefix}try:sub:{tag}",
            f"{self.prefix}lock:chat:{chat.key}",
            f"{self.prefix}lock:sub:{tag}",
            f"{self.prefix}day:chat:{chat.key}",
        ]

    def _fields(self, chat: UserRef, subject: str) -> list[str]:
        return [self.subject_tag(subject), chat.key]

    async def locked_for(self, chat: UserRef, subject: str | None = None) -> int:
        """Seconds until this chat (and this subject, if given) may try again; 0 when not locked. A quick look
        before any work: only `reserve` decides whether a try may be compared."""
        keys = self._keys(chat, subject)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.ttl(keys[2])
            pipe.ttl(keys[3] if subject else keys[2])
            pipe.get(keys[4])
            pipe.ttl(keys[4])
            chat_ttl, subject_ttl, day, day_ttl = await pipe.execute()
        if day is not None and int(day) >= self.policy.chat_daily:
            return max(int(day_ttl), 1)
        return max(int(chat_ttl), int(subject_ttl), 0)

    async def reserve(self, chat: UserRef, subject: str) -> int:
        """Take one try of this chat at this subject before comparing anything: 0 when taken (settle it with
        `failed` or `succeeded`), else the seconds until a try is possible again."""
        p = self.policy
        numbers = [p.threshold, p.window_seconds, p.lock_seconds, p.chat_daily, DAY_SECONDS]
        args: list[str | int] = [*self._fields(chat, subject), *numbers]
        wait, which = await self._reserve(keys=self._keys(chat, subject), args=args)
        which = which.decode() if isinstance(which, bytes) else str(which)
        if int(wait):
            self.events(f"refused_{which}")
            return int(wait)
        for side in ("chat", "subscriber"):
            if side in which:
                self.events(f"locked_{side}")
                log.info("identification locked after repeated tries", extra={"user": pseudonym(chat.key),
                                                                             "guard": side})  # fmt: skip
        return 0

    async def failed(self, chat: UserRef, subject: str | None) -> None:
        """A reserved try did not match: it stays counted. Counted in total too, for the alarm."""
        p = self.policy
        total = int(await self._fail(keys=[f"{self.prefix}fail:total"], args=[p.window_seconds]))
        self.events("failure")
        if total == p.total_threshold:
            self.events("alarm")
            log.warning(
                "identification failures over the alarm threshold: many chats are guessing; each is limited on "
                "its own, nobody is paused",
                extra={"failures": total, "window_seconds": p.window_seconds},
            )

    async def succeeded(self, chat: UserRef, subject: str) -> None:
        """The try matched: what this chat tried against this subject is forgiven (and a lock it caused lifted);
        what other chats tried stays counted."""
        await self._succeed(keys=self._keys(chat, subject), args=[*self._fields(chat, subject), self.policy.threshold])

    async def window_failures(self) -> tuple[int, bool]:
        """Failures counted in the current window over all chats, and whether they are over the alarm threshold
        (for `/metrics`: a sudden rise is someone guessing; nobody is paused by it)."""
        raw = await self.redis.get(f"{self.prefix}fail:total")
        failures = int(raw or 0)
        return failures, failures >= self.policy.total_threshold
