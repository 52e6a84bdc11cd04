"""How an account is named in every flow: its kind, its state (or the order waiting on it), one line for it."""

from __future__ import annotations

from bot.core.i18n import N_
from bot.core.replies import Button
from bot.core.turn import Turn
from bot.db.models import OrderKind
from bot.services.backend import AccountInfo, WaitingOrder
from bot.services.phones import mask_phone
from handlers.common import menu_button

KIND_LABELS = {
    "mobile": N_("mobile telephony"),
    "fixed": N_("fixed telephony"),
    "tv": N_("television"),
    "internet": N_("internet"),
    "box": N_("BOX package"),
}
WAITING_LABELS = {
    OrderKind.RECONNECT_ON_PROMISE: N_("reconnection on promise"),
    OrderKind.SUSPEND: N_("temporary suspension"),
    OrderKind.RESUME: N_("resumption"),
    OrderKind.UNBLOCK: N_("unblocking"),
    OrderKind.FAVOURITE_NUMBER: N_("favourite number"),
}
STATUS_LABELS = {
    "active": N_("active"),
    "disconnected": N_("disconnected"),
    "suspended": N_("temporarily suspended"),
}


def kind_label(turn: Turn, account: AccountInfo) -> str:
    return turn._(KIND_LABELS.get(account.kind, account.kind))


def status_label(turn: Turn, account: AccountInfo) -> str:
    """The line's state; once an order on it is placed, that order instead of a state it is about to leave."""
    if account.waiting:
        order = account.waiting[0]
        return turn._("order {number} ({what}) is waiting to be carried out").format(
            number=order.number, what=turn._(WAITING_LABELS[order.kind])
        )
    return turn._(STATUS_LABELS.get(account.status, account.status))


def say_waiting(turn: Turn, account: AccountInfo, order: WaitingOrder) -> None:
    """An old button for an action already ordered: the order's number, not a second order nor a stale question."""
    turn.finish()
    turn.say(
        turn._(
            "The order {number} for the {what} of {account} has already been placed and is waiting to be carried out."
        ).format(number=order.number, what=turn._(WAITING_LABELS[order.kind]), account=account.number),
        [[Button(turn._("⬅ My account"), "account")], [menu_button(turn)]],
    )


def account_line(turn: Turn, account: AccountInfo) -> str:
    """'1234567/1 · mobile telephony · +381 64 ••• •• 67 · disconnected' — the same line in every flow."""
    parts = [account.number, kind_label(turn, account)]
    if account.phone:
        parts.append(mask_phone(account.phone))
    parts.append(status_label(turn, account))
    return " · ".join(parts)
