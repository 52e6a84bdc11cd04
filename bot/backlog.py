"""The backlogs `/metrics` shows, read from the database and Redis when it is scraped.

Orders and e-mails waiting in the outboxes, posts waiting for the support groups, tickets waiting for an operator,
failed identification attempts: shared state, so every `mila run` process reports the same numbers (alert on their
`max`). A source that does not answer within `TIMEOUT` leaves its gauges as they were; `/healthz` says which one
is down.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import App
from bot.db.base import utcnow
from bot.db.models import MailMessage, OutboxMessage, SupportStatus, SupportTicket
from bot.metrics import Metrics

log = logging.getLogger("mila.backlog")

TIMEOUT = 2.0


async def _outbox(db: AsyncSession, model: type[OutboxMessage] | type[MailMessage]) -> tuple[int, datetime | None, int]:
    pending = (model.delivered_at.is_(None)) & (model.failed_at.is_(None))
    count, oldest = (await db.execute(select(func.count(), func.min(model.created_at)).where(pending))).one()
    failed = await db.scalar(select(func.count()).select_from(model).where(model.failed_at.is_not(None)))
    return int(count or 0), oldest, int(failed or 0)


async def refresh(app: App, metrics: Metrics) -> None:
    """Bring the backlog gauges up to date (each source on its own: one that is down does not hide the others)."""
    await asyncio.gather(_database(app, metrics), _redis(app, metrics))


async def _database(app: App, metrics: Metrics) -> None:
    try:
        async with asyncio.timeout(TIMEOUT), app.deps.sessionmaker() as db:
            now = utcnow()
            for name, model in (("orders", OutboxMessage), ("mail", MailMessage)):
                count, oldest, failed = await _outbox(db, model)
                metrics.outbox_pending.labels(name).set(count)
                metrics.outbox_oldest.labels(name).set((now - oldest).total_seconds() if oldest else 0)
                metrics.outbox_failed.labels(name).set(failed)
            waiting = await db.scalar(
                select(func.count()).select_from(SupportTicket).where(SupportTicket.status == SupportStatus.WAITING)
            )
            metrics.desk_waiting_tickets.set(int(waiting or 0))
    except Exception as exc:
        log.info("backlog not read from the database", extra={"error": type(exc).__name__})


async def _redis(app: App, metrics: Metrics) -> None:
    try:
        async with asyncio.timeout(TIMEOUT):
            support = app.deps.support
            if support.enabled:
                for group in support.groups:
                    backlog = await support.relay.backlog(group)
                    metrics.desk_pending.labels(str(group)).set(backlog.pending)
                    metrics.desk_behind.labels(str(group)).set(backlog.behind_seconds)
            failures, alarm = await app.deps.lockout.window_failures()
            metrics.identification_failures.set(failures)
            metrics.identification_alarm.set(1 if alarm else 0)
    except Exception as exc:
        log.info("backlog not read from Redis", extra={"error": type(exc).__name__})
