"""Console users: Argon2id password hashes, adding, listing and removing users, and the audit of what they do."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.console.links import PENDING
from bot.db.base import utcnow
from bot.db.models import ConsoleAudit, ConsoleRole, ConsoleUser

# argon2-cffi's defaults are Argon2id with RFC 9106's low-memory profile (64 MiB, 3 passes).
HASHER = PasswordHasher()
MIN_PASSWORD = 10
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
# Verified when the name is unknown, so an unknown name costs as long as a wrong password (no user enumeration).
_DUMMY_HASH = HASHER.hash("not a password of anyone")


class UserError(ValueError):
    """A user that cannot be added or removed; the message says why."""


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password must have at least {MIN_PASSWORD} characters")
    return HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Constant work whether or not the user exists (or still waits for their link to set a password); False for
    any hash that does not match or does not parse."""
    usable = stored is not None and stored != PENDING
    try:
        return HASHER.verify(stored if usable and stored else _DUMMY_HASH, password) and usable
    except (VerificationError, InvalidHashError):
        return False


async def add_user(
    db: AsyncSession, username: str, role: str, password: str | None, *, actor: str = "cli"
) -> ConsoleUser:
    """A new user with this password, or with none yet (`password` None: a one-time link will set it)."""
    if not USERNAME.match(username):
        raise UserError("use a name of letters, digits and . _ @ - (at most 64 characters)")
    if role not in {r.value for r in ConsoleRole}:
        raise UserError("the role is one of admin, marketing, support")
    if await find_user(db, username) is not None:
        raise UserError(f"a user named {username} already exists")
    stored = PENDING if password is None else hash_password(password)
    user = ConsoleUser(username=username, role=role, password_hash=stored, created_at=utcnow())
    db.add(user)
    await audit(db, actor, "add_user", username, detail={"role": role, **({"link": True} if password is None else {})})
    await db.flush()
    return user


async def set_first_password(db: AsyncSession, username: str, password_hash: str) -> bool:
    """The password chosen through the user's one-time link; False when the user is gone or has one already."""
    result: Any = await db.execute(
        update(ConsoleUser)
        .where(ConsoleUser.username == username, ConsoleUser.password_hash == PENDING)
        .values(password_hash=password_hash)
    )
    return int(result.rowcount or 0) == 1


async def find_user(db: AsyncSession, username: str) -> ConsoleUser | None:
    found: ConsoleUser | None = await db.scalar(select(ConsoleUser).where(ConsoleUser.username == username))
    return found


async def list_users(db: AsyncSession) -> Sequence[ConsoleUser]:
    return (await db.execute(select(ConsoleUser).order_by(ConsoleUser.username))).scalars().all()


async def remove_user(db: AsyncSession, username: str, *, actor: str = "cli") -> bool:
    user = await find_user(db, username)
    if user is None:
        return False
    await db.execute(delete(ConsoleUser).where(ConsoleUser.id == user.id))
    await audit(db, actor, "remove_user", username)
    return True


async def audit(
    db: AsyncSession, actor: str, action: str, target: str | None = None, *, address: str | None = None,
    detail: dict[str, Any] | None = None, at: datetime | None = None,
) -> None:  # fmt: skip
    db.add(ConsoleAudit(at=at or utcnow(), actor=actor, action=action, target=target, address=address,
                        detail=detail or {}))  # fmt: skip
