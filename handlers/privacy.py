"""/forget: the user's right to erasure, from the chat itself, after a confirmation.

The same erasure as `mila forget` (bot.services.privacy): the profile and the conversation go, orders stay as the
law requires but no longer point at this chat. Other flows can offer it too by calling `ask_to_forget`.
"""

from __future__ import annotations

from bot.core.engine import StalePayload
from bot.core.i18n import N_
from bot.core.replies import Button
from bot.core.router import Router
from bot.core.turn import Turn
from bot.services.analytics import Mark
from bot.services.privacy import forget
from handlers.menu import show_menu

router = Router()

CONFIRM_STATE = "privacy.confirm"
PAYLOAD = "forget"

EXPLAIN = N_(
    "I can delete what I keep about you in this chat: your language, your consents, the link to your subscriber "
    "account and our conversation. Orders you have placed are kept, as the law requires, but they will no longer "
    "be linked to this chat. Shall I delete your data?"
)
YES = N_("Yes, delete my data")
NO = N_("No, keep it")
DONE = N_("Done: I have deleted your data and our conversation. If you write to me again, we will start afresh.")
KEPT = N_("All right, I have kept everything as it was.")


@router.intent("forget", N_("forget me|delete my data"))
@router.command("forget")
async def ask_to_forget(turn: Turn) -> None:
    turn.goto(CONFIRM_STATE)
    turn.say(turn._(EXPLAIN), [[Button(turn._(YES), f"{PAYLOAD}:yes")], [Button(turn._(NO), f"{PAYLOAD}:no")]])


@router.payload(PAYLOAD)
async def answer(turn: Turn) -> None:
    # Only the buttons of the question just asked count: an old "yes" must never erase anyone by surprise.
    if turn.session.state != CONFIRM_STATE or turn.arg not in ("yes", "no"):
        raise StalePayload(turn.payload)
    if turn.arg == "no":
        turn.finish()
        turn.say(turn._(KEPT))
        await show_menu(turn)
        return
    await forget_this_chat(turn)
    turn.say(turn._(DONE))


async def forget_this_chat(turn: Turn) -> None:
    """Erase this chat's user now: their row (committed at once) and every Redis key, including this session.

    The engine then finds the lock gone and does not write the session back, so nothing of the conversation
    survives the turn.
    """
    turn.finish()
    await forget(turn.db, turn.deps.sessions, turn.user)
    turn.mark(Mark.FORGOTTEN)
