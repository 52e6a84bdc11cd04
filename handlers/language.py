"""Choosing the language: at first contact, from the menu, with /language or by typing "jezik"/"dil"."""

from __future__ import annotations

from bot.core.engine import StalePayload
from bot.core.i18n import LANGUAGES, N_
from bot.core.router import Router
from bot.core.turn import Turn
from bot.services.users import UserDirectory
from handlers.consent import ask_consent
from handlers.menu import show_menu
from handlers.start import greeting, language_buttons

router = Router()


@router.intent("language", N_("language|change language"))
@router.command("language", "lang", "jezik", "dil")
@router.payload("language")
async def ask_language(turn: Turn) -> None:
    turn.finish()
    turn.say(turn._("Please choose your language."), language_buttons(turn))


@router.payload("lang")
async def choose_language(turn: Turn) -> None:
    code = turn.arg
    if code not in turn.profile.languages:
        raise StalePayload(turn.payload)
    first_contact = turn.session.lang is None
    unchanged = turn.session.lang == code
    await UserDirectory(turn.db).set_language(turn.user, code)
    turn.set_language(code)
    turn.finish()
    if first_contact:
        if turn.session.extra.pop("greeted_in", None) != code:  # greeted already, in this very language
            turn.say(greeting(turn))
        user = await UserDirectory(turn.db).ensure(turn.user)
        if user.marketing_consent is None:
            ask_consent(turn)
            return
    elif unchanged:
        turn.say(greeting(turn))
    else:
        turn.say(turn._("Language changed to {language}.").format(language=LANGUAGES[code].native_name))
    await show_menu(turn)
