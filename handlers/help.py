"""Help and the operator's contact details, both from the profile. Help offers an operator only where this
deployment can put the user through to one."""

from __future__ import annotations

from bot.core.i18n import N_
from bot.core.replies import Button
from bot.core.router import Router
from bot.core.turn import Turn
from handlers.common import call_buttons, menu_button
from handlers.support import handoff_available

router = Router()


@router.intent("help", N_("help|what can you do|info"))
@router.command("help", "pomoc", "komek")
@router.payload("help")
async def show_help(turn: Turn) -> None:
    turn.finish()
    tips = turn._(
        "You can choose an option by pressing it or by typing its number. You can also write a word such as "
        "“menu”, “help” or “language”. Commands: /menu, /language, /help."
    )
    if handoff_available(turn):
        tips += "\n" + turn._(
            "When you need a person, you can talk to one of our operators here: write “operator” or /operator."
        )
    about = turn.content(turn.profile.text("about"))
    if ivr := turn.profile.texts.get("ivr"):  # what the operator's voice menu tells by phone
        about += "\n\n" + turn.content(ivr)
    rows = []
    if "reconnect" in turn.profile.menu and "reconnect_assistant_steps" in turn.profile.texts:
        rows.append([Button(turn._("ℹ Instructions: reconnection on promise"), "rcsteps")])
    turn.say(about + "\n\n" + tips, [*rows, [menu_button(turn)]])


@router.intent("contacts", N_("contact|contacts|phone|address|e-mail"))
@router.command("contacts", "kontakt")
@router.payload("contacts")
async def show_contacts(turn: Turn) -> None:
    turn.finish()
    turn.say(turn.content(turn.profile.text("contacts")), [*call_buttons(turn), [menu_button(turn)]])
