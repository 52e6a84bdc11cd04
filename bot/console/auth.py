"""Console sessions, CSRF tokens and the login lockout, all in Redis (shared by every `mila run` process).

- A session is a random id (256 bits) in an HttpOnly, SameSite=Strict cookie (Secure behind https), pointing to
  `console:session:<id>` with the user's name (and a digest of their password hash, so that a user removed and
  added again does not inherit the sessions opened before), the session's CSRF token and language; it expires after
  `ADMIN_SESSION_IDLE` seconds without a request. A login always makes a new id and drops the one the browser had
  (no session fixation); logout deletes it.
- Before login, the form's CSRF token is an HMAC of a random pre-login cookie, so a page of another site can't
  post a login either.
- The lockout reserves an attempt atomically (one Lua script) for the name and for the client's address before
  the password is checked: of any number of simultaneous wrong logins, no more than the policy's attempts reach
  the (deliberately slow) Argon2 check; the rest are refused at once. A good password clears the name's count.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from redis.asyncio import Redis

SESSION_COOKIE = "mila_console"
LOGIN_COOKIE = "mila_console_login"

# KEYS: the name's and the address's counters; ARGV: their limits, then the window in seconds.
# Refused (0) when either has reached its limit; else both counted (1), the window starting at the first attempt.
_RESERVE = """
for i = 1, #KEYS do
  local n = tonumber(redis.call('GET', KEYS[i]) or '0')
  if n >= tonumber(ARGV[i]) then return 0 end
end
for i = 1, #KEYS do
  if redis.call('INCR', KEYS[i]) == 1 then redis.call('EXPIRE', KEYS[i], ARGV[#KEYS + 1]) end
end
return 1
"""


# KEYS: the name's and the address's counters. The name's is dropped, the address's counted down by one.
_GIVE_BACK = """
redis.call('DEL', KEYS[1])
if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then redis.call('DECR', KEYS[2]) end
return 1
"""


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    per_name: int = 5
    per_address: int = 20
    window_seconds: int = 15 * 60


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    username: str
    csrf: str
    language: str | None
    owner: str = ""  # a digest of the user's password hash at login (bot.console.auth.Auth.owner_of)


class Auth:
    def __init__(self, redis: Redis, prefix: str, key: bytes, *, idle_seconds: int, lockout: LockoutPolicy) -> None:
        self.redis = redis
        self.prefix = prefix + "console:"
        self.key = key
        self.idle_seconds = idle_seconds
        self.lockout = lockout
        self._reserve = redis.register_script(_RESERVE)
        self._give_back = redis.register_script(_GIVE_BACK)

    # --- lockout ---
    def _digest(self, kind: str, value: str) -> str:
        # Names and addresses are keyed, never stored in clear in Redis.
        return hmac.new(self.key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:32]

    def _lock_keys(self, username: str, address: str) -> list[str]:
        return [self.prefix + "fail:name:" + self._digest("name", username.casefold()),
                self.prefix + "fail:addr:" + self._digest("addr", address)]  # fmt: skip

    async def reserve_attempt(self, username: str, address: str) -> bool:
        """One more login attempt for this name and address, counted before the password is checked."""
        policy = self.lockout
        keys = self._lock_keys(username, address)
        allowed = await self._reserve(keys=keys, args=[policy.per_name, policy.per_address, policy.window_seconds])
        return bool(int(allowed))

    async def succeeded(self, username: str, address: str) -> None:
        """A good password: the name's failures are forgotten, and the address gets back the attempt reserved for this
        login (its failures stay until their window ends): many good logins from one office are never a lockout."""
        name_key, address_key = self._lock_keys(username, address)
        await self._give_back(keys=[name_key, address_key])

    # --- login form ---
    def login_csrf(self, login_cookie: str) -> str:
        return hmac.new(self.key, b"console-login:" + login_cookie.encode(), hashlib.sha256).hexdigest()

    def login_csrf_ok(self, login_cookie: str | None, token: str | None) -> bool:
        if not login_cookie or not token:
            return False
        return hmac.compare_digest(self.login_csrf(login_cookie), token)

    # --- sessions ---
    def _session_key(self, session_id: str) -> str:
        # The id itself is a bearer secret: Redis keeps its hash only.
        return self.prefix + "session:" + hashlib.sha256(session_id.encode()).hexdigest()

    def owner_of(self, password_hash: str) -> str:
        """Which user a session belongs to beyond the name: a user removed and added again (a password reset) gets a
        new Argon2 hash (a new salt), so the sessions opened before no longer match."""
        return self._digest("owner", password_hash)

    def owned_by(self, session: Session, password_hash: str) -> bool:
        return hmac.compare_digest(session.owner, self.owner_of(password_hash))

    async def create(self, username: str, language: str | None, password_hash: str) -> Session:
        session = Session(secrets.token_urlsafe(32), username, secrets.token_urlsafe(32), language,
                          self.owner_of(password_hash))  # fmt: skip
        key = self._session_key(session.id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"user": username, "csrf": session.csrf, "lang": language or "",
                                    "owner": session.owner})  # fmt: skip
            pipe.expire(key, self.idle_seconds)
            await pipe.execute()
        return session

    async def load(self, session_id: str | None) -> Session | None:
        """The session, its idle timer started again; None when unknown or expired."""
        if not session_id or len(session_id) > 128:
            return None
        key = self._session_key(session_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(key)
            pipe.expire(key, self.idle_seconds, xx=True)
            fields, _ = await pipe.execute()
        if not fields:
            return None
        data = {k.decode() if isinstance(k, bytes) else k: v.decode() if isinstance(v, bytes) else v
                for k, v in fields.items()}  # fmt: skip
        return Session(session_id, data["user"], data["csrf"], data.get("lang") or None, data.get("owner", ""))

    async def set_language(self, session: Session, language: str) -> None:
        await self.redis.hset(self._session_key(session.id), "lang", language)

    async def end(self, session_id: str) -> None:
        await self.redis.delete(self._session_key(session_id))

    @staticmethod
    def csrf_ok(session: Session, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(session.csrf, token or "")
