"""Temporary suspension of a line (for how long, the day it works again) and its resumption."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from bot.core.engine import StalePayload
from bot.core.ids import parse_id
from bot.core.replies import Button
from bot.core.router import Router
from bot.core.turn import Turn
from bot.db.models import AccountStatus, OrderKind
from bot.services import identity
from handlers.account.lines import say_waiting
from handlers.account.orders import ask, choose, confirmed, place, today
from handlers.common import menu_button
from handlers.identify import require_identity

router = Router()

SUSPEND_DAYS = (7, 14, 30, 90)


@router.payload("asusp")
@router.payload("asuspy")
async def suspend(turn: Turn) -> None:
    """asusp → which line; asusp:<id> → until when (or resume it, if suspended); asusp:<id>:<days> → the line,
    the period and the day it works again, to confirm; asuspy:<id>:<days> → the order."""
    who = await require_identity(turn)
    if who is None:
        return
    raw_id, _, raw_days = turn.arg.partition(":")
    if not raw_id:
        accounts = [
            a
            for a in await identity.backend(turn).accounts(who.subscriber_id)
            if a.status in (AccountStatus.ACTIVE, AccountStatus.SUSPENDED)
            and not a.waiting_order(OrderKind.SUSPEND, OrderKind.RESUME)
        ]
        await choose(
            turn,
            "asusp",
            accounts,
            turn._("Which line do you want to suspend or resume?"),
            turn._("You have no line that can be suspended or resumed."),
            alone=all(a.status == AccountStatus.ACTIVE for a in accounts),  # a suspended line's button resumes it
        )
        return
    account = await identity.owned_account(turn, who, raw_id)
    if waiting := account.waiting_order(OrderKind.SUSPEND, OrderKind.RESUME):
        say_waiting(turn, account, waiting)
        return
    if account.status == AccountStatus.SUSPENDED:
        order = await place(turn, OrderKind.RESUME, account, today(turn))
        confirmed(turn, order, turn._("I have ordered that {account} works again.").format(account=account.number))
        return
    if account.status != AccountStatus.ACTIVE:
        raise StalePayload(turn.payload)
    if not raw_days:
        turn.finish()
        rows = [
            [Button(turn.ngettext("for {count} day", "for {count} days", d).format(count=d), f"asusp:{account.id}:{d}")]
            for d in SUSPEND_DAYS
        ]
        turn.say(
            turn._("For how long should {account} be suspended? It will work again on its own after that.").format(
                account=account.number
            ),
            [*rows, [menu_button(turn)]],
        )
        return
    days = parse_id(raw_days)
    if days is None or days not in SUSPEND_DAYS:
        raise StalePayload(turn.payload)
    local = turn.now.astimezone(turn.profile.zone).date() + timedelta(days=days)
    resume_at = datetime.combine(local, time(0, 0), tzinfo=turn.profile.zone)
    if not turn.payload.startswith("asuspy:"):
        ask(
            turn,
            turn.ngettext(
                "Shall I order that {account} is suspended for {count} day? It will not work until it works again "
                "on its own on {date}.",
                "Shall I order that {account} is suspended for {count} days? It will not work until it works again "
                "on its own on {date}.",
                days,
            ).format(account=account.number, count=days, date=turn.date(resume_at)),
            turn._("Yes, suspend it"),
            f"asuspy:{account.id}:{days}",
        )
        return
    # One suspension a day per line, whatever its length: a second tap on another period must not place a second
    # order that would switch the line back on at a different date. The user is told the date already ordered.
    order = await place(turn, OrderKind.SUSPEND, account, today(turn), due_at=resume_at, resume_on=local.isoformat())
    ordered_resume = order.due_at or resume_at
    if order.created or ordered_resume == resume_at:
        text = turn._("I have ordered the suspension of {account}. It will work again on {date}.")
    else:
        text = turn._(
            "The suspension of {account} was already ordered today; it will work again on {date}. To change the "
            "period, ask an operator."
        )
    confirmed(turn, order, text.format(account=account.number, date=turn.date(ordered_resume)))


@router.payload("asuspq")
async def suspend_for(turn: Turn) -> None:
    """asuspq:<days> → which line; asuspq:<days>:<id> → "suspend it for that long?" with the period already chosen
    (the subscriber named it in a sentence: "hoću da suspendujem broj na dve nedelje"). Yes is the period's own
    button (`asusp:<id>:<days>`), so the order is placed only once confirmed; another period stays one tap away."""
    raw_days, _, raw_id = turn.arg.partition(":")
    days = parse_id(raw_days)
    if days is None or days not in SUSPEND_DAYS:
        turn.redirect("asusp:" + raw_id if raw_id else "asusp")  # a period not offered: the usual question
        return
    who = await require_identity(turn)
    if who is None:
        return
    if not raw_id:
        accounts = [
            a for a in await identity.backend(turn).accounts(who.subscriber_id) if a.status == AccountStatus.ACTIVE
        ]
        await choose(
            turn,
            f"asuspq:{days}",
            accounts,
            turn._("Which line do you want to suspend?"),
            turn._("You have no line that can be suspended or resumed."),
        )
        return
    account = await identity.owned_account(turn, who, raw_id)
    if account.status != AccountStatus.ACTIVE:
        turn.redirect(f"asusp:{account.id}")  # suspended: the usual answer (resume it)
        return
    turn.redirect(f"asusp:{account.id}:{days}")  # the suspension's own question: the line, the period, the day
