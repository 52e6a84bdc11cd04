"""Who the user is, for this conversation: set by identification, kept in the session, checked by every flow.

Identification lasts while the conversation is alive (30 minutes idle, 12 hours at most, both configurable) and
ends with /logout. Sensitive actions ask for a fresh identification (step-up) when the last one is older than
ten minutes. Every payload that names an account is re-checked here against the identified subscriber: a user
can forge any button, so an id from a button is only a claim.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.core.engine import StalePayload, pseudonym
from bot.core.ids import parse_id
from bot.core.turn import Turn
from bot.services.backend import AccountInfo, OperatorBackend

log = logging.getLogger("mila.identity")

SLOT = "id"


@dataclass(frozen=True, slots=True)
class IdentityPolicy:
    idle_seconds: int = 30 * 60
    max_age_seconds: int = 12 * 3600
    fresh_seconds: int = 10 * 60  # step-up: sensitive actions want an identification younger than this


@dataclass(frozen=True, slots=True)
class Identity:
    subscriber_id: int
    method: str
    at: float
    name: str  # the first name, to greet; nothing else personal is kept in the session

    def age(self, now: float) -> float:
        """Seconds since identification at `now` (a timestamp of the turn's clock)."""
        return now - self.at


def policy(turn: Turn) -> IdentityPolicy:
    return turn.deps.identity_policy


def current(turn: Turn) -> Identity | None:
    """The identity of this conversation, or None when there is none or it has lapsed."""
    raw = turn.session.extra.get(SLOT)
    if not raw:
        return None
    rules = policy(turn)
    now = turn.now.timestamp()
    idle = now - (turn.session.last_active or now)
    if now - float(raw["at"]) > rules.max_age_seconds or idle > rules.idle_seconds:
        turn.session.extra.pop(SLOT, None)
        return None
    return Identity(int(raw["s"]), str(raw["m"]), float(raw["at"]), str(raw.get("n", "")))


def is_fresh(turn: Turn, identity: Identity) -> bool:
    return identity.age(turn.now.timestamp()) <= policy(turn).fresh_seconds


def remember(turn: Turn, subscriber_id: int, method: str, full_name: str) -> Identity:
    first_name = full_name.split()[0] if full_name.split() else ""
    identity = Identity(subscriber_id, method, turn.now.timestamp(), first_name)
    turn.session.extra[SLOT] = {"s": subscriber_id, "m": method, "at": identity.at, "n": first_name}
    return identity


def forget(turn: Turn) -> bool:
    return turn.session.extra.pop(SLOT, None) is not None


def lockout_tag(turn: Turn, found_id: int | None, typed: str) -> str:
    """What failures count against: the subscriber when the number or code is ours (however it was typed),
    otherwise what was typed (so guessing unknown numbers is limited too) — as a keyed hash, because the tag
    waits in the session between two steps and a typed number must not."""
    typed_tag = turn.deps.lockout.subject_tag(typed)  # worked out either way, so both take as long
    return f"sub:{found_id}" if found_id is not None else "typed:" + typed_tag


def backend(turn: Turn) -> OperatorBackend:
    return turn.deps.backend(turn.db)


async def owned_account(turn: Turn, identity: Identity, raw_id: str) -> AccountInfo:
    """The account a payload names, only if it belongs to the identified subscriber; otherwise the payload is
    refused as stale (the user sees the stale-button notice), logged, and nothing changes."""
    account_id = parse_id(raw_id)
    account = await backend(turn).account(account_id) if account_id is not None else None
    if account is None or account.subscriber_id != identity.subscriber_id:
        log.warning(
            "refused a payload naming an account of another subscriber", extra={"user": pseudonym(turn.user.key)}
        )
        raise StalePayload(turn.payload)
    return account
