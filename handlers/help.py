"""Help and the operator's contact details, both from the profile."""

from __future__ import annotations

from bot.core.i18n import N_
from bot.core.router import Router
from bot.core.turn import Turn
from handlers.common import menu_button

router = Router()


@router.intent("help", N_("help|what can you do|info"))
@router.command("help", "pomoc", "komek")
@router.payload("help")
async def show_help(turn: Turn) -> None:
    turn.finish()
    tips = turn._(
        "You can choose an option by pressing it or by typing its number. You can also write a word such as "
        "“menu”, “help”, “language” or “operator”. Commands: /menu, /language, /operator, /help."
    )
    turn.say(turn.content(turn.profile.text("about")) + "\n\n" + tips, [[menu_button(turn)]])


@router.intent("contacts", N_("contact|contacts|phone|address|e-mail"))
@router.command("contacts", "kontakt")
@router.payload("contacts")
async def show_contacts(turn: Turn) -> None:
    turn.finish()
    turn.say(turn.content(turn.profile.text("contacts")), [[menu_button(turn)]])
