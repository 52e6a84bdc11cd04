"""One-time codes for identification: random, 6 digits, single use, short-lived, bound to the chat that asked.

Only a keyed hash of the code is stored (in Redis, with its expiry), so neither Redis nor a log holds a usable code.
Wrong tries are counted on the code itself: the third wrong one ends it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import Enum

from redis.asyncio import Redis

from bot.core.incoming import UserRef

_VERIFY = """
local stored = redis.call('HGET', KEYS[1], 'h')
if not stored then return {0, ''} end
if stored == ARGV[1] then
  local subject = redis.call('HGET', KEYS[1], 's')
  redis.call('DEL', KEYS[1])
  return {1, subject}
end
local tries = redis.call('HINCRBY', KEYS[1], 'n', 1)
if tries >= tonumber(ARGV[2]) then redis.call('DEL', KEYS[1]); return {3, ''} end
return {2, tostring(tonumber(ARGV[2]) - tries)}
"""


class CodeCheck(Enum):
    OK = "ok"
    NONE = "none"  # no code for this chat: never asked, expired or already used
    WRONG = "wrong"
    EXHAUSTED = "exhausted"  # that was the last allowed try; the code is gone


@dataclass(frozen=True, slots=True)
class CodeResult:
    status: CodeCheck
    subject: str = ""  # what the code proves (e.g. a subscriber id), on success
    tries_left: int = 0


class OneTimeCodes:
    def __init__(
        self, redis: Redis, prefix: str, secret: bytes, *, ttl_seconds: int = 300, max_tries: int = 3, digits: int = 6
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.secret = secret
        self.ttl_seconds = ttl_seconds
        self.max_tries = max_tries
        self.digits = digits
        self._verify = redis.register_script(_VERIFY)

    def _key(self, chat: UserRef) -> str:
        return f"{self.prefix}{chat.channel}:{chat.external_id}:otp"

    def _hash(self, chat: UserRef, code: str) -> str:
        message = f"{chat.key}\x00{code}".encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()

    async def issue(self, chat: UserRef, subject: str) -> str:
        """A fresh code for this chat (replacing any earlier one); the caller sends it by SMS, never stores it."""
        code = f"{secrets.randbelow(10**self.digits):0{self.digits}d}"
        key = self._key(chat)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            pipe.hset(key, mapping={"h": self._hash(chat, code), "s": subject, "n": 0})
            pipe.expire(key, self.ttl_seconds)
            await pipe.execute()
        return code

    async def check(self, chat: UserRef, typed: str) -> CodeResult:
        code = "".join(ch for ch in typed if ch.isdigit())
        status, value = await self._verify(keys=[self._key(chat)], args=[self._hash(chat, code), self.max_tries])
        text = value.decode() if isinstance(value, bytes) else str(value)
        if status == 1:
            return CodeResult(CodeCheck.OK, subject=text)
        if status == 2:
            return CodeResult(CodeCheck.WRONG, tries_left=int(text))
        if status == 3:
            return CodeResult(CodeCheck.EXHAUSTED)
        return CodeResult(CodeCheck.NONE)

    async def cancel(self, chat: UserRef) -> None:
        await self.redis.delete(self._key(chat))
