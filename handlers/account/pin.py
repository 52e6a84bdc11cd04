"""PIN and PUK: the instructions for anyone; the PUK of a line only after a fresh identification (step-up), shown
once and kept nowhere (not in the session, not in a log)."""

from __future__ import annotations

from bot.core.capabilities import capabilities
from bot.core.engine import StalePayload
from bot.core.i18n import N_
from bot.core.replies import Button
from bot.core.router import Router
from bot.core.turn import Turn
from bot.db.models import AccountKind
from bot.services import identity
from handlers.account.orders import choose
from handlers.common import contact_centre_line, menu_button
from handlers.identify import require_identity

router = Router()

PUK_VISIBLE_SECONDS = 60  # long enough to type it into the phone


@router.intent("pin", N_("PIN|PUK|PIN code|PUK code|PIN and PUK"))
@router.payload("apin")
async def pin_and_puk(turn: Turn) -> None:
    turn.finish()
    instructions = turn.profile.texts.get("pin_unblock")
    text = turn.content(instructions) if instructions else contact_centre_line(turn)
    turn.say(text, [[Button(turn._("🔑 Show the PUK of my line"), "apuk")], [menu_button(turn)]])


@router.payload("apuk")
async def puk(turn: Turn) -> None:
    """The PUK unlocks a SIM card, so whoever holds it controls the line: a fresh identification first, every time."""
    who = await require_identity(turn, fresh=True)
    if who is None:
        return
    if not turn.arg:
        lines = [a for a in await identity.backend(turn).accounts(who.subscriber_id) if a.kind == AccountKind.MOBILE]
        await choose(
            turn,
            "apuk",
            lines,
            turn._("The PUK of which line do you need?"),
            turn._("You have no mobile line, so there is no PUK to show."),
        )
        return
    account = await identity.owned_account(turn, who, turn.arg)
    if account.kind != AccountKind.MOBILE:
        raise StalePayload(turn.payload)
    turn.finish()
    code = await identity.backend(turn).puk(account.id)
    if code is None:
        turn.say(
            turn._("I can't show the PUK of {account} here. You can get it here:").format(account=account.number)
            + "\n"
            + contact_centre_line(turn),
            [[menu_button(turn)]],
        )
        return
    shown = turn._("PUK of {account}: {puk}").format(account=account.number, puk=code)
    if capabilities(turn.user.channel).can_delete:
        # Its own message, without buttons: a button on it would let the next press edit it into something else.
        turn.say(shown, erase_after=PUK_VISIBLE_SECONDS, sensitive=True, again=f"apuk:{account.id}")
        turn.say(
            turn._("I keep the PUK nowhere, and its message disappears from this chat in a minute."),
            [[menu_button(turn)]],
        )
        return
    turn.say(
        shown
        + "\n"
        + turn._("I show it only this once and keep it nowhere. Delete this message when you have used it."),
        [[menu_button(turn)]],
        sensitive=True,
        again=f"apuk:{account.id}",
    )
