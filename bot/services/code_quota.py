"""How many one-time codes may be sent: per number, per chat and in total, counted when they are asked for.

Every code is an SMS the operator pays for and a message on someone's phone, so requests are limited before a code
is made, not only wrong codes after: 3 per number (or customer code) and 5 per chat within 15 minutes, and a
budget of SMS in total per window. The number is what the user typed (normalized), whether or not it is a
subscriber's: the answer must not tell the two apart, so a number that is nobody's is limited the same way, and
the budget is checked for every request but spent only by the codes that really leave. One script checks and
counts, so many chats asking at once can't get past a limit between the check and the count.

Reaching the budget pauses codes by SMS for everyone until the window ends (the operator's money is the limit),
logs a warning and raises the `codes_total_reached` event; size it well above the busiest hour.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass

from redis.asyncio import Redis

from bot.core.incoming import UserRef
from bot.services.guard_events import GuardEvents

log = logging.getLogger("mila.codes")

_TAKE = """
-- KEYS: number, chat, total
-- ARGV: per number, per chat, total, window, sent (1: an SMS leaves for this request)
local function wait(key)
  local t = redis.call('TTL', key)
  if t < 1 then return 1 end
  return t
end
local function full(key, limit) return tonumber(redis.call('GET', key) or '0') >= tonumber(limit) end
if full(KEYS[1], ARGV[1]) then return {wait(KEYS[1]), 'number'} end
if full(KEYS[2], ARGV[2]) then return {wait(KEYS[2]), 'chat'} end
if full(KEYS[3], ARGV[3]) then return {wait(KEYS[3]), 'total'} end
local function count(key)
  local n = redis.call('INCR', key)
  if n == 1 then redis.call('EXPIRE', key, ARGV[4]) end
  return n
end
count(KEYS[1])
count(KEYS[2])
if ARGV[5] == '1' and count(KEYS[3]) == tonumber(ARGV[3]) then return {0, 'reached'} end
return {0, ''}
"""


@dataclass(frozen=True, slots=True)
class CodeQuotaPolicy:
    per_number: int = 3
    per_chat: int = 5
    total: int = 1000  # SMS in total per window, over all chats
    window_seconds: int = 15 * 60


class CodeQuota:
    def __init__(
        self,
        redis: Redis,
        prefix: str,
        secret: bytes,
        policy: CodeQuotaPolicy | None = None,
        events: GuardEvents | None = None,
    ) -> None:
        self.redis = redis
        self.prefix = prefix + "codes:"
        self.secret = secret
        self.policy = policy or CodeQuotaPolicy()
        self.events = events or GuardEvents()
        self._take = redis.register_script(_TAKE)

    def tag(self, number: str) -> str:
        """What a number (what was typed, normalized) is counted under: a keyed hash, which may wait in the session
        for "send a new code" where the number itself must not."""
        return hmac.new(self.secret, b"codes\x00" + number.encode(), hashlib.sha256).hexdigest()[:32]

    async def take(self, chat: UserRef, number_tag: str, *, sends: bool) -> int:
        """Count a request for a code to the number whose `tag` this is from `chat`: 0 when it may be made, else the
        seconds until one may be asked for again. `sends`: an SMS really leaves (the number is a subscriber's);
        only those spend the budget in total."""
        p = self.policy
        keys = [f"{self.prefix}number:{number_tag}", f"{self.prefix}chat:{chat.key}", f"{self.prefix}total"]
        args = [p.per_number, p.per_chat, p.total, p.window_seconds, 1 if sends else 0]
        wait, which = await self._take(keys=keys, args=args)
        which = which.decode() if isinstance(which, bytes) else str(which)
        if int(wait):
            self.events(f"codes_refused_{which}")
            return int(wait)
        self.events("code_asked")
        if which == "reached":
            self.events("codes_total_reached")
            log.warning(
                "one-time codes by SMS reached their budget for this window: paused for everyone until it ends",
                extra={"codes": p.total, "window_seconds": p.window_seconds},
            )
        return 0
