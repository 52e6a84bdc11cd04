"""Unblocking a line blocked for inactivity: which line, the question, the order."""

from __future__ import annotations

from bot.core.engine import StalePayload
from bot.core.router import Router
from bot.core.turn import Turn
from bot.db.models import AccountStatus, DisconnectReason, OrderKind
from bot.services import identity
from bot.services.backend import AccountInfo
from handlers.account.lines import say_waiting
from handlers.account.orders import ask, choose, confirmed, place, today
from handlers.identify import require_identity

router = Router()


@router.payload("aunbl")
@router.payload("aunbly")
async def unblock(turn: Turn) -> None:
    """aunbl → which line; aunbl:<id> → the question; aunbly:<id> → the order."""
    who = await require_identity(turn)
    if who is None:
        return
    if turn.arg:
        account = await identity.owned_account(turn, who, turn.arg)
        if waiting := account.waiting_order(OrderKind.UNBLOCK):
            say_waiting(turn, account, waiting)
            return
        if not _blocked_for_inactivity(account):
            raise StalePayload(turn.payload)
        if not turn.payload.startswith("aunbly:"):
            ask(
                turn,
                turn._("Shall I order the unblocking of {account}, blocked for inactivity?").format(
                    account=account.number
                ),
                turn._("Yes, unblock it"),
                f"aunbly:{account.id}",
            )
            return
        order = await place(turn, OrderKind.UNBLOCK, account, today(turn))
        confirmed(turn, order, turn._("I have ordered the unblocking of {account}.").format(account=account.number))
        return
    accounts = [
        a
        for a in await identity.backend(turn).accounts(who.subscriber_id)
        if _blocked_for_inactivity(a) and not a.waiting_order(OrderKind.UNBLOCK)
    ]
    await choose(
        turn,
        "aunbl",
        accounts,
        turn._("Which line should I unblock?"),
        turn._("None of your lines is blocked for inactivity."),
    )


def _blocked_for_inactivity(account: AccountInfo) -> bool:
    return account.status == AccountStatus.DISCONNECTED and account.disconnect_reason == DisconnectReason.INACTIVITY
