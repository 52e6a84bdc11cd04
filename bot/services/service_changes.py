"""Turning a line's services on and off: the catalogue's rules, enforced here rather than in the chat flow.

The catalogue is the profile's `services`. A change is refused, with the reason the subscriber is told, when the
tariff plan does not allow the service (`not_in_tariffs`), when it needs another service that is off (`requires`:
MMS needs GPRS), or when turning it off would leave a service that depends on it without it (GPRS while MMS is on).
The rules see the line as it will be once its service orders still waiting are carried out (`Line`): with GPRS
ordered off, MMS cannot be ordered on; a service with a change waiting is not ordered again (`ORDERED`, with the
number of the order already placed). Only an active line's services change (`NOT_ACTIVE`).

The idempotency key names the account, the service, the direction and a `round` fixed when the confirmation was
shown (how many changes of this service were ordered before): the same "yes" pressed twice, or delivered twice,
places one order, while a later change of mind gets a key of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.incoming import UserRef
from bot.db.models import AccountStatus, Order, OrderKind, OrderStatus
from bot.profiles import Profile, Service
from bot.services.backend import AccountInfo, OperatorBackend, OrderRequest, PlacedOrder, placed_order


class Refusal(StrEnum):
    UNKNOWN = "unknown"  # not in this operator's catalogue (a forged or stale button)
    NOT_IN_TARIFF = "not_in_tariff"
    NEEDS = "needs"  # turning on: a required service is off
    NEEDED_BY = "needed_by"  # turning off: a service that is on depends on it
    ORDERED = "ordered"  # a change of this service is already ordered and waiting (`order` is its number)
    NOT_ACTIVE = "not_active"  # the line is disconnected or suspended


SERVICE_KINDS = (OrderKind.SERVICE_ON.value, OrderKind.SERVICE_OFF.value)
WAITING = (OrderStatus.PENDING.value, OrderStatus.SENT.value)  # placed, not yet carried out


@dataclass(frozen=True, slots=True)
class Change:
    """A requested change and whether it is allowed; `others` are the services a NEEDS/NEEDED_BY names, `order` the
    number of the waiting order an ORDERED names (`turn_on` is then that order's direction)."""

    service: Service | None
    turn_on: bool
    refusal: Refusal | None = None
    others: tuple[Service, ...] = ()
    order: str | None = None

    @property
    def allowed(self) -> bool:
        return self.refusal is None


def is_on(account: AccountInfo, code: str) -> bool:
    found = account.service(code)
    return bool(found and found.enabled)


def changeable(account: AccountInfo) -> bool:
    """Only an active line's services can be changed: not one disconnected (for debt or otherwise) or suspended."""
    return account.status == AccountStatus.ACTIVE


@dataclass(frozen=True, slots=True)
class Line:
    """A line's services as the operator's data records them, and the waiting orders that will change them."""

    account: AccountInfo
    ordered: Mapping[str, PlacedOrder] = field(default_factory=dict)  # service code → the order that changes it

    def is_on(self, code: str) -> bool:
        """The service's state once the waiting orders are carried out: what the rules judge."""
        waiting = self.ordered.get(code)
        return waiting.kind == OrderKind.SERVICE_ON if waiting else is_on(self.account, code)


def check_change(profile: Profile, line: Line, code: str, *, turn_on: bool | None = None) -> Change:
    """What turning `code` over on this line would do; `turn_on=None` means "the opposite of its state"."""
    service = profile.service(code)
    account = line.account
    target = (not line.is_on(code)) if turn_on is None else turn_on
    if service is None:
        return Change(None, target, Refusal.UNKNOWN)
    if not changeable(account):
        return Change(service, target, Refusal.NOT_ACTIVE)
    waiting = line.ordered.get(code)
    if waiting is not None:
        return Change(service, line.is_on(code), Refusal.ORDERED, order=waiting.number)
    if target:
        if account.tariff and account.tariff in service.not_in_tariffs:
            return Change(service, target, Refusal.NOT_IN_TARIFF)
        missing = tuple(s for s in (profile.service(c) for c in service.requires) if s and not line.is_on(s.code))
        if missing:
            return Change(service, target, Refusal.NEEDS, missing)
        return Change(service, target)
    dependants = tuple(s for s in profile.services if code in s.requires and line.is_on(s.code))
    if dependants:
        return Change(service, target, Refusal.NEEDED_BY, dependants)
    return Change(service, target)


class ServiceChanges:
    """Places service orders for one turn, in its transaction."""

    def __init__(self, db: AsyncSession, backend: OperatorBackend, profile: Profile) -> None:
        self.db = db
        self.backend = backend
        self.profile = profile

    async def line(self, account: AccountInfo) -> Line:
        """The account with its service orders still waiting: for each service the latest one, when it changes
        what the operator's data records (an order already carried out and imported changes nothing)."""
        rows = await self.db.scalars(
            select(Order)
            .where(Order.account_id == account.id, Order.kind.in_(SERVICE_KINDS), Order.status.in_(WAITING))
            .order_by(Order.id)
        )
        latest = {row.payload.get("service"): row for row in rows}
        return Line(
            account,
            {
                code: placed_order(row, created=False)
                for code, row in latest.items()
                if code and account.service(code) and (row.kind == OrderKind.SERVICE_ON) != is_on(account, code)
            },
        )

    async def round(self, account: AccountInfo, code: str) -> int:
        """How many changes of this service on this account were ordered so far: part of the next key."""
        count = await self.db.scalar(
            select(func.count(Order.id)).where(
                Order.account_id == account.id,
                Order.kind.in_(SERVICE_KINDS),
                Order.payload["service"].as_string() == code,
            )
        )
        return int(count or 0)

    async def order(
        self,
        account: AccountInfo,
        code: str,
        turn_on: bool,
        round_: int,
        requested_by: UserRef,
        number: str | None = None,
    ) -> tuple[Change, PlacedOrder | None]:
        """Check again (the line and its waiting orders may have changed since the question) and place the order
        once."""
        key = f"service:{account.id}:{code}:{'on' if turn_on else 'off'}:{round_}"
        existing = await self.db.scalar(select(Order).where(Order.idempotency_key == key))
        if existing is not None:
            return Change(self.profile.service(code), turn_on), await self.backend.place_order(_same(existing, key))
        change = check_change(self.profile, await self.line(account), code, turn_on=turn_on)
        if not change.allowed:
            return change, None
        placed = await self.backend.place_order(
            OrderRequest(
                kind=OrderKind.SERVICE_ON if turn_on else OrderKind.SERVICE_OFF,
                account_id=account.id,
                idempotency_key=key,
                requested_by=requested_by,
                payload={"service": code, **({"number": number} if number else {})},
            )
        )
        return change, placed


def _same(order: Order, key: str) -> OrderRequest:
    """A request the backend answers with the order already placed under `key`."""
    return OrderRequest(kind=OrderKind(order.kind), account_id=order.account_id or 0, idempotency_key=key)
