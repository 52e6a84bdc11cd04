"""The favourite number of a mobile line: typed, read back, ordered."""

from __future__ import annotations

from bot.core.engine import StalePayload
from bot.core.router import Router
from bot.core.turn import Turn
from bot.db.models import OrderKind
from bot.services import identity
from bot.services.phones import BadPhone, normalize_phone
from handlers.account.lines import say_waiting
from handlers.account.orders import active_mobile, ask, chosen_mobile_line, confirmed, place, today
from handlers.common import menu_button
from handlers.identify import require_identity

router = Router()

FAVOURITE_STATE = "account:favourite"


@router.payload("afav")
async def favourite(turn: Turn) -> None:
    who = await require_identity(turn)
    if who is None:
        return
    account = await chosen_mobile_line(
        turn,
        who,
        "afav",
        turn._("For which line do you want to set or change the favourite number?"),
        turn._("You have no active mobile line for a favourite number."),
        skip=(OrderKind.FAVOURITE_NUMBER,),
    )
    if account is None:
        return
    if waiting := account.waiting_order(OrderKind.FAVOURITE_NUMBER):
        say_waiting(turn, account, waiting)
        return
    turn.goto(FAVOURITE_STATE, acc=account.id)
    turn.say(
        turn._("Type the favourite number for {account}, with its area code.").format(account=account.number),
        [[menu_button(turn)]],
    )


@router.state(FAVOURITE_STATE, free_text=True)
async def favourite_typed(turn: Turn) -> None:
    who = await require_identity(turn)
    if who is None:
        return
    account = await identity.owned_account(turn, who, str(turn.session.data.get("acc", "")))
    try:
        number = normalize_phone(turn.incoming.text, turn.profile.country)
    except BadPhone:
        turn.say(turn._("That is not a valid phone number. Type it with its area code."), [[menu_button(turn)]])
        return
    # The state stays: another typed number replaces this one.
    ask(
        turn,
        turn._("Shall I order {number} as the favourite number of {account}?").format(
            number=number, account=account.number
        ),
        turn._("Yes, order it"),
        f"afavy:{account.id}:{number}",
    )


@router.payload("afavy")
async def favourite_confirmed(turn: Turn) -> None:
    """afavy:<id>:<number> → the order; the number in the payload is validated again like a typed one."""
    who = await require_identity(turn)
    if who is None:
        return
    raw_id, _, raw_number = turn.arg.partition(":")
    account = await identity.owned_account(turn, who, raw_id)
    if waiting := account.waiting_order(OrderKind.FAVOURITE_NUMBER):
        say_waiting(turn, account, waiting)
        return
    if not active_mobile(account):
        raise StalePayload(turn.payload)
    try:
        number = normalize_phone(raw_number, turn.profile.country)
    except BadPhone:
        raise StalePayload(turn.payload) from None
    order = await place(turn, OrderKind.FAVOURITE_NUMBER, account, f"{today(turn)}:{number}", number=number)
    confirmed(
        turn,
        order,
        turn._("I have ordered {number} as the favourite number of {account}.").format(
            number=number, account=account.number
        ),
    )
