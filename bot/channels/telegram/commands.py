"""The command menu Telegram shows next to the input field, per language (`setMyCommands`).

Only commands the router knows are registered, so a command appears in the menu when its flow exists and never
leads to "I don't know that command".
"""

from __future__ import annotations

from aiogram.types import BotCommand

from bot.core.i18n import N_, I18n

COMMANDS: list[tuple[str, str]] = [
    ("start", N_("Start over")),
    ("menu", N_("Main menu")),
    ("language", N_("Change the language")),
    ("operator", N_("Talk to an operator")),
    ("logout", N_("Sign out of your account")),
    ("forget", N_("Delete my data from the bot")),
    ("help", N_("What the bot can do")),
]

# Telegram's language_code values (IETF two-letter codes) → our catalogs. Cyrillic readers share "sr".
TELEGRAM_LANGUAGES = {"sr": "sr", "tk": "tk"}


def localized_commands(i18n: I18n, code: str, known: set[str]) -> list[BotCommand]:
    t = i18n.get(code)
    return [BotCommand(command=name, description=t.gettext(text)) for name, text in COMMANDS if name in known]
