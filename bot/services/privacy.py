"""Erasure on request and retention: what the personal data law asks of a chat bot.

`forget` deletes a chat user's profile (language, consents, link to a subscriber) and every Redis key of their
conversation. Orders are kept, as the law requires of what was asked of the operator, but no longer point at the
chat; audit entries are kept unlinked too, so that failed identification attempts still count against the
subscriber they targeted (forgetting must not reset a brute-force counter) until retention removes them.

`run_retention` deletes what is older than `MILA_RETENTION_DAYS`: audit entries, masked typed messages kept for the
learning loop, the analytics' conversation rows and hourly counts, the web console's audit (who did what there, from
which address), delivered outbox messages (they carry a copy of the order's data), and chat users silent for that
long (forgotten as above).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.incoming import UserRef
from bot.core.session import SessionStore
from bot.db.models import (
    AuditEntry,
    ChannelUser,
    ConsoleAudit,
    Conversation,
    Order,
    OutboxMessage,
    SupportTicket,
    UnderstandingEvent,
)
from bot.services.analytics.recording import retain_stats

log = logging.getLogger("mila.privacy")


async def forget_rows(db: AsyncSession, user_ids: list[int]) -> int:
    """Delete these chat users' rows, unlinking their orders and audit entries first; returns how many went."""
    if not user_ids:
        return 0
    await db.execute(update(Order).where(Order.requested_by_id.in_(user_ids)).values(requested_by_id=None))
    await db.execute(update(AuditEntry).where(AuditEntry.channel_user_id.in_(user_ids)).values(channel_user_id=None))
    # Conversations with operators are the user's own words: they go with the profile (messages by cascade).
    await db.execute(delete(SupportTicket).where(SupportTicket.channel_user_id.in_(user_ids)))
    # What they typed, even masked, is theirs too.
    await db.execute(delete(UnderstandingEvent).where(UnderstandingEvent.channel_user_id.in_(user_ids)))
    # Their conversations' rows (times and flags) too; the anonymous hourly counts stay.
    await db.execute(delete(Conversation).where(Conversation.channel_user_id.in_(user_ids)))
    result = await db.execute(delete(ChannelUser).where(ChannelUser.id.in_(user_ids)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def forget_user(db: AsyncSession, user: UserRef) -> bool:
    """The database half of erasure, in the caller's transaction; True when there was a profile to delete."""
    ids = list(
        (
            await db.execute(
                select(ChannelUser.id).where(
                    ChannelUser.channel == user.channel, ChannelUser.external_id == user.external_id
                )
            )
        ).scalars()
    )
    return await forget_rows(db, ids) > 0


async def forget(db: AsyncSession, sessions: SessionStore | None, user: UserRef) -> bool:
    """Erase a chat user: the database first (committed here), then their Redis keys.

    In that order because a failure in between leaves only short-lived conversation state behind (it expires
    on its own), never a profile the user was told was deleted.
    """
    found = await forget_user(db, user)
    await db.commit()
    if sessions is not None:
        await sessions.forget(user)
    log.info("chat user forgotten", extra={"channel": user.channel})
    return found


@dataclass(frozen=True, slots=True)
class RetentionReport:
    audit_entries: int
    outbox_messages: int
    channel_users: int
    conversations: int = 0
    console_audit: int = 0

    def summary(self) -> str:
        return (
            f"deleted {self.audit_entries} audit entries, {self.outbox_messages} delivered outbox messages, "
            f"{self.channel_users} inactive chat users, {self.conversations} conversations, "
            f"{self.console_audit} console audit entries"
        )


async def run_retention(db: AsyncSession, days: int, now: datetime) -> RetentionReport:
    """Delete what is older than `days`, in the caller's transaction."""
    cutoff = now - timedelta(days=days)
    audit = await db.execute(delete(AuditEntry).where(AuditEntry.at < cutoff))
    await db.execute(delete(UnderstandingEvent).where(UnderstandingEvent.at < cutoff))
    conversations, _hours = await retain_stats(db, cutoff)
    console = await db.execute(delete(ConsoleAudit).where(ConsoleAudit.at < cutoff))
    outbox = await db.execute(
        delete(OutboxMessage).where(OutboxMessage.delivered_at.is_not(None), OutboxMessage.delivered_at < cutoff)
    )
    silent = list((await db.execute(select(ChannelUser.id).where(ChannelUser.last_seen < cutoff))).scalars())
    users = await forget_rows(db, silent)
    return RetentionReport(
        audit_entries=int(audit.rowcount or 0),  # type: ignore[attr-defined]
        outbox_messages=int(outbox.rowcount or 0),  # type: ignore[attr-defined]
        channel_users=users,
        conversations=conversations,
        console_audit=int(console.rowcount or 0),  # type: ignore[attr-defined]
    )
