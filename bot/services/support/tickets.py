"""Support tickets in the database: the queries the handoff needs, in one place."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.incoming import UserRef
from bot.db.models import OPEN_SUPPORT_STATUSES, SupportMessage, SupportStatus, SupportTicket


async def open_ticket_of(db: AsyncSession, user: UserRef) -> SupportTicket | None:
    """The user's ticket that is waiting or with an operator (at most one is ever open)."""
    result = await db.execute(
        select(SupportTicket)
        .where(SupportTicket.channel == user.channel, SupportTicket.external_id == user.external_id,
               SupportTicket.status.in_(OPEN_SUPPORT_STATUSES))
        .order_by(SupportTicket.id.desc())
        .limit(1)
    )  # fmt: skip
    return result.scalar_one_or_none()


async def by_topic(db: AsyncSession, group: int, thread: int) -> SupportTicket | None:
    result = await db.execute(
        select(SupportTicket)
        .where(SupportTicket.group_chat_id == group, SupportTicket.thread_id == thread)
        .order_by(SupportTicket.id.desc())
        .limit(1)
    )
    return result.scalar_one_or_none()


async def waiting(db: AsyncSession) -> list[SupportTicket]:
    """The queue: waiting tickets, first come first served."""
    result = await db.execute(
        select(SupportTicket)
        .where(SupportTicket.status == SupportStatus.WAITING.value)
        .order_by(SupportTicket.created_at, SupportTicket.id)
    )
    return list(result.scalars())


async def position_of(db: AsyncSession, ticket: SupportTicket) -> int:
    """1 for the next ticket an operator will take."""
    ahead = await db.scalar(
        select(func.count())
        .select_from(SupportTicket)
        .where(SupportTicket.status == SupportStatus.WAITING.value, SupportTicket.id != ticket.id,
               (SupportTicket.created_at < ticket.created_at)
               | ((SupportTicket.created_at == ticket.created_at) & (SupportTicket.id < ticket.id)))
    )  # fmt: skip
    return int(ahead or 0) + 1


async def least_busy_group(db: AsyncSession, groups: list[int]) -> int:
    """Several support groups share the tickets: a new one goes where the fewest are open."""
    result = await db.execute(
        select(SupportTicket.group_chat_id, func.count())
        .where(SupportTicket.status.in_(OPEN_SUPPORT_STATUSES), SupportTicket.group_chat_id.in_(groups))
        .group_by(SupportTicket.group_chat_id)
    )
    counts = {group: 0 for group in groups}
    for group, count in result.all():
        if group is not None:
            counts[int(group)] = int(count)
    return min(groups, key=lambda group: (counts[group], groups.index(group)))


async def silent_since(db: AsyncSession, before: datetime) -> list[SupportTicket]:
    """Tickets with an operator where nobody wrote since `before`."""
    result = await db.execute(
        select(SupportTicket).where(
            SupportTicket.status == SupportStatus.WITH_OPERATOR.value, SupportTicket.last_activity_at < before
        )
    )
    return list(result.scalars())


async def messages_of(db: AsyncSession, ticket_id: int) -> list[SupportMessage]:
    result = await db.execute(
        select(SupportMessage).where(SupportMessage.ticket_id == ticket_id).order_by(SupportMessage.id)
    )
    return list(result.scalars())
