"""Reconnection on promise ("uključenje na reč"): the operator's rules, enforced here rather than in the chat flow.

A subscriber whose service was disconnected for an unpaid debt may promise to pay and have it reconnected at
once; the debt then falls due `promise_days` later, and an unpaid debt disconnects the service again. The rules
come from the profile's `policies`:

- only an account that is disconnected, and disconnected for debt, can be reconnected on promise;
- at most one promise per account in `promise_period_days` (a rolling window over the orders placed);
- optionally, no promise above `max_promise_debt`.

The idempotency key of the order is derived from the account and the period it falls in, so a double tap on "DA",
or the same update delivered twice, finds the order already placed instead of placing another. Every refusal is
audited as well as every order (the backend audits orders), so the operator can see who asked and why not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.incoming import UserRef
from bot.db.models import AccountStatus, AuditEntry, ChannelUser, DisconnectReason, Order, OrderKind, OrderStatus
from bot.profiles import Policies
from bot.services.backend import AccountInfo, OperatorBackend, OrderRequest, PlacedOrder, placed_order


class Refusal(StrEnum):
    NOT_DISCONNECTED = "not_disconnected"  # the account is on (or only suspended at the subscriber's request)
    NOT_FOR_DEBT = "not_for_debt"  # disconnected, but on request, for inactivity…: a promise does not apply
    NO_DEBT = "no_debt"  # disconnected for debt but nothing is owed any more: the payment is on its way
    OVER_LIMIT = "over_limit"  # the debt is above the profile's maximum for a promise
    ALREADY_USED = "already_used"  # a promise for this account was given within the period


@dataclass(frozen=True, slots=True)
class Terms:
    """What the subscriber is promising: the amount and the day it must be paid by."""

    debt: Decimal
    currency: str
    due_at: datetime


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a promise is possible now; `again_at` tells when, for ALREADY_USED; `limit` for OVER_LIMIT."""

    refusal: Refusal | None
    terms: Terms | None = None
    again_at: datetime | None = None
    limit: Decimal | None = None

    @property
    def allowed(self) -> bool:
        return self.refusal is None


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of "DA": an order (new, or the one the same promise already placed) or a refusal."""

    order: PlacedOrder | None
    verdict: Verdict


class PromiseRules:
    """The rules for one operator; bound to the turn's database session (orders are read in its transaction)."""

    def __init__(self, db: AsyncSession, backend: OperatorBackend, policies: Policies) -> None:
        self.db = db
        self.backend = backend
        self.policies = policies

    def period(self) -> timedelta:
        return timedelta(days=self.policies.promise_period_days)

    def idempotency_key(self, account: AccountInfo, now: datetime) -> str:
        """One key per account and period: the second "DA" of the same period names the same order."""
        bucket = int(now.timestamp() // self.period().total_seconds())
        return f"promise:{account.id}:{self.policies.promise_period_days}d:{bucket}"

    async def check(self, account: AccountInfo, now: datetime) -> Verdict:
        """Can this account be reconnected on promise now? The same answer before the question and after "DA"."""
        if account.status != AccountStatus.DISCONNECTED.value:
            return Verdict(Refusal.NOT_DISCONNECTED)
        if account.disconnect_reason != DisconnectReason.DEBT.value:
            return Verdict(Refusal.NOT_FOR_DEBT)
        if account.debt <= 0:
            return Verdict(Refusal.NO_DEBT)
        limit = self.policies.max_promise_debt
        if limit is not None and account.debt > limit:
            return Verdict(Refusal.OVER_LIMIT, limit=limit)
        last = await self._last_promise(account, now)
        if last is not None:
            return Verdict(Refusal.ALREADY_USED, again_at=last.created_at + self.period())
        due = now + timedelta(days=self.policies.promise_days)
        return Verdict(None, Terms(account.debt, account.currency, due))

    async def promise(self, account: AccountInfo, now: datetime, requested_by: UserRef) -> Outcome:
        """Place the reconnection order, or return the one this promise already placed; refusals are audited."""
        key = self.idempotency_key(account, now)
        existing = await self._order(key)
        if existing is not None:
            return Outcome(
                placed_order(existing, created=False),
                Verdict(None, Terms(account.debt, account.currency, existing.due_at or now)),
            )
        verdict = await self.check(account, now)
        if verdict.terms is None:
            await self._audit_refusal(account, verdict, requested_by, now)
            return Outcome(None, verdict)
        placed = await self.backend.place_order(
            OrderRequest(
                kind=OrderKind.RECONNECT_ON_PROMISE,
                account_id=account.id,
                idempotency_key=key,
                requested_by=requested_by,
                due_at=verdict.terms.due_at,
                payload={"debt": str(account.debt), "currency": account.currency,
                         "promise_days": self.policies.promise_days},
            )
        )  # fmt: skip
        return Outcome(placed, verdict)

    async def _last_promise(self, account: AccountInfo, now: datetime) -> Order | None:
        query = (
            select(Order)
            .where(
                Order.account_id == account.id,
                Order.kind == OrderKind.RECONNECT_ON_PROMISE.value,
                Order.status != OrderStatus.CANCELLED.value,
                Order.created_at > now - self.period(),
            )
            .order_by(Order.created_at.desc())
            .limit(1)
        )
        found: Order | None = (await self.db.execute(query)).scalar_one_or_none()
        return found

    async def _order(self, key: str) -> Order | None:
        found: Order | None = (
            await self.db.execute(select(Order).where(Order.idempotency_key == key))
        ).scalar_one_or_none()
        return found

    async def _audit_refusal(self, account: AccountInfo, verdict: Verdict, actor: UserRef, now: datetime) -> None:
        user_id = (
            await self.db.execute(
                select(ChannelUser.id).where(
                    ChannelUser.channel == actor.channel, ChannelUser.external_id == actor.external_id
                )
            )
        ).scalar_one_or_none()
        self.db.add(
            AuditEntry(
                at=now,
                action="promise",
                outcome="refused",
                channel_user_id=user_id,
                subscriber_id=account.subscriber_id,
                detail={"reason": str(verdict.refusal), "account": account.number},
            )
        )
        await self.db.flush()
