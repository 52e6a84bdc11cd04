"""Consent to tariff news: asked once after the language, changeable any time, and one tap to withdraw.

Marketing needs consent (ZZPL/GDPR): the answer and its time are stored on the channel user. The opt-out button
that comes with every marketing message carries `news:off:<campaign id>`, which works days later because it needs
no session; the campaign id only counts the opt-out for that campaign, and only when the user was one of its
recipients (a forged id counts nothing, and opting out is never refused).
"""

from __future__ import annotations

from bot.core.i18n import N_
from bot.core.ids import parse_id
from bot.core.replies import Button
from bot.core.router import Router
from bot.core.turn import Turn
from bot.services.campaigns.store import record_opt_out
from bot.services.users import UserDirectory
from handlers.common import menu_button
from handlers.menu import show_menu

router = Router()

NEWS_ON = "news:on"
NEWS_OFF = "news:off"


def consent_buttons(turn: Turn) -> list[list[Button]]:
    return [
        [Button(turn._("Yes, send me news"), NEWS_ON)],
        [Button(turn._("No, thank you"), NEWS_OFF)],
    ]


def ask_consent(turn: Turn) -> None:
    """The question of first contact, right after the language."""
    turn.say(
        turn._(
            "Would you like to receive news about tariffs and offers here? "
            "You can change your mind at any time with /news or from the menu."
        ),
        consent_buttons(turn),
    )


@router.intent("news", N_("news|offers|tariff news"))
@router.command("news")
@router.payload("news", explicit=True)
async def news_settings(turn: Turn) -> None:
    choice, _, campaign = turn.arg.partition(":")
    if choice in ("on", "off") and (not campaign or choice == "off"):
        campaign_id = parse_id(campaign)
        if campaign_id is not None:
            await record_opt_out(turn.db, turn.user, campaign_id, turn.now)
        await _set(turn, choice == "on")
        return
    turn.finish()
    user = await UserDirectory(turn.db).ensure(turn.user)
    if user.marketing_consent is None:  # not answered yet: the question itself, whatever brought the user here
        ask_consent(turn)
        return
    state = (
        turn._("You receive news about tariffs and offers.")
        if user.marketing_consent
        else turn._("You don't receive news about tariffs and offers.")
    )
    button = (
        Button(turn._("Stop sending me news"), NEWS_OFF)
        if user.marketing_consent
        else Button(turn._("Yes, send me news"), NEWS_ON)
    )
    turn.say(state, [[button], [menu_button(turn)]])


async def _set(turn: Turn, consent: bool) -> None:
    first_answer = await UserDirectory(turn.db).set_marketing_consent(turn.user, consent, turn.now)
    turn.finish()
    turn.say(
        turn._("Thank you! You will receive news about tariffs and offers. /news stops them at any time.")
        if consent
        else turn._("Understood: no news about tariffs and offers. /news turns them on if you change your mind.")
    )
    if first_answer:
        await show_menu(turn)
    else:
        turn.say(turn._("Anything else I can do for you?"), [[menu_button(turn)]])
