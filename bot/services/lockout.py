"""Counting failed identification attempts and locking out guessers.

A code word or a name with a passport number is knowledge anyone close to the subscriber may guess, so failures
are counted three ways in Redis: per subscriber (whatever chat the guesses come from), per chat (whatever
subscriber they aim at) and in total (a distributed attack). Five failures within fifteen minutes lock that
subscriber and that chat for fifteen minutes; all numbers are configurable. Subjects are keyed hashes, so Redis
never holds a phone number or customer code in clear.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass

from redis.asyncio import Redis

from bot.core.incoming import UserRef

_FAIL = """
-- KEYS: chat counter, chat lock, subject counter, subject lock, total counter
-- ARGV: window, threshold, lock seconds, total threshold, has subject (0/1)
local window, threshold = tonumber(ARGV[1]), tonumber(ARGV[2])
local lock, total_threshold = tonumber(ARGV[3]), tonumber(ARGV[4])
local function count(key)
  local n = redis.call('INCR', key)
  if n == 1 then redis.call('EXPIRE', key, window) end
  return n
end
if count(KEYS[1]) >= threshold then redis.call('SET', KEYS[2], 1, 'EX', lock) end
if ARGV[5] == '1' and count(KEYS[3]) >= threshold then redis.call('SET', KEYS[4], 1, 'EX', lock) end
return count(KEYS[5]) >= total_threshold and 1 or 0
"""


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    threshold: int = 5
    window_seconds: int = 15 * 60
    lock_seconds: int = 15 * 60
    total_threshold: int = 500  # failures in a window, over all chats, that pause identification for everyone


class Lockout:
    def __init__(self, redis: Redis, prefix: str, secret: bytes, policy: LockoutPolicy | None = None) -> None:
        self.redis = redis
        self.prefix = prefix + "ident:"
        self.secret = secret
        self.policy = policy or LockoutPolicy()
        self._fail = redis.register_script(_FAIL)

    def subject_tag(self, subject: str) -> str:
        """The normalized number or code the user aimed at, as a keyed hash (also for numbers that don't exist)."""
        return hmac.new(self.secret, subject.encode(), hashlib.sha256).hexdigest()[:32]

    def _keys(self, chat: UserRef, subject: str | None) -> list[str]:
        tag = self.subject_tag(subject) if subject else "-"
        return [
            f"{self.prefix}fail:chat:{chat.key}",
            f"{self.prefix}lock:chat:{chat.key}",
            f"{self.prefix}fail:sub:{tag}",
            f"{self.prefix}lock:sub:{tag}",
            f"{self.prefix}fail:total",
        ]

    async def locked_for(self, chat: UserRef, subject: str | None = None) -> int:
        """Seconds until this chat (and this subject, if given) may try again; 0 when not locked."""
        keys = self._keys(chat, subject)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.ttl(keys[1])
            pipe.ttl(keys[3] if subject else keys[1])
            pipe.get(keys[4])
            chat_ttl, subject_ttl, total = await pipe.execute()
        if total is not None and int(total) >= self.policy.total_threshold:
            return max(int(await self.redis.ttl(keys[4])), 1)
        return max(int(chat_ttl), int(subject_ttl), 0)

    async def failed(self, chat: UserRef, subject: str | None) -> None:
        p = self.policy
        args = [p.window_seconds, p.threshold, p.lock_seconds, p.total_threshold, 1 if subject else 0]
        await self._fail(keys=self._keys(chat, subject), args=args)

    async def succeeded(self, chat: UserRef, subject: str) -> None:
        keys = self._keys(chat, subject)
        await self.redis.delete(keys[0], keys[2])

    @staticmethod
    def until(seconds: int) -> float:
        return time.time() + seconds
