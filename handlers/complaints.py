"""Complaints and written requests in the chat, their status by reference, and the operator's other channels.

The operator does not process anonymous requests, so filing one starts with identification; the subscriber then
picks the category (which decides the department's address), writes the description (length-limited), may add a
photo or a file, and gets a reference. The request is stored and e-mailed through the mail outbox
(bot.services.tickets, bot.services.mail). Only the subscriber who filed a request can see its status.
"""

from __future__ import annotations

from bot.core.engine import StalePayload
from bot.core.i18n import N_
from bot.core.incoming import Kind
from bot.core.replies import Button
from bot.core.router import Router
from bot.core.text import fold
from bot.core.turn import Turn
from bot.db.models import TicketStatus
from bot.profiles import ComplaintCategory, Complaints
from bot.services import identity, tickets
from handlers.common import contact_centre_line, mentions_contact_centre, menu_button
from handlers.identify import require_identity

router = Router()

TEXT_STATE = "complaint:text"
ATTACH_STATE = "complaint:attach"
STATUS_STATE = "complaint:status"

STATUS_LABELS = {
    TicketStatus.RECEIVED.value: N_("registered; it is being forwarded to the department"),
    TicketStatus.FORWARDED.value: N_("forwarded to the department, which will answer you"),
}
NOT_FORWARDED = N_("registered, but not forwarded to the department")


def _rules(turn: Turn) -> Complaints:
    rules = turn.profile.complaints
    if rules is None:  # a profile without complaints has no such button: the payload was forged
        raise StalePayload(turn.payload)
    return rules


def _cancel(turn: Turn) -> Button:
    return Button(turn._("✖ Cancel"), "menu")


@router.intent("complaints", N_("complaint|complaints|request|written request"))
@router.command("complaint", "prigovor")
@router.payload("complaints")
async def complaints_menu(turn: Turn) -> None:
    _rules(turn)
    turn.finish()
    turn.say(
        turn._(
            "Here you can file a complaint or a written request, or ask about one you filed. "
            "Anonymous requests are not processed, so I will ask you to identify yourself first."
        ),
        [
            [Button(turn._("✍ New complaint or request"), "cnew")],
            [Button(turn._("🔎 Status of my request"), "cstatus")],
            [Button(turn._("📮 Other ways to reach us"), "cchan")],
            [menu_button(turn)],
        ],
    )


@router.payload("cchan")
async def other_channels(turn: Turn) -> None:
    turn.finish()
    channels = turn.content(turn.profile.text("complaint_channels"))
    if not mentions_contact_centre(turn, channels):  # the operator's own list may already end with it
        channels += "\n\n" + contact_centre_line(turn)
    turn.say(
        channels,
        [[Button(turn._("✍ New complaint or request"), "cnew")], [menu_button(turn)]],
    )


@router.payload("cnew")
async def new_complaint(turn: Turn) -> None:
    rules = _rules(turn)
    if await require_identity(turn) is None:
        return
    turn.finish()
    turn.say(
        turn._("What is your complaint or request about?"),
        [[Button(turn.content(c.title), f"ccat:{c.code}")] for c in rules.categories] + [[_cancel(turn)]],
    )


@router.payload("ccat")
async def category_chosen(turn: Turn) -> None:
    category = _category(turn, turn.arg)
    if await require_identity(turn) is None:
        return
    limit = _rules(turn).max_length
    turn.goto(TEXT_STATE, cat=category.code)
    turn.say(
        turn.ngettext(
            "{category}. Describe your complaint or request in one message, in at most {limit} character.",
            "{category}. Describe your complaint or request in one message, in at most {limit} characters.",
            limit,
        ).format(category=turn.content(category.title), limit=turn.t.number(limit)),
        [[_cancel(turn)]],
    )


def _category(turn: Turn, code: str) -> ComplaintCategory:
    category = _rules(turn).category(code)
    if category is None:
        raise StalePayload(turn.payload)
    return category


@router.state(TEXT_STATE, accepts=(Kind.TEXT, Kind.ATTACHMENT, Kind.UNSUPPORTED), free_text=True)
async def description_given(turn: Turn) -> None:
    if turn.incoming.kind is not Kind.TEXT:  # a picture sent first: the request being written is kept
        turn.say(
            turn._(
                "Please first describe your complaint or request in words; you can send a photo or a file right after."
            ),
            [[_cancel(turn)]],
        )
        return
    text = turn.incoming.text.strip()
    limit = _rules(turn).max_length
    if len(text) > limit:
        turn.say(
            turn.ngettext(
                "Your description has {length} character, but a request can have at most {limit}. "
                "Please shorten it and send it again.",
                "Your description has {length} characters, but a request can have at most {limit}. "
                "Please shorten it and send it again.",
                len(text),
            ).format(length=turn.t.number(len(text)), limit=turn.t.number(limit)),
            [[_cancel(turn)]],
        )
        return
    turn.goto(ATTACH_STATE, cat=turn.session.data.get("cat", ""), text=text)
    turn.say(
        turn._("If you have a photo or a file that shows the problem (a bill, a screenshot), send it now."),
        [[Button(turn._("📨 Send without attachment"), "csend")], [_cancel(turn)]],
    )


@router.state(ATTACH_STATE, accepts=(Kind.TEXT, Kind.ATTACHMENT, Kind.UNSUPPORTED))
async def attachment_given(turn: Turn) -> None:
    if turn.incoming.kind is Kind.ATTACHMENT and turn.incoming.attachment is not None:
        await _file(turn)
        return
    turn.say(
        turn._("Send a photo or a file, or press “Send without attachment”."),
        [[Button(turn._("📨 Send without attachment"), "csend")], [_cancel(turn)]],
    )


@router.payload("csend")
async def send_without_attachment(turn: Turn) -> None:
    if turn.session.state != ATTACH_STATE:
        raise StalePayload(turn.payload)  # pressed again after the request was sent
    await _file(turn)


async def _file(turn: Turn) -> None:
    data = dict(turn.session.data)
    category = _category(turn, str(data.get("cat", "")))
    who = identity.current(turn)
    if who is None:  # identification lapsed while writing: the text is kept in the chat, so it can be resent
        turn.finish()
        turn.say(turn._("Your identification has expired. Please identify yourself again and resend the request."))
        turn.payload = "cnew"
        await require_identity(turn)
        return
    backend = identity.backend(turn)
    subscriber = await backend.subscriber(who.subscriber_id)
    if subscriber is None:
        raise StalePayload(turn.payload)
    filed = await tickets.file_ticket(
        turn.db,
        turn.profile,
        turn.deps.i18n.get(turn.profile.default_language),
        subscriber=subscriber,
        accounts=await backend.accounts(who.subscriber_id),
        category=category,
        description=str(data.get("text", "")),
        attachment=turn.incoming.attachment if turn.incoming.kind is Kind.ATTACHMENT else None,
        user=turn.user,
        language=turn.t.code,
        now=turn.now,
        callback=subscriber.contact_phone or next(iter(await backend.line_phones(who.subscriber_id)), None),
    )
    turn.finish()
    lines = [
        turn._("Thank you. Your request is registered under the reference {reference}.").format(
            reference=filed.reference
        )
    ]
    if turn.incoming.kind is Kind.ATTACHMENT:
        lines.append(turn._("The attachment is included."))
    lines.append(
        turn._("It has gone to {address}, the department that handles it; you can ask about it here with the "
               "reference.").format(address=filed.recipient)
    )  # fmt: skip
    days = _rules(turn).answer_days
    if days:
        lines.append(
            turn.ngettext(
                "You can expect an answer within {count} day.", "You can expect an answer within {count} days.", days
            ).format(count=days)
        )
    if await tickets.forwarding_delayed(turn.db):
        lines.append(_delayed(turn))
    turn.say(
        "\n".join(lines),
        [[Button(turn._("🔎 Status of my request"), f"cref:{filed.reference}")], [menu_button(turn)]],
    )


# --- status by reference ------------------------------------------------------------------------------------------
@router.payload("cstatus")
async def ask_status(turn: Turn) -> None:
    _rules(turn)
    who = await require_identity(turn)
    if who is None:
        return
    recent = await tickets.recent_tickets(turn.db, who.subscriber_id)
    turn.goto(STATUS_STATE)
    rows = [[Button(t.reference, f"cref:{t.reference}")] for t in recent]
    turn.say(turn._("Type the reference of your request (for example R-12345678)."), [*rows, [menu_button(turn)]])


@router.state(STATUS_STATE, free_text=True)
async def reference_typed(turn: Turn) -> None:
    who = await require_identity(turn)
    if who is None:
        return
    reference = tickets.normalize_reference(turn.incoming.text)
    if reference is None:
        turn.say(turn._("That is not a reference. A reference looks like R-12345678."), [[menu_button(turn)]])
        return
    found = await tickets.find_ticket(turn.db, reference, who.subscriber_id)
    if found is None:
        _not_found(turn, reference)
        return
    _show_status(turn, found)


@router.payload("cref")
async def status_by_button(turn: Turn) -> None:
    reference = tickets.normalize_reference(turn.arg)
    if reference is None:
        raise StalePayload(turn.payload)
    who = await require_identity(turn)
    if who is None:
        return
    found = await tickets.find_ticket(turn.db, reference, who.subscriber_id)
    if found is None:  # typed anywhere, or someone else's in a forged button: the same answer as for no such request
        _not_found(turn, reference)
        return
    _show_status(turn, found)


@router.recogniser
def typed_reference(text: str) -> str | None:
    """ "R-12345678" or "r 12345678" typed anywhere asks for that request's status (bare digits are too like other
    numbers to be taken for a reference outside the status question)."""
    latin = fold(text)  # "Р-12345678" typed with the Cyrillic Er too
    if not latin.startswith("r"):
        return None
    reference = tickets.normalize_reference(latin)
    return f"cref:{reference}" if reference else None


def _not_found(turn: Turn, reference: str) -> None:
    turn.say(
        turn._("I found no request of yours with the reference {reference}.").format(reference=reference),
        [[menu_button(turn)]],
    )


def _show_status(turn: Turn, found: tickets.TicketInfo) -> None:
    turn.finish()
    rules = _rules(turn)
    category = rules.category(found.category)
    lines = [
        turn._("Request {reference}").format(reference=found.reference),
        turn._("Category: {category}").format(category=turn.content(category.title) if category else found.category),
        turn._("Filed: {date}").format(date=turn.t.datetime(found.created_at, turn.profile.zone)),
        turn._("Status: {status}").format(status=turn._(STATUS_LABELS.get(found.status, found.status))
                                          if found.forwarding is not tickets.Forwarding.FAILED
                                          else turn._(NOT_FORWARDED)),
    ]  # fmt: skip
    if found.forwarded_at is not None:
        lines.append(turn._("Forwarded: {date}").format(date=turn.t.datetime(found.forwarded_at, turn.profile.zone)))
    if found.forwarding is tickets.Forwarding.DELAYED:
        lines.append(_delayed(turn))
    elif found.forwarding is tickets.Forwarding.FAILED:
        lines.append(
            turn._(
                "We could not forward it to the department. Please contact us and give the reference {reference}:"
            ).format(reference=found.reference)
            + "\n"
            + contact_centre_line(turn)
        )
    turn.say("\n".join(lines), [[menu_button(turn)]])


def _delayed(turn: Turn) -> str:
    """Said while the e-mails to the departments keep failing: the request is safe, the wait is longer."""
    return (turn._("Forwarding requests to the department is delayed by a technical problem: yours is kept and will "
                   "be forwarded, and its reference stays valid. If it is urgent, you can reach us here:")
            + "\n" + contact_centre_line(turn))  # fmt: skip
