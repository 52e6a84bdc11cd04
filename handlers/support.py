"""Talking to a human operator: the user's side of the handoff.

"Talk to an operator" (the menu, /operator, typing "operater"/"operator") asks what it is about and opens a
ticket; from then on the session carries the handoff flag and the gate below takes every turn: what the user
writes or sends (text, photo, file) goes to the operator and the bot stays silent, except for the way back to
the bot (its button, /cancel, or typing a cancel word). Outside working hours the user learns when operators are
back, gets the contact centre and may leave a message (a waiting ticket; they keep the bot meanwhile). After an
operator closes the ticket the user gets the bot back with a 1–5 rating question; the rating is kept on the ticket.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError

from bot.core.engine import StalePayload, pseudonym
from bot.core.i18n import N_
from bot.core.ids import parse_id
from bot.core.incoming import Kind
from bot.core.replies import Button
from bot.core.router import Router
from bot.core.text import fold
from bot.core.turn import Turn
from bot.db.models import SupportStatus, SupportTicket
from bot.services import identity
from bot.services.analytics import Mark
from bot.services.support import tickets
from bot.services.support.service import HANDOFF_SLOT, RATE_PAYLOAD, Support
from bot.services.users import UserDirectory
from handlers.common import CANCEL_KEYWORDS, contact_centre_line, menu_button

log = logging.getLogger("mila.support")

router = Router()

ASK_STATE = "support:ask"
LEAVE_STATE = "support:leave"
OPERATOR_KEYWORDS = N_("operator|agent|human|person")
CANCEL_COMMANDS = ("/cancel", "/stop")


def _cancel_words(turn: Turn) -> set[str]:
    words: set[str] = set()
    i18n = turn.deps.i18n
    for code in i18n.codes:
        t = i18n.get(code)
        words.update(fold(w) for w in t.gettext(CANCEL_KEYWORDS).split("|"))
        words.add(fold(Support.cancel_button(t).label))
    words.update(fold(w) for w in CANCEL_KEYWORDS.split("|"))
    return {w for w in words if w}


def handoff_available(turn: Turn) -> bool:
    """Whether this deployment can put a user through to an operator (support groups configured)."""
    return turn.deps.support.enabled


@router.intent("operator", OPERATOR_KEYWORDS)
@router.command("operator")
@router.payload("operator")
async def ask_for_operator(turn: Turn) -> None:
    turn.finish()
    support = turn.deps.support
    if not handoff_available(turn):
        turn.say(
            turn._("Talking to an operator is not possible in this chat at the moment. We can help you here:")
            + "\n" + contact_centre_line(turn),
            [[menu_button(turn)]],
        )  # fmt: skip
        return
    waiting = await tickets.open_ticket_of(turn.db, turn.user)
    if waiting is not None:  # left outside working hours and not taken yet
        turn.say(
            turn._("Your message is already with our operators (ticket #{ticket}). They will answer you here.").format(
                ticket=waiting.id
            ),
            [[menu_button(turn)]],
        )
        return
    if not support.hours.is_open(turn.now):
        turn.say(
            _closed_text(turn, support) + "\n" + contact_centre_line(turn),
            [[Button(turn._("✉ Leave a message"), f"{RATE_PAYLOAD}:leave")], [menu_button(turn)]],
        )
        return
    turn.goto(ASK_STATE)
    turn.say(
        turn._(
            "I will put you through to an operator. In a few words, what do you need help with? "
            "You can also send a photo or a file."
        ),
        [[menu_button(turn)]],
    )


def _closed_text(turn: Turn, support: Support) -> str:
    back = support.hours.next_opening(turn.now)
    if back is None:
        return turn._("Our operators are not available right now.")
    return turn._("Our operators are not available right now. They are back on {day} at {time}.").format(
        day=turn.date(back), time=back.strftime("%H:%M")
    )


@router.state(ASK_STATE, accepts=(Kind.TEXT, Kind.ATTACHMENT), free_text=True)
async def question(turn: Turn) -> None:
    support = turn.deps.support
    if not support.hours.is_open(turn.now):  # the desk closed while they were typing
        await _leave(turn, support)
        return
    ticket = await _open(turn, support, after_hours=False)
    turn.finish()
    turn.session.extra[HANDOFF_SLOT] = {"t": ticket.id}
    if await support.relay.desk_down(support.groups):
        _desk_unreachable(turn, ticket.id)
        return
    position = await tickets.position_of(turn.db, ticket)
    ticket.told_position = position
    turn.say(
        turn._("Thank you. An operator will answer you here; until then the bot stays quiet.")
        + "\n" + support.queue_notice(turn.t, position),
        [[Support.cancel_button(turn.t)]],
    )  # fmt: skip


def _desk_unreachable(turn: Turn, ticket_id: int) -> None:
    """The operators' desk cannot take tickets now: said as it is, with the contact centre; the ticket is kept and
    reaches the operators when the desk works again."""
    turn.say(
        turn._("Our operators cannot be reached right now. Your message is kept (ticket #{ticket}) and goes to them "
               "as soon as they can be reached; the answer will come here. If it is urgent, you can reach us "
               "here:").format(ticket=ticket_id)
        + "\n" + contact_centre_line(turn),
        [[Support.cancel_button(turn.t)]],
    )  # fmt: skip


@router.state(LEAVE_STATE, accepts=(Kind.TEXT, Kind.ATTACHMENT), free_text=True)
async def message_left(turn: Turn) -> None:
    await _leave(turn, turn.deps.support)


async def _leave(turn: Turn, support: Support) -> None:
    ticket = await _open(turn, support, after_hours=True)
    turn.finish()
    back = support.hours.next_opening(turn.now)
    text = turn._("Thank you, your message is with our operators (ticket #{ticket}).").format(ticket=ticket.id)
    if back is not None:
        text += " " + turn._("They will answer you here when they are back, on {day} at {time}.").format(
            day=turn.date(back), time=back.strftime("%H:%M")
        )
    turn.say(text, [[menu_button(turn)]])


async def _open(turn: Turn, support: Support, *, after_hours: bool) -> SupportTicket:
    who = identity.current(turn)
    row = await UserDirectory(turn.db).ensure(turn.user)
    ticket = await support.open(
        turn.db, user=turn.user, language=turn.t.code, question=turn.incoming.text.strip(),
        attachment=turn.incoming.attachment, after_hours=after_hours, recent=turn.session.extra.get("trail", []),
        subscriber_id=who.subscriber_id if who else None, channel_user_id=row.id,
    )  # fmt: skip
    log.info("support ticket opened", extra={"user": pseudonym(turn.user.key), "ticket": ticket.id})
    turn.mark(Mark.HANDED_OFF)
    return ticket


@router.payload(RATE_PAYLOAD)
async def support_button(turn: Turn) -> None:
    """sup:leave (outside working hours), sup:rate:<ticket>:<1–5> after a close; sup:cancel outside a handoff
    is a stale button."""
    action, _, rest = turn.arg.partition(":")
    support = turn.deps.support
    if action == "leave" and support.enabled:
        if support.hours.is_open(turn.now):
            await ask_for_operator(turn)
            return
        turn.goto(LEAVE_STATE)
        turn.say(turn._("Write your message; the operators will read it when they are back."), [[menu_button(turn)]])
        return
    if action == "rate":
        await _rate(turn, support, rest)
        return
    raise StalePayload(turn.payload)


async def _rate(turn: Turn, support: Support, rest: str) -> None:
    ticket_id, _, value = rest.partition(":")
    number = parse_id(ticket_id)
    if number is None or value not in {"1", "2", "3", "4", "5"}:
        raise StalePayload(turn.payload)
    ticket = await turn.db.get(SupportTicket, number)
    if (ticket is None or (ticket.channel, ticket.external_id) != (turn.user.channel, turn.user.external_id)
            or ticket.status != SupportStatus.CLOSED.value):  # fmt: skip
        log.warning("refused a rating of another user's or an open ticket", extra={"user": pseudonym(turn.user.key)})
        raise StalePayload(turn.payload)
    turn.finish()
    if ticket.rating is None:
        await support.rate(turn.db, ticket, int(value))
    turn.say(turn._("Thank you for your rating!"))
    turn.redirect("menu")


# --- while an operator holds the conversation ---------------------------------------------------------------------
@router.session_start
async def resume_handoff(turn: Turn) -> None:
    """A session that ended (it expires after `MILA_SESSION_TTL`) while a ticket holds the conversation: the ticket
    in the database is the truth, so the user's words still go to the operator. One query per new session."""
    if not turn.deps.support.enabled:
        return
    try:
        ticket = await tickets.open_ticket_of(turn.db, turn.user)
    except SQLAlchemyError:
        log.warning("open support ticket not checked: database unavailable", extra={"user": pseudonym(turn.user.key)})
        await turn.uow.session.rollback()
        return
    if ticket is not None and (ticket.status == SupportStatus.WITH_OPERATOR.value or not ticket.after_hours):
        turn.session.extra[HANDOFF_SLOT] = {"t": ticket.id}


@router.gate(HANDOFF_SLOT)
async def during_handoff(turn: Turn) -> bool:
    support = turn.deps.support
    ticket_id = turn.session.extra.get(HANDOFF_SLOT, {}).get("t")
    ticket = await turn.db.get(SupportTicket, int(ticket_id)) if isinstance(ticket_id, int) else None
    if (ticket is None or ticket.status == SupportStatus.CLOSED.value
            or (ticket.channel, ticket.external_id) != (turn.user.channel, turn.user.external_id)):  # fmt: skip
        turn.session.extra.pop(HANDOFF_SLOT, None)  # closed meanwhile: the bot answers again
        return False
    incoming = turn.incoming
    if incoming.kind is Kind.UNSUBSCRIBED:  # blocked the bot or unsubscribed: nobody to answer any more
        await support.cancel(turn.db, ticket, left=True)
        turn.session.extra.pop(HANDOFF_SLOT, None)
        return True
    if _wants_out(turn):
        await support.cancel(turn.db, ticket)
        turn.session.extra.pop(HANDOFF_SLOT, None)
        turn.finish()
        turn.say(turn._("You have left the conversation with the operator. The bot answers you again."))
        turn.redirect("menu")
        return True
    reminder = [[Support.cancel_button(turn.t)]]
    if incoming.kind is Kind.TEXT and not incoming.text.strip().startswith("/") and incoming.text.strip():
        if len(incoming.text) > turn.deps.settings.max_text_length:
            turn.say(turn._("Your message is too long for the operator. Please split it into shorter ones."), reminder)
            return True
        await support.relay_in(turn.db, ticket, incoming.text.strip(), None)
        return True
    if incoming.kind is Kind.ATTACHMENT:
        await support.relay_in(turn.db, ticket, incoming.text.strip(), incoming.attachment)
        return True
    if incoming.kind in (Kind.CONTACT, Kind.UNSUPPORTED):
        turn.say(turn._("The operator can read text, photos and files only."), reminder)
        return True
    turn.say(
        turn._("You are talking to an operator, so the bot's buttons and commands don't work now. "
               "To go back to the bot, press “{cancel}”.").format(cancel=Support.cancel_button(turn.t).label),
        reminder,
    )  # fmt: skip
    return True


def _wants_out(turn: Turn) -> bool:
    incoming = turn.incoming
    if incoming.kind is Kind.BUTTON:
        return incoming.payload == f"{RATE_PAYLOAD}:cancel"
    if incoming.kind is Kind.TEXT:
        text = incoming.text.strip()
        if text.split("@")[0].lower() in CANCEL_COMMANDS:
            return True
        return fold(text) in _cancel_words(turn)
    return False
