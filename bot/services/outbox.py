"""Delivers orders to the operator's provisioning system: signed JSON POSTs, retried with backoff, at least once.

Each outbox row was written in the same transaction as its order. The worker takes one due row at a time,
locked so that several workers never send the same row at the same time (PostgreSQL: `FOR UPDATE SKIP LOCKED`;
SQLite has no row locks, so run a single worker there), POSTs it, and records the outcome. A 2xx answer marks it
delivered; anything else (a refusal, a timeout, a dropped connection) schedules another attempt after an
exponentially growing, jittered delay, until `PROVISIONING_MAX_ATTEMPTS`. Because a crash between the POST and
the commit sends the row again, the receiver must dedupe on the idempotency key, which every POST carries in its
body and in `X-Mila-Idempotency-Key`. Without `PROVISIONING_URL` nothing is sent and orders wait.

The body is signed with HMAC-SHA256 under `PROVISIONING_SECRET`: `X-Mila-Signature: sha256=<hex>` over the exact
bytes sent, so the receiver can check it before parsing.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiohttp
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import ProvisioningSettings
from bot.db.base import utcnow
from bot.db.models import Order, OrderStatus, OutboxMessage

log = logging.getLogger("mila.outbox")

SIGNATURE_HEADER = "X-Mila-Signature"
IDEMPOTENCY_HEADER = "X-Mila-Idempotency-Key"


def sign(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def signature_valid(secret: bytes, body: bytes, header: str | None) -> bool:
    """For receivers (and the tests): does the header sign exactly these bytes?"""
    return header is not None and hmac.compare_digest(sign(secret, body), header)


@dataclass(frozen=True, slots=True)
class Attempt:
    outbox_id: int
    delivered: bool
    error: str | None = None


class OutboxWorker:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: ProvisioningSettings,
        *,
        clock: Callable[[], datetime] = utcnow,
        http: aiohttp.ClientSession | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.clock = clock
        self._http = http
        self._own_http = http is None

    @property
    def enabled(self) -> bool:
        return self.settings.url is not None

    async def close(self) -> None:
        if self._http is not None and self._own_http:
            await self._http.close()
        self._http = None

    def _client(self) -> aiohttp.ClientSession:
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.settings.timeout_seconds))
        return self._http

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
        """Deliver until `stop` is set; sleeps `poll_seconds` whenever nothing was due."""
        try:
            while not stop.is_set():
                done = await self.run_once()
                if not done:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=poll_seconds)
        finally:
            await self.close()

    async def _deliver_next(self) -> Attempt | None:
        now = self.clock()
        async with self.sessionmaker() as db, db.begin():
            row = (
                await db.execute(
                    select(OutboxMessage)
                    .where(
                        OutboxMessage.delivered_at.is_(None),
                        OutboxMessage.failed_at.is_(None),
                        OutboxMessage.next_attempt_at <= now,
                    )
                    .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                )
            ).scalar_one_or_none()
            if row is None:
                return None
            body = json.dumps(row.body, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
            error = await self._post(body, row.idempotency_key)
            row.attempts += 1
            done_at = self.clock()
            if error is None:
                row.delivered_at = done_at
                row.last_error = None
                if row.order_id is not None:
                    await db.execute(
                        update(Order)
                        .where(Order.id == row.order_id, Order.status == OrderStatus.PENDING.value)
                        .values(status=OrderStatus.SENT.value, sent_at=done_at)
                    )
                log.info("order delivered", extra={"outbox": row.id, "attempts": row.attempts})
                return Attempt(row.id, True)
            row.last_error = error[:200]
            if row.attempts >= self.settings.max_attempts:
                row.failed_at = done_at
                if row.order_id is not None:
                    await db.execute(
                        update(Order)
                        .where(Order.id == row.order_id, Order.status == OrderStatus.PENDING.value)
                        .values(status=OrderStatus.FAILED.value)
                    )
                log.error("order not delivered, giving up", extra={"outbox": row.id, "attempts": row.attempts})
            else:
                row.next_attempt_at = done_at + timedelta(seconds=self.backoff(row.attempts))
                log.warning("order delivery failed, will retry", extra={"outbox": row.id, "attempts": row.attempts})
            return Attempt(row.id, False, error)

    def backoff(self, attempts: int) -> float:
        """Seconds before attempt `attempts + 1`: base × 2^(n-1), capped, with ±20 % jitter so retries spread."""
        delay = min(self.settings.backoff_seconds * 2 ** (attempts - 1), self.settings.max_backoff_seconds)
        return float(delay * random.uniform(0.8, 1.2))

    async def _post(self, body: bytes, idempotency_key: str) -> str | None:
        """None on a 2xx answer, else a short description of what went wrong (no body content: it may be personal)."""
        assert self.settings.url is not None
        secret = self.settings.secret.get_secret_value().encode() if self.settings.secret else b""
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            SIGNATURE_HEADER: sign(secret, body),
            IDEMPOTENCY_HEADER: idempotency_key,
        }
        try:
            async with self._client().post(self.settings.url, data=body, headers=headers) as response:
                await response.read()
                if 200 <= response.status < 300:
                    return None
                return f"HTTP {response.status}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            return f"{type(exc).__name__}"
