"""The main menu: every feature the profile offers, then language and help."""

from __future__ import annotations

from bot.core.i18n import N_
from bot.core.replies import Button
from bot.core.router import Router
from bot.core.turn import Turn
from bot.services import identity
from handlers.common import CANCEL_KEYWORDS, MENU_PAYLOAD, RESUME_SLOT

router = Router()

# Feature → label on its menu button. The payload of each entry is the feature's name.
FEATURE_LABELS = {
    "reconnect": N_("Reconnect on promise"),
    "services": N_("Services: turn on or off"),
    "account": N_("My account"),
    "consultations": N_("Consultations"),
    "complaints": N_("Complaints and requests"),
    "operator": N_("Talk to an operator"),
    "contacts": N_("Contacts"),
}

MENU_KEYWORDS = N_("menu|main menu|start|back|home")


@router.intent("menu", MENU_KEYWORDS)
@router.command("menu")
@router.payload(MENU_PAYLOAD)
async def show_menu(turn: Turn) -> None:
    turn.finish()
    rows = [[Button(turn._(FEATURE_LABELS[feature]), feature)] for feature in turn.profile.menu]
    rows.append([Button(turn._("🌐 Language"), "language"), Button(turn._("📰 News"), "news")])
    last = [Button(turn._("❓ Help"), "help")]
    if identity.current(turn) is not None:
        last.append(Button(turn._("🔓 Log out"), "logout"))
    rows.append(last)
    turn.say(turn._("How can I help you? Choose an option or type its number."), rows)


@router.intent("cancel", CANCEL_KEYWORDS)
@router.command("cancel", "stop", "otkazi", "yatyr")
@router.payload("cancel")
async def cancel(turn: Turn) -> None:
    """/cancel, "otkaži", "ýatyr": out of any flow, identification too, to the menu; what identification would have
    resumed is dropped, so it does not come back after a later identification."""
    identifying = (turn.session.state or "").startswith("id:")
    turn.session.extra.pop(RESUME_SLOT, None)
    turn.finish()
    turn.say(turn._("Identification cancelled.") if identifying else turn._("All right, I have stopped there."))
    await show_menu(turn)
