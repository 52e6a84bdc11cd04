"""First contact and /start: greet by the assistant's name, ask the language once, then the menu."""

from __future__ import annotations

from bot.core.i18n import LANGUAGES
from bot.core.replies import Button
from bot.core.router import Router
from bot.core.turn import Turn
from handlers.menu import show_menu

router = Router()


def greeting(turn: Turn) -> str:
    return turn._("Hello! I'm {assistant}, the {operator} assistant.").format(
        assistant=turn.t.script(turn.profile.assistant), operator=turn.t.script(turn.profile.operator)
    )


def language_buttons(turn: Turn) -> list[list[Button]]:
    """The profile's languages; the current one is marked. At first contact the one the messenger suggested comes
    first, marked; later the order is the profile's, so a typed "1" always means the same language."""
    offered = list(turn.profile.languages)
    suggested = turn.session.lang or turn.session.extra.get("hint")
    if turn.session.lang is None and suggested in offered:
        offered.remove(suggested)
        offered.insert(0, suggested)
    return [
        [Button(("✓ " if code == suggested else "") + LANGUAGES[code].native_name, f"lang:{code}")] for code in offered
    ]


@router.command("start")
async def start(turn: Turn) -> None:
    turn.finish()
    if turn.session.lang is None:
        turn.session.extra["greeted_in"] = turn.t.code
        turn.say(greeting(turn) + "\n" + turn._("Please choose your language."), language_buttons(turn))
        return
    turn.say(greeting(turn))
    await show_menu(turn)
