"""What makes up the amount owed: each account's unpaid amount, bill by bill where the data holds them."""

from __future__ import annotations

from decimal import Decimal

from bot.core.replies import Button
from bot.core.router import Router
from bot.core.turn import Turn
from bot.services import identity
from handlers.account.lines import kind_label
from handlers.common import menu_button
from handlers.identify import require_identity

router = Router()


@router.payload("acomp")
async def composition(turn: Turn) -> None:
    who = await require_identity(turn)
    if who is None:
        return
    turn.finish()
    accounts = await identity.backend(turn).accounts(who.subscriber_id)
    owing = [a for a in accounts if a.debt > 0]
    if not owing:
        turn.say(turn._("You owe nothing on any of your accounts."), [[menu_button(turn)]])
        return
    lines = [turn._("The amount you owe is the sum of the unpaid amounts of each account:")]
    for account in owing:
        lines.append(
            "• "
            + turn._("{account} ({kind}, tariff {tariff}): {amount}").format(
                account=account.number,
                kind=kind_label(turn, account),
                tariff=account.tariff or "-",
                amount=turn.money(account.debt, account.currency),
            )
        )
        for bill in account.bills:  # what the data holds, bill by bill
            year, month = (int(part) for part in bill.period.split("-"))
            lines.append(
                "   – "
                + turn._("bill for {month}: {amount}, due {date}").format(
                    month=turn.t.month(year, month),
                    amount=turn.money(bill.amount, account.currency),
                    date=turn.t.date(bill.due_on, turn.profile.zone),
                )
            )
    currencies = {a.currency for a in owing}
    if len(currencies) == 1:
        total = sum((a.debt for a in owing), start=Decimal(0))
        lines.append(turn._("Total: {amount}").format(amount=turn.money(total, owing[0].currency)))
    if not all(account.bills for account in owing):  # the general rule, where the data holds no bills
        lines.append(
            turn._(
                "Each account's amount is what its bills since the last payment add up to: the monthly fee of the "
                "tariff plan, the services you use and calls or data beyond the plan."
            )
        )
    turn.say("\n".join(lines), [[Button(turn._("⬅ My account"), "account")], [menu_button(turn)]])
