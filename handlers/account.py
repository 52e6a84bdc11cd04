"""The subscriber's accounts: what they have, in what state, what they owe — after identification."""

from __future__ import annotations

from bot.core.i18n import N_
from bot.core.replies import Button
from bot.core.router import Router
from bot.core.turn import Turn
from bot.services import identity
from bot.services.backend import AccountInfo
from bot.services.phones import mask_phone
from handlers.common import menu_button
from handlers.identify import require_identity

router = Router()

KIND_LABELS = {
    "mobile": N_("mobile telephony"),
    "fixed": N_("fixed telephony"),
    "tv": N_("television"),
    "internet": N_("internet"),
    "box": N_("BOX package"),
}
STATUS_LABELS = {
    "active": N_("active"),
    "disconnected": N_("disconnected"),
    "suspended": N_("temporarily suspended"),
}


def kind_label(turn: Turn, account: AccountInfo) -> str:
    return turn._(KIND_LABELS.get(account.kind, account.kind))


def status_label(turn: Turn, account: AccountInfo) -> str:
    return turn._(STATUS_LABELS.get(account.status, account.status))


def account_line(turn: Turn, account: AccountInfo) -> str:
    """'1234567/1 · mobile telephony · +381 64 ••• •• 67 · disconnected' — the same line in every flow."""
    parts = [account.number, kind_label(turn, account)]
    if account.phone:
        parts.append(mask_phone(account.phone))
    parts.append(status_label(turn, account))
    return " · ".join(parts)


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
    turn.say("\n".join(lines), [[menu_button(turn)], [Button(turn._("🔓 Log out"), "logout")]])
