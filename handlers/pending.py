"""Menu entries whose flows are not in the chat yet: say so honestly and give the contact centre.

Each entry leaves this module when its flow is built and registers its own payload, intent and command.
"""

from __future__ import annotations

from bot.core.i18n import N_
from bot.core.router import Router
from bot.core.turn import Turn
from handlers.common import contact_centre_line, menu_button
from handlers.menu import FEATURE_LABELS

router = Router()

KEYWORDS = {
    "operator": N_("operator|agent|human|person"),
}
COMMANDS = {"operator": ("operator",)}


def _register(feature: str) -> None:
    async def not_yet(turn: Turn) -> None:
        turn.finish()
        label = turn._(FEATURE_LABELS[feature])
        turn.say(
            turn._(
                "The option “{feature}” is not available in this chat yet. Until it is, we can help you here:"
            ).format(feature=label)
            + "\n"
            + contact_centre_line(turn),
            [[menu_button(turn)]],
        )

    not_yet.__name__ = f"{feature}_not_yet"
    router.payload(feature)(not_yet)
    router.intent(feature, KEYWORDS[feature])(not_yet)
    if feature in COMMANDS:
        router.command(*COMMANDS[feature])(not_yet)


for _feature in KEYWORDS:
    _register(_feature)
