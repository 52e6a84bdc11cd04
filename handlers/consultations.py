"""Consultations: the operator's topics as a menu, each answer from the profile, then "Did this help?".

The answers are operator content (profile `consultations`, localized), so an operator changes them without code.
A "no" offers a human: the operator entry of the menu (the hand-off itself is its own flow).
"""

from __future__ import annotations

from bot.core.engine import StalePayload
from bot.core.i18n import N_
from bot.core.replies import Button
from bot.core.router import Router
from bot.core.turn import Turn
from bot.profiles import Topic
from handlers.common import contact_centre_line, menu_button

router = Router()

OPERATOR_PAYLOAD = "operator"


def _operator_button(turn: Turn) -> Button:
    return Button(turn._("👤 Talk to an operator"), OPERATOR_PAYLOAD)


def _topic(turn: Turn, code: str) -> Topic:
    topic = next((t for t in turn.profile.consultations if t.code == code), None)
    if topic is None:
        raise StalePayload(turn.payload)
    return topic


@router.intent("consultations", N_("consultation|consultations|advice"))
@router.payload("consultations")
async def topics(turn: Turn) -> None:
    turn.finish()
    found = turn.profile.consultations
    if not found:
        turn.say(
            turn._("I have no consultations for you here, but we are glad to advise you:")
            + "\n"
            + contact_centre_line(turn),
            [[menu_button(turn)]],
        )
        return
    rows = [[Button(turn.content(t.title), f"ctopic:{t.code}")] for t in found]
    turn.say(turn._("What would you like advice about?"), [*rows, [menu_button(turn)]])


@router.payload("ctopic")
async def answer(turn: Turn) -> None:
    topic = _topic(turn, turn.arg)
    turn.finish()
    turn.say(
        turn.content(topic.answer) + "\n\n" + turn._("Did this help?"),
        [
            [Button(turn._("👍 Yes"), f"chelp:y:{topic.code}"), Button(turn._("👎 No"), f"chelp:n:{topic.code}")],
            [_operator_button(turn)],
            [Button(turn._("📚 Other topics"), "consultations")],
            [menu_button(turn)],
        ],
    )


@router.payload("chelp")
async def helped(turn: Turn) -> None:
    verdict, _, code = turn.arg.partition(":")
    _topic(turn, code)
    if verdict not in ("y", "n"):
        raise StalePayload(turn.payload)
    turn.finish()
    if verdict == "y":
        turn.say(
            turn._("I'm glad it helped!"),
            [[Button(turn._("📚 Other topics"), "consultations")], [menu_button(turn)]],
        )
        return
    turn.say(
        turn._("I'm sorry the answer did not help. An operator can look at your question with you:")
        + "\n"
        + contact_centre_line(turn),
        [[_operator_button(turn)], [Button(turn._("📚 Other topics"), "consultations")], [menu_button(turn)]],
    )
