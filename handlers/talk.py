"""Small talk and short answers the understanding step routes to: a greeting, thanks, a goodbye, an insult, "are
you a robot?", and the code-word question. Each answer is short and leads back to what the bot does."""

from __future__ import annotations

from bot.core.engine import StalePayload
from bot.core.i18n import N_
from bot.core.replies import Button
from bot.core.router import Router
from bot.core.turn import Turn
from handlers.common import contact_centre_line, menu_button
from handlers.menu import show_menu

router = Router()

ANSWERS = {
    "hello": N_("Hello! I'm {assistant}, the virtual assistant of {operator}."),
    "thanks": N_("You're welcome! Is there anything else I can do for you?"),
    "bye": N_("Goodbye! Write to me whenever you need anything."),
    "insult": N_("I'm sorry I haven't been of help. Let's try again — or ask for an operator."),
    "robot": N_("I'm {assistant}, a virtual assistant of {operator}, not a person. A human operator can take over "
                "when you ask for one."),
}  # fmt: skip


@router.payload("talk")
async def talk(turn: Turn) -> None:
    """talk:<kind>: the answer, then the menu (after a goodbye, only the way back)."""
    answer = ANSWERS.get(turn.arg)
    if answer is None:
        raise StalePayload(turn.payload)
    turn.finish()
    text = turn._(answer).format(assistant=turn.profile.assistant, operator=turn.profile.operator)
    if turn.arg == "bye":
        turn.say(text, [[menu_button(turn)]])
        return
    turn.say(text)
    if turn.arg in ("insult", "robot") and "operator" in turn.profile.menu:
        turn.say(turn._("Would you like to talk to an operator?"),
                 [[Button(turn._("👤 Talk to an operator"), "operator")], [menu_button(turn)]])  # fmt: skip
        return
    await show_menu(turn)


@router.payload("code_word")
async def code_word(turn: Turn) -> None:
    """What a code word is and where it is set: the operator's own text where the profile has it."""
    turn.finish()
    text = turn.profile.texts.get("code_word")
    body = (
        turn.content(text)
        if text
        else turn._("A code word is not used here. To confirm who you are, our contact centre will help:")
        + "\n"
        + contact_centre_line(turn)
    )
    turn.say(body, [[menu_button(turn)]])
