"""The rules of reconnection on promise and of service changes, on SQLite and PostgreSQL: one promise per account
per period (and again after it), one order for one idempotency key even when two transactions race."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.incoming import UserRef
from bot.db.base import utcnow
from bot.db.models import AuditEntry, Order, OutboxMessage
from bot.profiles import Policies, Profile
from bot.services.backend import AccountInfo, ServiceInfo, TableBackend
from bot.services.demo import seed_demo
from bot.services.promises import PromiseRules, Refusal
from bot.services.service_changes import Line, check_change
from bot.services.service_changes import Refusal as ServiceRefusal
from tests.data.conftest import KEY

Sessions = async_sessionmaker[AsyncSession]
ASKER = UserRef("test", "promises")


async def _account(db: AsyncSession, profile: Profile, number: str) -> AccountInfo:
    backend = TableBackend(db, profile, KEY)
    found = await backend.find_by_customer_code(number.split("/")[0])
    assert found is not None
    return next(a for a in await backend.accounts(found.id) if a.number == number)


async def test_one_promise_per_period_then_again(sessionmaker: Sessions, rs: Profile) -> None:
    now = utcnow()
    async with sessionmaker() as db:
        await seed_demo(db, rs, KEY)
        account = await _account(db, rs, "1234567/1")
        rules = PromiseRules(db, TableBackend(db, rs, KEY), rs.policies)
        verdict = await rules.check(account, now)
        assert verdict.allowed and verdict.terms is not None
        assert verdict.terms.debt == Decimal("2340.50") and verdict.terms.due_at == now + timedelta(days=5)

        first = await rules.promise(account, now, ASKER)
        assert first.order is not None and first.order.created
        again = await rules.promise(account, now + timedelta(minutes=1), ASKER)  # "DA" once more
        assert again.order is not None and not again.order.created and again.order.number == first.order.number

        later = await rules.check(account, now + timedelta(days=10))
        assert later.refusal is Refusal.ALREADY_USED and later.again_at == first.order.created_at + timedelta(days=30)
        refused = await rules.promise(account, now + timedelta(days=29, hours=23), ASKER)
        # the same period's key finds the first order; a new period's key is refused: never a second order
        assert refused.order is None or refused.order.number == first.order.number
        await db.commit()

    async with sessionmaker() as db:
        account = await _account(db, rs, "1234567/1")
        rules = PromiseRules(db, TableBackend(db, rs, KEY), rs.policies)
        next_period = await rules.promise(account, now + timedelta(days=31), ASKER)
        assert next_period.order is not None and next_period.order.created
        await db.commit()
        assert await db.scalar(select(func.count(Order.id))) == 2
        refusals = (await db.execute(select(AuditEntry).where(AuditEntry.action == "promise"))).scalars().all()
        assert all(r.outcome == "refused" and r.detail["reason"] == "already_used" for r in refusals)


async def test_every_rule_has_its_refusal(sessionmaker: Sessions, rs: Profile) -> None:
    now = utcnow()
    async with sessionmaker() as db:
        await seed_demo(db, rs, KEY)
        limited = Policies(promise_days=5, max_promise_debt=Decimal("1000"))
        rules = PromiseRules(db, TableBackend(db, rs, KEY), limited)
        active = await _account(db, rs, "2345678/1")
        on_request = await _account(db, rs, "6789012/2")
        over = await _account(db, rs, "1234567/1")
        under = await _account(db, rs, "3456789/3")  # 990.00 RSD
        assert (await rules.check(active, now)).refusal is Refusal.NOT_DISCONNECTED
        assert (await rules.check(on_request, now)).refusal is Refusal.NOT_FOR_DEBT
        verdict = await rules.check(over, now)
        assert verdict.refusal is Refusal.OVER_LIMIT and verdict.limit == Decimal("1000")
        assert (await rules.check(under, now)).allowed
        outcome = await rules.promise(on_request, now, ASKER)
        assert outcome.order is None and outcome.verdict.refusal is Refusal.NOT_FOR_DEBT
        await db.commit()
        assert await db.scalar(select(func.count(Order.id))) == 0


async def test_two_transactions_racing_place_one_order(sessionmaker: Sessions, rs: Profile) -> None:
    """The same "DA" handled by two processes at once: the unique key lets one order through."""
    now = utcnow()
    async with sessionmaker() as db:
        await seed_demo(db, rs, KEY)
        await db.commit()

    async def promise() -> str:
        async with sessionmaker() as db:
            account = await _account(db, rs, "3456789/1")
            outcome = await PromiseRules(db, TableBackend(db, rs, KEY), rs.policies).promise(account, now, ASKER)
            await db.commit()
            assert outcome.order is not None
            return outcome.order.number

    results = await asyncio.gather(promise(), promise(), return_exceptions=True)
    # SQLite serialises writers: a loser may get "database is locked"; the turn is then retried, as the engine's
    # caller (the webhook's non-2xx answer) would have it redelivered.
    numbers = [r if isinstance(r, str) else await promise() for r in results]
    assert numbers and len(set(numbers)) == 1
    async with sessionmaker() as db:
        assert await db.scalar(select(func.count(Order.id))) == 1
        assert await db.scalar(select(func.count(OutboxMessage.id))) == 1


async def test_service_rules(sessionmaker: Sessions, rs: Profile, tm: Profile) -> None:
    async with sessionmaker() as db:
        await seed_demo(db, rs, KEY)
        jelena = await _account(db, rs, "2345678/1")
        milica = await _account(db, rs, "5678901/1")
    off_gprs = check_change(rs, Line(jelena), "gprs")
    assert not off_gprs.turn_on and off_gprs.refusal is ServiceRefusal.NEEDED_BY
    assert {s.code for s in off_gprs.others} == {"mms", "internet_pkg"}
    assert check_change(rs, Line(milica), "internet_pkg").refusal is ServiceRefusal.NOT_IN_TARIFF
    assert check_change(rs, Line(milica), "mms").allowed  # GPRS is on
    assert check_change(rs, Line(milica), "nonsense").refusal is ServiceRefusal.UNKNOWN
    without_gprs = replace(milica, services=tuple(ServiceInfo(s.code, s.enabled and s.code != "gprs")
                                                  for s in milica.services))  # fmt: skip
    needs = check_change(rs, Line(without_gprs), "mms")
    assert needs.refusal is ServiceRefusal.NEEDS and [s.code for s in needs.others] == ["gprs"]
    tm_codes = [s.code for s in tm.services]
    assert tm_codes == [s.code for s in rs.services]  # the seed's catalogue in both profiles
