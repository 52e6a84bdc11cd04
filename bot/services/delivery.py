"""The retry loop every outbox shares: claim one due row, try to deliver it, record the outcome, back off.

Orders to the provisioning system (bot.services.outbox) and complaint e-mails (bot.services.mail) are both rows
written in the transaction that created them and delivered later, at least once. What differs is only how a row
is sent and what else changes when it is delivered or given up; that is what a subclass provides.

A row is claimed with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so several workers never send the same row at the
same time; SQLite has no row locks, so run a single worker there. A failed attempt schedules the next one after an
exponentially growing, jittered delay, until the policy's `max_attempts`; then the row is marked failed and kept.
A row that can never be sent (`Undeliverable`) is marked failed at once, with the reason; a row that meets a bug is
retried like a failure. Either way the rows behind it go on: one bad row never stops an outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.base import utcnow
from bot.db.models import DeliveryState

log = logging.getLogger("mila.delivery")


class RetryPolicy(Protocol):
    """The three numbers of a retry schedule (each outbox's settings section has them)."""

    @property
    def backoff_seconds(self) -> float: ...

    @property
    def max_backoff_seconds(self) -> float: ...

    @property
    def max_attempts(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Attempt:
    outbox_id: int
    delivered: bool
    error: str | None = None


class Undeliverable(Exception):
    """This row can never be delivered as it is (its e-mail cannot be composed, say): it is marked failed at once
    with the reason, kept for `mila outbox list`, and the worker moves on to the other rows."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


RowT = TypeVar("RowT", bound=DeliveryState)


class RetryingWorker(Generic[RowT]):
    """Delivers the due rows of one outbox table; subclasses say how (`send`) and what follows (`delivered`)."""

    model: type[RowT]
    what = "message"  # for log lines

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        policy: RetryPolicy,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.policy = policy
        self.clock = clock
        self.on_success: Callable[[], None] = lambda: None  # `mila run` records the time of the last good pass

    @property
    def enabled(self) -> bool:
        return True

    async def close(self) -> None:
        """Release what `send` opened (an HTTP session); nothing by default."""

    # --- what subclasses provide ------------------------------------------------------------------------------
    async def send(self, row: RowT) -> str | None:
        """Deliver one row: None when it was accepted, else a short description of what went wrong."""
        raise NotImplementedError

    async def delivered(self, db: AsyncSession, row: RowT, at: datetime) -> None:
        """What else changes, in the same transaction, when a row is delivered."""

    async def gave_up(self, db: AsyncSession, row: RowT, at: datetime) -> None:
        """What else changes, in the same transaction, when the last attempt failed."""

    # --- the loop -----------------------------------------------------------------------------------------------
    async def run_once(self, limit: int = 100) -> list[Attempt]:
        """Try every row that is due now (up to `limit`), one transaction per row; returns what happened."""
        attempts: list[Attempt] = []
        if not self.enabled:
            return attempts
        for _ in range(limit):
            attempt = await self._deliver_next()
            if attempt is None:
                break
            attempts.append(attempt)
        return attempts

    async def run_forever(self, stop: asyncio.Event, poll_seconds: float = 1.0) -> None:
        """Deliver until `stop` is set; sleeps `poll_seconds` whenever nothing was due.

        A pass that fails as a whole (the database is unreachable) is logged and tried again after the pause; each
        pass that completes counts as a sign of life (`on_success`), which `mila run` shows in /healthz."""
        try:
            while not stop.is_set():
                try:
                    done = await self.run_once()
                except (SQLAlchemyError, OSError) as exc:
                    log.warning(f"{self.what} outbox not read", extra={"error": type(exc).__name__})
                    done = []
                else:
                    self.on_success()
                if not done:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=poll_seconds)
        finally:
            await self.close()

    async def _deliver_next(self) -> Attempt | None:
        model = self.model
        now = self.clock()
        async with self.sessionmaker() as db, db.begin():
            row = (
                await db.execute(
                    select(model)
                    .where(model.delivered_at.is_(None), model.failed_at.is_(None), model.next_attempt_at <= now)
                    .order_by(model.next_attempt_at, model.id)  # type: ignore[attr-defined]
                    .limit(1)
                    .with_for_update(skip_locked=True)
                )
            ).scalar_one_or_none()
            if row is None:
                return None
            row_id: int = row.id  # type: ignore[attr-defined]
            final = False
            try:
                error = await self.send(row)
            except Undeliverable as exc:
                error, final = exc.reason, True
            except SQLAlchemyError:
                raise  # the transaction itself is gone: nothing can be recorded in it
            except Exception as exc:
                # A bug met by this row only: it is logged and retried later like any failure, so it never holds
                # up the rows behind it.
                log.exception(f"{self.what} could not be sent", extra={"outbox": row_id})
                error = f"error: {type(exc).__name__}"
            row.attempts += 1
            done_at = self.clock()
            if error is None:
                row.delivered_at = done_at
                row.last_error = None
                await self.delivered(db, row, done_at)
                log.info(f"{self.what} delivered", extra={"outbox": row_id, "attempts": row.attempts})
                return Attempt(row_id, True)
            row.last_error = error[:200]
            if final or row.attempts >= self.policy.max_attempts:
                row.failed_at = done_at
                await self.gave_up(db, row, done_at)
                log.error(
                    f"{self.what} not delivered, giving up",
                    extra={"outbox": row_id, "attempts": row.attempts, "error": row.last_error},
                )
            else:
                row.next_attempt_at = done_at + timedelta(seconds=self.backoff(row.attempts))
                log.warning(
                    f"{self.what} delivery failed, will retry", extra={"outbox": row_id, "attempts": row.attempts}
                )
            return Attempt(row_id, False, error)

    def backoff(self, attempts: int) -> float:
        """Seconds before attempt `attempts + 1`: base × 2^(n-1), capped, with ±20 % jitter so retries spread."""
        delay = min(self.policy.backoff_seconds * 2 ** (attempts - 1), self.policy.max_backoff_seconds)
        return float(delay * random.uniform(0.8, 1.2))
