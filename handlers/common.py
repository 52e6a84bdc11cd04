"""Pieces several flows show: the way back to the menu, the contact centre line."""

from __future__ import annotations

from bot.core.engine import MENU_BUTTON
from bot.core.replies import Button
from bot.core.turn import Turn

MENU_PAYLOAD = "menu"


def menu_button(turn: Turn) -> Button:
    return Button(turn._(MENU_BUTTON), MENU_PAYLOAD)


def contact_centre_line(turn: Turn) -> str:
    centre = turn.profile.contact_centre
    line = turn._("{label}: {number}").format(label=turn.content(centre.label), number=centre.number)
    if centre.note:
        line += ". " + turn.content(centre.note)
    return line
