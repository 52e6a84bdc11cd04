"""Delivers orders to the operator's provisioning system: signed JSON POSTs, retried with backoff, at least once.

Each outbox row was written in the same transaction as its order. The worker (the retry loop of
bot.services.delivery, shared with the complaint e-mails) takes one due row at a time, locked so that several
workers never send the same row at the same time, POSTs it, and records the outcome. A 2xx answer marks it
delivered; anything else (a refusal, a timeout, a dropped connection) schedules another attempt after an
exponentially growing, jittered delay, until `PROVISIONING_MAX_ATTEMPTS`. Because a crash between the POST and
the commit sends the row again, the receiver must dedupe on the idempotency key, which every POST carries in its
body and in `X-Mila-Idempotency-Key`. Without `PROVISIONING_URL` nothing is sent and orders wait.

The body is signed with HMAC-SHA256 under `PROVISIONING_SECRET`: `X-Mila-Signature: sha256=<hex>` over the exact
bytes sent, so the receiver can check it before parsing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from datetime import datetime

import aiohttp
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import ProvisioningSettings
from bot.db.base import utcnow
from bot.db.models import Order, OrderStatus, OutboxMessage
from bot.services.delivery import Attempt, RetryingWorker

__all__ = ["IDEMPOTENCY_HEADER", "SIGNATURE_HEADER", "Attempt", "OutboxWorker", "sign", "signature_valid"]

log = logging.getLogger("mila.outbox")

SIGNATURE_HEADER = "X-Mila-Signature"
IDEMPOTENCY_HEADER = "X-Mila-Idempotency-Key"


def sign(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def signature_valid(secret: bytes, body: bytes, header: str | None) -> bool:
    """For receivers (and the tests): does the header sign exactly these bytes?"""
    return header is not None and hmac.compare_digest(sign(secret, body), header)


class OutboxWorker(RetryingWorker[OutboxMessage]):
    """Orders to `PROVISIONING_URL`: the shared retry loop, a signed POST, and the order's status on the way."""

    model = OutboxMessage
    what = "order"

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: ProvisioningSettings,
        *,
        clock: Callable[[], datetime] = utcnow,
        http: aiohttp.ClientSession | None = None,
    ) -> None:
        super().__init__(sessionmaker, settings, clock=clock)
        self.settings = settings
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

    async def send(self, row: OutboxMessage) -> str | None:
        body = json.dumps(row.body, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
        return await self._post(body, row.idempotency_key)

    async def delivered(self, db: AsyncSession, row: OutboxMessage, at: datetime) -> None:
        if row.order_id is not None:
            await db.execute(
                update(Order)
                .where(Order.id == row.order_id, Order.status == OrderStatus.PENDING.value)
                .values(status=OrderStatus.SENT.value, sent_at=at)
            )

    async def gave_up(self, db: AsyncSession, row: OutboxMessage, at: datetime) -> None:
        if row.order_id is not None:
            await db.execute(
                update(Order)
                .where(Order.id == row.order_id, Order.status == OrderStatus.PENDING.value)
                .values(status=OrderStatus.FAILED.value)
            )

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
