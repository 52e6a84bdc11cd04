"""What the account actions share: which account (or line), the yes/no question, the order and its confirmation."""

from __future__ import annotations

from datetime import datetime

from bot.core.engine import StalePayload
from bot.core.replies import Button
from bot.core.router import Router
from bot.core.turn import Turn
from bot.db.models import AccountKind, AccountStatus, OrderKind
from bot.services import identity
from bot.services.backend import AccountInfo, OrderRequest, PlacedOrder
from handlers.account.lines import account_line
from handlers.common import menu_button

router = Router()


async def choose(
    turn: Turn, prefix: str, accounts: list[AccountInfo], question: str, none: str, *, alone: bool = True
) -> None:
    """Ask which account (a button per account, its id in the payload), or say there is none that fits. A single
    account that fits is not asked about (`alone`): the turn goes on as if its button were pressed, so every step
    after it (which names the account) is the same either way. `alone=False` where the account's button itself
    places an order."""
    turn.finish()
    if not accounts:
        turn.say(none, [[Button(turn._("⬅ My account"), "account")], [menu_button(turn)]])
        return
    if alone and len(accounts) == 1:
        turn.redirect(f"{prefix}:{accounts[0].id}")
        return
    rows = [[Button(account_line(turn, a), f"{prefix}:{a.id}")] for a in accounts]
    turn.say(question, [*rows, [menu_button(turn)]])


async def place(turn: Turn, kind: OrderKind, account: AccountInfo, key: str, **extra: object) -> PlacedOrder:
    """Place the order; the key is derived from what was confirmed, so a double tap places it once."""
    due_at = extra.pop("due_at", None)
    return await identity.backend(turn).place_order(
        OrderRequest(
            kind=kind,
            account_id=account.id,
            idempotency_key=f"{kind.value}:{account.id}:{key}",
            requested_by=turn.user,
            due_at=due_at if isinstance(due_at, datetime) else None,
            payload=extra,
        )
    )


def confirmed(turn: Turn, order: PlacedOrder, text: str) -> None:
    turn.finish()
    turn.say(
        text + "\n" + turn._("Order number: {number}.").format(number=order.number),
        [[Button(turn._("⬅ My account"), "account")], [menu_button(turn)]],
    )


NO_PAYLOAD = "ano"


def ask(turn: Turn, question: str, yes_label: str, yes_payload: str) -> None:
    """The yes/no question before an order that costs money or cuts a service; "No" is always a button."""
    turn.confirm(question, Button(yes_label, yes_payload), Button(turn._("No"), NO_PAYLOAD), [[menu_button(turn)]])


@router.payload(NO_PAYLOAD)
async def declined(turn: Turn) -> None:
    turn.finish()
    turn.say(
        turn._("All right, I have not ordered anything."),
        [[Button(turn._("⬅ My account"), "account")], [menu_button(turn)]],
    )


def today(turn: Turn) -> str:
    return turn.now.astimezone(turn.profile.zone).date().isoformat()


def active_mobile(account: AccountInfo) -> bool:
    return account.kind == AccountKind.MOBILE and account.status == AccountStatus.ACTIVE


def mobile_lines(accounts: list[AccountInfo]) -> list[AccountInfo]:
    return [a for a in accounts if active_mobile(a)]


async def chosen_mobile_line(
    turn: Turn, who: identity.Identity, prefix: str, question: str, none_text: str, skip: tuple[OrderKind, ...] = ()
) -> AccountInfo | None:
    """The active mobile line a payload names (re-checked against the subscriber), or None after asking which;
    lines with a waiting order of a `skip` kind are not offered."""
    if not turn.arg:
        lines = mobile_lines(await identity.backend(turn).accounts(who.subscriber_id))
        await choose(turn, prefix, [a for a in lines if not a.waiting_order(*skip)], question, none_text)
        return None
    account = await identity.owned_account(turn, who, turn.arg)
    if not active_mobile(account):
        raise StalePayload(turn.payload)
    return account
