"""The discount package of a mobile line: what it contains and costs, the question, the order."""

from __future__ import annotations

from bot.core.router import Router
from bot.core.turn import Turn
from bot.db.models import OrderKind
from handlers.account.orders import ask, chosen_mobile_line, confirmed, place, today
from handlers.common import contact_centre_line
from handlers.identify import require_identity

router = Router()


@router.payload("adisc")
@router.payload("adiscy")
async def discount(turn: Turn) -> None:
    """adisc → which line; adisc:<id> → what the package contains and costs, to confirm; adiscy:<id> → the order."""
    who = await require_identity(turn)
    if who is None:
        return
    account = await chosen_mobile_line(
        turn,
        who,
        "adisc",
        turn._("On which line should I activate the discount package?"),
        turn._("You have no active mobile line for the discount package."),
    )
    if account is None:
        return
    if not turn.payload.startswith("adiscy:"):
        package = turn.profile.texts.get("discount_package")
        what = (
            turn.content(package)
            if package
            else turn._("What it contains and costs is told by the contact centre: {contact}.").format(
                contact=contact_centre_line(turn)
            )
        )
        ask(
            turn,
            what + "\n\n" + turn._("Shall I order the discount package for {account}?").format(account=account.number),
            turn._("Yes, order it"),
            f"adiscy:{account.id}",
        )
        return
    order = await place(turn, OrderKind.DISCOUNT_PACKAGE, account, today(turn))
    confirmed(turn, order, turn._("I have ordered the discount package for {account}.").format(account=account.number))
