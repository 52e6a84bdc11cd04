"""Pieces several flows show: the way back to the menu, the contact centre line."""

from __future__ import annotations

import re

from bot.core.capabilities import capabilities
from bot.core.engine import MENU_BUTTON
from bot.core.i18n import N_
from bot.core.replies import Button
from bot.core.turn import Turn

MENU_PAYLOAD = "menu"
# The words that end a conversation with an operator end any flow of the bot too (handlers.menu.cancel).
CANCEL_KEYWORDS = N_("cancel|stop|end|back to the bot")
RESUME_SLOT = "resume"  # session.extra: the payload identification resumes once it succeeds


def menu_button(turn: Turn) -> Button:
    return Button(turn._(MENU_BUTTON), MENU_PAYLOAD)


def mentions_contact_centre(turn: Turn, text: str) -> bool:
    """Whether `text` already gives the contact centre's number (as a number, not inside an e-mail address)."""
    number = re.escape(turn.profile.contact_centre.number)
    return re.search(rf"(?<![\w@.]){number}(?![\w@])", text) is not None


def contact_centre_line(turn: Turn) -> str:
    centre = turn.profile.contact_centre
    line = turn._("{label}: {number}").format(label=turn.content(centre.label), number=centre.number)
    if centre.note:
        line += ". " + turn.content(centre.note)
    return line


def call_buttons(turn: Turn) -> list[list[Button]]:
    """One tap to call each number of the profile, where the messenger can open the dialler from a button; the
    numbers stay in the text, so nothing is lost where it cannot."""
    if not capabilities(turn.user.channel).call_links:
        return []
    numbers = [turn.profile.contact_centre.number, *(phone.number for phone in turn.profile.phones)]
    rows: list[list[Button]] = []
    for number in dict.fromkeys(numbers):
        dialled = re.sub(r"[^0-9+]", "", number)
        rows.append([Button(turn._("📞 Call {number}").format(number=number), url="tel:" + dialled)])
    return rows
