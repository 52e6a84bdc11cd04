"""The operator's subscriber data, behind one interface the flows use.

In a deployment the truth is the operator's billing system; mila keeps a copy that the operator loads with
`mila import`, and `TableBackend` answers from it. A live billing adapter can replace the subscriber data by
implementing `OperatorBackend` (the flows only see the small value types below, never a table row); orders, their
outbox rows and the audit log stay in mila's tables, where the promise and service-change rules read them.

Every identification attempt and every order is written to the audit log (never the secret that was typed), and
an order is written together with its outbox row in the caller's transaction, so it is either both recorded and
going to be delivered, or neither.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import case, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.incoming import UserRef
from bot.db.base import utcnow
from bot.db.models import (
    Account,
    AccountService,
    AuditEntry,
    Bill,
    ChannelUser,
    Order,
    OrderKind,
    OrderStatus,
    OutboxMessage,
    Subscriber,
)
from bot.profiles import Profile
from bot.services.personal_data import (
    BadPhone,
    normalize_phone,
    open_sim_code,
    passport_matches,
    phone_hash,
    same_name,
    verify_code_word,
)

log = logging.getLogger("mila.backend")

# A public order number is random, not the row id: it does not tell anyone how many orders the operator gets,
# and eight digits are easy to read out to the contact centre.
ORDER_NUMBER_DIGITS = 8
ORDER_NUMBER_PREFIX = "N-"


@dataclass(frozen=True, slots=True)
class SubscriberInfo:
    id: int
    customer_code: str
    full_name: str
    segment: str
    has_code_word: bool
    has_passport: bool
    contact_phone: str | None = None  # E.164, where one-time codes for a customer code go; show it masked


@dataclass(frozen=True, slots=True)
class ServiceInfo:
    code: str
    enabled: bool


@dataclass(frozen=True, slots=True)
class BillInfo:
    """One unpaid bill: the month billed ("2026-11"), its amount and the day it was due."""

    period: str
    amount: Decimal
    due_on: date


@dataclass(frozen=True, slots=True)
class WaitingOrder:
    """An order that changes what a line is (suspended, reconnected, …), placed and not carried out yet."""

    kind: OrderKind
    number: str


# The orders after which a screen must not show the line's old state nor offer the same action again.
LINE_ORDERS = (
    OrderKind.RECONNECT_ON_PROMISE,
    OrderKind.SUSPEND,
    OrderKind.RESUME,
    OrderKind.UNBLOCK,
    OrderKind.FAVOURITE_NUMBER,
)
WAITING_STATUSES = (OrderStatus.PENDING.value, OrderStatus.SENT.value)


@dataclass(frozen=True, slots=True)
class AccountInfo:
    id: int
    subscriber_id: int
    number: str
    kind: str
    phone: str | None  # E.164; show it masked
    status: str
    disconnect_reason: str | None
    debt: Decimal
    currency: str
    tariff: str | None
    services: tuple[ServiceInfo, ...] = ()
    bills: tuple[BillInfo, ...] = ()  # the unpaid bills the data holds, oldest first; may be none
    waiting: tuple[WaitingOrder, ...] = ()  # orders on the line's state placed since the data last changed

    def waiting_order(self, *kinds: OrderKind) -> WaitingOrder | None:
        """The newest order of these kinds still waiting to be carried out, if any."""
        return next((o for o in self.waiting if o.kind in kinds), None)

    def service(self, code: str) -> ServiceInfo | None:
        return next((s for s in self.services if s.code == code), None)


@dataclass(frozen=True, slots=True)
class OrderRequest:
    kind: OrderKind
    account_id: int
    idempotency_key: str  # the same key twice places one order: derive it from what the user confirmed
    requested_by: UserRef | None = None
    due_at: datetime | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    id: int
    number: str
    kind: str
    account_number: str
    status: str
    created_at: datetime
    due_at: datetime | None
    created: bool  # False when an order with this idempotency key already existed


class UnknownAccount(LookupError):
    """An order for an account that does not exist (a forged or stale id)."""


class OperatorBackend(Protocol):
    """What the flows may ask of the operator's subscriber data."""

    async def find_by_phone(self, phone: str, *, actor: UserRef | None = None) -> SubscriberInfo | None:
        """The subscriber owning this line (or with this contact phone); any way the number is written."""

    async def find_by_customer_code(self, code: str, *, actor: UserRef | None = None) -> SubscriberInfo | None:
        """By customer code; an account number ("1234567/1") finds its customer too."""

    async def verify_code_word(self, subscriber_id: int, word: str, *, actor: UserRef | None = None) -> bool:
        """Does the typed code word match? False also when the subscriber has none."""

    async def verify_name_passport(
        self, subscriber_id: int, full_name: str, passport: str, *, actor: UserRef | None = None
    ) -> bool:
        """Do the typed full name and passport both match the subscriber's?"""

    async def subscriber(self, subscriber_id: int) -> SubscriberInfo | None:
        """One subscriber by id (after a one-time code or a secret proved who it is)."""

    async def line_phones(self, subscriber_id: int) -> list[str]:
        """The numbers of the subscriber's lines, in account order, in one statement (none for an id that is
        nobody's, at the same cost): where a one-time code may go when the contact number can't take SMS."""

    async def accounts(self, subscriber_id: int) -> list[AccountInfo]:
        """The subscriber's accounts with their services, ordered by account number."""

    async def account(self, account_id: int) -> AccountInfo | None:
        """One account by id (flows re-check an id from a button against the identified subscriber)."""

    async def place_order(self, request: OrderRequest) -> PlacedOrder:
        """Record an order and queue it for delivery; the same idempotency key returns the existing order."""

    async def audit(
        self, action: str, outcome: str, *, actor: UserRef | None, subscriber_id: int | None = None
    ) -> None:
        """Note an attempt the flows judged themselves (e.g. a one-time code typed): never with the secret."""

    async def puk(self, account_id: int) -> str | None:
        """The PUK of a mobile line's SIM card, or None when this backend cannot tell it."""


BackendFactory = Callable[[AsyncSession], OperatorBackend]


class TableBackend:
    """`OperatorBackend` over mila's own tables, in the caller's transaction (the turn's unit of work).

    It never commits: the turn commits everything it did at once, so an order and its outbox row, or an audit
    entry and the state change that caused it, are written together.
    """

    def __init__(self, db: AsyncSession, profile: Profile, key: bytes) -> None:
        self.db = db
        self.profile = profile
        self.key = key
        self.serbian = profile.country == "RS"

    # --- identification ------------------------------------------------------------------------------------
    async def find_by_phone(self, phone: str, *, actor: UserRef | None = None) -> SubscriberInfo | None:
        try:
            e164 = normalize_phone(phone, self.profile.country)
        except BadPhone:
            await self._audit("identify", "not_found", actor, None, method="phone")
            return None
        digest = phone_hash(self.key, e164)
        # One statement for a line's owner or a contact number (the line first), the same for a number that is
        # nobody's: the time taken does not tell which it was.
        line_owner = select(Account.subscriber_id).where(Account.phone_hmac == digest).limit(1).scalar_subquery()
        query = (
            select(Subscriber)
            .where(or_(Subscriber.id == line_owner, Subscriber.contact_phone_hmac == digest))
            .order_by(case((Subscriber.id == line_owner, 0), else_=1), Subscriber.id)
            .limit(1)
        )
        row = (await self.db.execute(query)).scalar_one_or_none()
        await self._audit("identify", "ok" if row else "not_found", actor, row, method="phone")
        return _subscriber_info(row) if row else None

    async def find_by_customer_code(self, code: str, *, actor: UserRef | None = None) -> SubscriberInfo | None:
        cleaned = "".join(code.split()).split("/", 1)[0]
        row = None
        if cleaned:
            row = (
                await self.db.execute(select(Subscriber).where(Subscriber.customer_code == cleaned))
            ).scalar_one_or_none()
        await self._audit("identify", "ok" if row else "not_found", actor, row, method="customer_code")
        return _subscriber_info(row) if row else None

    async def verify_code_word(self, subscriber_id: int, word: str, *, actor: UserRef | None = None) -> bool:
        row = await self.db.get(Subscriber, subscriber_id)
        # scrypt takes tens of milliseconds on purpose: off the event loop, so other chats are not held up.
        ok = await asyncio.to_thread(verify_code_word, word, row.code_word_hash if row else None, serbian=self.serbian)
        await self._audit("verify_code_word", "ok" if ok else "mismatch", actor, row)
        return ok

    async def verify_name_passport(
        self, subscriber_id: int, full_name: str, passport: str, *, actor: UserRef | None = None
    ) -> bool:
        row = await self.db.get(Subscriber, subscriber_id)
        # Both comparisons always run, so the time taken does not tell which of the two was wrong.
        name_ok = same_name(full_name, row.full_name if row else "")
        passport_ok = passport_matches(self.key, passport, row.passport_hmac if row else None, serbian=self.serbian)
        ok = bool(row) and name_ok and passport_ok
        await self._audit("verify_passport", "ok" if ok else "mismatch", actor, row)
        return ok

    async def subscriber(self, subscriber_id: int) -> SubscriberInfo | None:
        row = await self.db.get(Subscriber, subscriber_id)
        return _subscriber_info(row) if row else None

    # --- accounts --------------------------------------------------------------------------------------------
    async def line_phones(self, subscriber_id: int) -> list[str]:
        query = (
            select(Account.phone)
            .where(Account.subscriber_id == subscriber_id, Account.phone.is_not(None))
            .order_by(Account.number)
        )
        return [phone for phone in (await self.db.execute(query)).scalars().all() if phone]

    async def accounts(self, subscriber_id: int) -> list[AccountInfo]:
        query = select(Account).where(Account.subscriber_id == subscriber_id).order_by(Account.number)
        rows = (await self.db.execute(query)).scalars().all()
        services = await self._services([row.id for row in rows])
        bills = await self._bills([row.id for row in rows])
        waiting = await self._waiting(rows)
        return [
            _account_info(row, services.get(row.id, ()), bills.get(row.id, ()), waiting.get(row.id, ())) for row in rows
        ]

    async def account(self, account_id: int) -> AccountInfo | None:
        row = await self.db.get(Account, account_id)
        if row is None:
            return None
        services = (await self._services([row.id])).get(row.id, ())
        waiting = (await self._waiting([row])).get(row.id, ())
        return _account_info(row, services, (await self._bills([row.id])).get(row.id, ()), waiting)

    async def _waiting(self, rows: Sequence[Account]) -> dict[int, tuple[WaitingOrder, ...]]:
        """Line orders not carried out yet, newest first. An order older than the account's last change in the data
        counts as carried out: the import that brought the new state is the proof, whatever the order's status."""
        if not rows:
            return {}
        changed = {row.id: row.updated_at for row in rows}
        found: dict[int, list[WaitingOrder]] = {}
        result = await self.db.execute(
            select(Order.account_id, Order.kind, Order.number, Order.created_at)
            .where(
                Order.account_id.in_(list(changed)),
                Order.status.in_(WAITING_STATUSES),
                Order.kind.in_([kind.value for kind in LINE_ORDERS]),
            )
            .order_by(Order.created_at.desc(), Order.id.desc())
        )
        for account_id, kind, number, created_at in result:
            if account_id is not None and created_at >= changed[account_id]:
                found.setdefault(account_id, []).append(WaitingOrder(OrderKind(kind), number))
        return {account_id: tuple(orders) for account_id, orders in found.items()}

    async def _bills(self, account_ids: list[int]) -> dict[int, tuple[BillInfo, ...]]:
        if not account_ids:
            return {}
        found: dict[int, list[BillInfo]] = {}
        result = await self.db.execute(
            select(Bill.account_id, Bill.period, Bill.amount, Bill.due_on)
            .where(Bill.account_id.in_(account_ids))
            .order_by(Bill.account_id, Bill.period)
        )
        for account_id, period, amount, due_on in result:
            found.setdefault(account_id, []).append(BillInfo(period, Decimal(amount), due_on))
        return {account_id: tuple(bills) for account_id, bills in found.items()}

    async def _services(self, account_ids: list[int]) -> dict[int, tuple[ServiceInfo, ...]]:
        if not account_ids:
            return {}
        found: dict[int, list[ServiceInfo]] = {}
        result = await self.db.execute(
            select(AccountService.account_id, AccountService.code, AccountService.enabled)
            .where(AccountService.account_id.in_(account_ids))
            .order_by(AccountService.code)
        )
        for account_id, code, enabled in result:
            found.setdefault(account_id, []).append(ServiceInfo(code, enabled))
        return {k: tuple(v) for k, v in found.items()}

    # --- orders ------------------------------------------------------------------------------------------------
    async def place_order(self, request: OrderRequest) -> PlacedOrder:
        existing = await self._order_by_key(request.idempotency_key)
        if existing is not None:
            return placed_order(existing, created=False)
        account = await self.db.get(Account, request.account_id)
        if account is None:
            raise UnknownAccount(request.account_id)
        requester, language = await self._requester(request.requested_by)
        now = utcnow()
        for _ in range(5):
            order = Order(
                number=_order_number(),
                kind=OrderKind(request.kind).value,
                idempotency_key=request.idempotency_key,
                account_id=account.id,
                account_number=account.number,
                subscriber_id=account.subscriber_id,
                requested_by_id=requester,
                channel=request.requested_by.channel if request.requested_by else None,
                language=language,
                payload=dict(request.payload),
                created_at=now,
                due_at=request.due_at,
            )
            try:
                async with self.db.begin_nested():
                    self.db.add(order)
                    await self.db.flush()
                    self.db.add(
                        OutboxMessage(
                            order_id=order.id,
                            idempotency_key=order.idempotency_key,
                            body=provisioning_body(order, account),
                            next_attempt_at=now,
                            created_at=now,
                        )
                    )
                    self.db.add(
                        AuditEntry(
                            at=now,
                            action="order",
                            outcome="ok",
                            channel_user_id=requester,
                            subscriber_id=account.subscriber_id,
                            order_id=order.id,
                            detail={"kind": order.kind},
                        )
                    )
                    await self.db.flush()
            except IntegrityError:
                # Either the same key was placed concurrently (return that order), or the random public
                # number collided (draw another).
                existing = await self._order_by_key(request.idempotency_key)
                if existing is not None:
                    return placed_order(existing, created=False)
                continue
            log.info("order placed", extra={"order": order.number, "kind": order.kind})
            return placed_order(order, created=True)
        raise RuntimeError("could not draw a free order number")

    async def puk(self, account_id: int) -> str | None:
        """The PUK imported with the line, opened from its seal; None when the import carried none (the user is
        then sent to the contact centre). Only the caller's check that the line is the subscriber's guards this."""
        sealed = (
            await self.db.execute(select(Account.puk_sealed).where(Account.id == account_id))
        ).scalar_one_or_none()
        return open_sim_code(self.key, sealed)

    async def _order_by_key(self, key: str) -> Order | None:
        return (await self.db.execute(select(Order).where(Order.idempotency_key == key))).scalar_one_or_none()

    async def _requester(self, user: UserRef | None) -> tuple[int | None, str | None]:
        """The chat user asking, and the language they speak (an order keeps it for the console's counts)."""
        if user is None:
            return None, None
        query = select(ChannelUser.id, ChannelUser.language).where(
            ChannelUser.channel == user.channel, ChannelUser.external_id == user.external_id
        )
        found = (await self.db.execute(query)).one_or_none()
        return (found[0], found[1]) if found else (None, None)

    async def _channel_user_id(self, user: UserRef | None) -> int | None:
        if user is None:
            return None
        query = select(ChannelUser.id).where(
            ChannelUser.channel == user.channel, ChannelUser.external_id == user.external_id
        )
        return (await self.db.execute(query)).scalar_one_or_none()

    async def audit(
        self, action: str, outcome: str, *, actor: UserRef | None, subscriber_id: int | None = None
    ) -> None:
        subscriber = await self.db.get(Subscriber, subscriber_id) if subscriber_id else None
        await self._audit(action, outcome, actor, subscriber)

    async def _audit(
        self, action: str, outcome: str, actor: UserRef | None, subscriber: Subscriber | None, **detail: str
    ) -> None:
        self.db.add(
            AuditEntry(
                at=utcnow(),
                action=action,
                outcome=outcome,
                channel_user_id=await self._channel_user_id(actor),
                subscriber_id=subscriber.id if subscriber else None,
                detail=detail,
            )
        )
        await self.db.flush()


def table_backend_factory(profile: Profile, key: bytes) -> BackendFactory:
    """What the application factory puts in `Deps.backend`: `turn.deps.backend(turn.db)` is the backend of a turn."""

    def make(db: AsyncSession) -> OperatorBackend:
        return TableBackend(db, profile, key)

    return make


def provisioning_body(order: Order, account: Account) -> dict[str, Any]:
    """What the provisioning system receives: the order, the account it is for, the idempotency key."""
    return {
        "idempotency_key": order.idempotency_key,
        "order": {
            "number": order.number,
            "kind": order.kind,
            "created_at": order.created_at.isoformat(),
            "due_at": order.due_at.isoformat() if order.due_at else None,
            "payload": order.payload,
        },
        "account": {"number": account.number, "kind": account.kind, "phone": account.phone},
    }


def _order_number() -> str:
    return ORDER_NUMBER_PREFIX + "".join(secrets.choice("0123456789") for _ in range(ORDER_NUMBER_DIGITS))


def _subscriber_info(row: Subscriber) -> SubscriberInfo:
    return SubscriberInfo(
        id=row.id,
        customer_code=row.customer_code,
        full_name=row.full_name,
        segment=row.segment,
        has_code_word=row.code_word_hash is not None,
        has_passport=row.passport_hmac is not None,
        contact_phone=row.contact_phone,
    )


def _account_info(
    row: Account,
    services: tuple[ServiceInfo, ...],
    bills: tuple[BillInfo, ...] = (),
    waiting: tuple[WaitingOrder, ...] = (),
) -> AccountInfo:
    return AccountInfo(
        id=row.id,
        subscriber_id=row.subscriber_id,
        number=row.number,
        kind=row.kind,
        phone=row.phone,
        status=row.status,
        disconnect_reason=row.disconnect_reason,
        debt=Decimal(row.debt),
        currency=row.currency,
        tariff=row.tariff,
        services=services,
        bills=bills,
        waiting=waiting,
    )


def placed_order(order: Order, *, created: bool) -> PlacedOrder:
    """The flows' view of an order row."""
    return PlacedOrder(
        id=order.id,
        number=order.number,
        kind=order.kind,
        account_number=order.account_number,
        status=order.status,
        created_at=order.created_at,
        due_at=order.due_at,
        created=created,
    )
