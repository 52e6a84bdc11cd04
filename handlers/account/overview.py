"""The subscriber's accounts, in what state, what they owe, and the actions on them."""

from __future__ import annotations

from bot.core.i18n import N_
from bot.core.replies import Button
from bot.core.router import Router
from bot.core.turn import Turn
from bot.services import identity
from handlers.account.lines import account_line
from handlers.common import menu_button
from handlers.identify import require_identity

router = Router()


@router.intent("account", N_("account|my account|balance|debt"))
@router.command("account", "racun")
@router.payload("account")
async def show_accounts(turn: Turn) -> None:
    who = await require_identity(turn)
    if who is None:
        return
    turn.finish()
    accounts = await identity.backend(turn).accounts(who.subscriber_id)
    if not accounts:
        turn.say(turn._("I found no accounts for you."), [[menu_button(turn)]])
        return
    lines = [turn._("Your accounts:")]
    for account in accounts:
        lines.append("")
        lines.append("• " + account_line(turn, account))
        details = [turn._("Debt: {amount}").format(amount=turn.money(account.debt, account.currency))]
        if account.tariff:
            details.append(turn._("Tariff plan: {tariff}").format(tariff=account.tariff))
        lines.append("  " + "; ".join(details))
    turn.say("\n".join(lines), [*_action_rows(turn), [menu_button(turn)], [Button(turn._("🔓 Log out"), "logout")]])


def _action_rows(turn: Turn) -> list[list[Button]]:
    return [
        [Button(turn._("🧾 What makes up the amount"), "acomp")],
        [Button(turn._("🔑 PIN and PUK"), "apin")],
        [Button(turn._("🔓 Unblock a line blocked for inactivity"), "aunbl")],
        [Button(turn._("⏸ Suspend or resume a line"), "asusp")],
        [Button(turn._("⭐ Favourite number"), "afav")],
        [Button(turn._("🎁 Discount package"), "adisc")],
        [Button(turn._("📄 Invoice for advance payment"), "ainv")],
    ]
