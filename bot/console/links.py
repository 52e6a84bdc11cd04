"""One-time links for a new console user to choose their password (`mila admin add-user NAME --role R --link`).

The token (256 bits) is only in the link; Redis keeps `console:link:<sha256 of the token>` → the user's name, expiring
after `ADMIN_LINK_TTL` seconds. Using the link takes the key with GETDEL: of any number of simultaneous uses exactly
one gets the name, so a link sets a password once. Until then the user's stored hash is `PENDING`, which matches no
password (the login costs the same Argon2 check as for an unknown name).
"""

from __future__ import annotations

import hashlib
import re
import secrets

from redis.asyncio import Redis

from bot.config import AdminSettings

PENDING = "!link"  # the password hash of a user whose link is not used yet: not a hash, matches nothing
TOKEN = re.compile(r"^[A-Za-z0-9_-]{32,128}$")


def _key(prefix: str, token: str) -> str:
    return f"{prefix}console:link:{hashlib.sha256(token.encode()).hexdigest()}"


async def create_link(redis: Redis, prefix: str, username: str, ttl_seconds: int) -> str:
    """A new link's token for this user, valid `ttl_seconds`; Redis keeps only its hash."""
    token = secrets.token_urlsafe(32)
    await redis.set(_key(prefix, token), username, ex=ttl_seconds)
    return token


async def link_user(redis: Redis, prefix: str, token: str) -> str | None:
    """Whose link this is, without using it; None when unknown, used or expired."""
    if not TOKEN.match(token):
        return None
    name = await redis.get(_key(prefix, token))
    return name.decode() if isinstance(name, bytes) else name


async def use_link(redis: Redis, prefix: str, token: str) -> str | None:
    """The link's user, the link gone with it (atomically: one caller gets the name); None when already used."""
    if not TOKEN.match(token):
        return None
    name = await redis.getdel(_key(prefix, token))
    return name.decode() if isinstance(name, bytes) else name


def link_url(admin: AdminSettings, token: str) -> str:
    """The link as its user opens it: on `ADMIN_PUBLIC_URL` when set, else on the console's own listener."""
    if admin.public_url:
        base = admin.public_url.rstrip("/")
    else:
        host = f"[{admin.host}]" if ":" in admin.host else admin.host
        base = f"http://{host}:{admin.port}"
    return f"{base}/welcome/{token}"
