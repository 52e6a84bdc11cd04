"""`/tickets`: the conversations handed to operators, searched by status, channel, language, operator, rating and
period; one
ticket's whole exchange with the operators' notes, numbers masked as on the desk card; a waiting ticket closed
from here with a reason (audited). For support and admin only."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from sqlalchemy import false, select

from bot.console.app import ADMIN, SUPPORT, USER, allow, console_of, render
from bot.console.i18n import _
from bot.console.masking import mask_numbers
from bot.console.periods import CHANNELS, LANGUAGES, period_of
from bot.db.models import Subscriber, SupportStatus, SupportTicket
from bot.services.phones import mask_phone
from bot.services.support.service import CARD_ANONYMOUS, CARD_IDENTIFIED
from bot.services.support.tickets import messages_of

LIMIT = 200
MAX_REASON = 300
MAX_SEARCH = 100
MAX_CANDIDATES = 2000  # topics searched after masking, at most
MIN_WORDS = 3
_WORDS = re.compile(r"[\d•+]+")  # what a search is split at for the database: the digits and the masks
MAX_ID = 2**31 - 1  # the largest ticket number a database column holds
MAX_NAME = 64
MAX_OPERATORS = 200
RATINGS = ("1", "2", "3", "4", "5")


def _status(value: str) -> str:
    names = {"waiting": _("waiting"), "with_operator": _("with an operator"), "closed": _("closed")}
    return names.get(value, value)


def _region(request: web.Request) -> str:
    return console_of(request).app.deps.profile.country


@allow(ADMIN, SUPPORT)
async def listing(request: web.Request) -> web.Response:
    console = console_of(request)
    profile = console.app.deps.profile
    period = period_of(request, profile.zone, console.app.deps.clock())
    status = request.query.get("status")
    operator = request.query.get("operator", "").strip()[:MAX_NAME]
    rating = request.query.get("rating", "")
    search = request.query.get("q", "").strip()[:MAX_SEARCH]
    query = select(SupportTicket).where(
        SupportTicket.created_at >= period.since, SupportTicket.created_at < period.until
    )
    if status in {s.value for s in SupportStatus}:
        query = query.where(SupportTicket.status == status)
    if period.channel:
        query = query.where(SupportTicket.channel == period.channel)
    if period.language:
        query = query.where(SupportTicket.language == period.language)
    if operator:
        query = query.where(SupportTicket.operator_name == operator)
    if rating in RATINGS:
        query = query.where(SupportTicket.rating == int(rating))
    else:
        rating = ""
    by_id = search.isascii() and search.isdigit()  # "²" is a digit to str.isdigit, not to int()
    if by_id:
        query = query.where(SupportTicket.id == int(search)) if int(search) <= MAX_ID else query.where(false())
    elif search:
        # Searched in the topic as it is shown (masked), never in its hidden digits: the database narrows by the
        # words without digits, the masked topics are then searched here.
        for words in _WORDS.split(search):
            if len(words.strip()) >= MIN_WORDS:
                escaped = words.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                query = query.where(SupportTicket.topic.ilike(f"%{escaped}%", escape="\\"))
    limit = MAX_CANDIDATES if search and not by_id else LIMIT
    query = query.order_by(SupportTicket.created_at.desc(), SupportTicket.id.desc()).limit(limit)
    # The operators to choose from: those who took a ticket opened in the period.
    named = (
        select(SupportTicket.operator_name)
        .where(SupportTicket.created_at >= period.since, SupportTicket.created_at < period.until,
               SupportTicket.operator_name.is_not(None))
        .distinct()
        .order_by(SupportTicket.operator_name)
        .limit(MAX_OPERATORS)
    )  # fmt: skip
    async with console.sessionmaker() as db:
        found = list((await db.execute(query)).scalars())
        operators = [str(name) for name in (await db.execute(named)).scalars()]
    if operator and operator not in operators:
        operators.append(operator)
    region = _region(request)
    if search and not by_id:
        needle = search.casefold()
        found = [t for t in found if needle in mask_numbers(t.topic, region).casefold()][:LIMIT]
    rows = [{"id": t.id, "status": _status(t.status), "status_value": t.status, "channel": t.channel,
             "language": t.language, "operator": t.operator_name or "–",
             "created": t.created_at.astimezone(profile.zone).strftime("%Y-%m-%d %H:%M"),
             "rating": t.rating or "–", "topic": mask_numbers(t.topic, region)} for t in found]  # fmt: skip
    return render(request, "tickets.html", {
        "rows": rows, "period": period, "status": status or "", "q": search, "channels": CHANNELS,
        "operator": operator, "operators": operators, "rating": rating, "ratings": RATINGS,
        "languages": LANGUAGES, "statuses": [(s.value, _status(s.value)) for s in SupportStatus], "limit": LIMIT,
    })  # fmt: skip


async def _ticket(request: web.Request) -> SupportTicket:
    try:
        ticket_id = int(request.match_info["id"])
    except ValueError:
        raise web.HTTPNotFound() from None
    if ticket_id > MAX_ID:
        raise web.HTTPNotFound()
    async with console_of(request).sessionmaker() as db:
        ticket = await db.get(SupportTicket, ticket_id)
    if not isinstance(ticket, SupportTicket):
        raise web.HTTPNotFound()
    return ticket


@allow(ADMIN, SUPPORT)
async def one(request: web.Request) -> web.Response:
    console = console_of(request)
    zone = console.app.deps.profile.zone
    ticket = await _ticket(request)
    region = _region(request)
    async with console.sessionmaker() as db:
        subscriber = await db.get(Subscriber, ticket.subscriber_id) if ticket.subscriber_id else None
        messages = await messages_of(db, ticket.id)
    if subscriber is not None:
        phone = mask_phone(subscriber.contact_phone) if subscriber.contact_phone else "–"
        who = _(CARD_IDENTIFIED).format(phone=phone, code=subscriber.customer_code)
    else:
        who = _(CARD_ANONYMOUS)
    kinds = {"in": _("user"), "out": _("operator"), "note": _("note")}
    exchange = [{"at": m.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"), "direction": m.direction,
                 "who": kinds.get(m.direction, m.direction) + (f" {m.author}" if m.author else ""),
                 "text": mask_numbers(m.text, region),
                 "attachment": mask_numbers(m.attachment_name or m.attachment_kind, region)
                 if m.attachment_kind else None}
                for m in messages]  # fmt: skip

    def local(value: Any) -> str:
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M") if value else "–"

    facts = [(_("Status"), _status(ticket.status) + (" · " + _("after hours") if ticket.after_hours else "")),
             (_("Channel"), ticket.channel), (_("Language"), ticket.language), (_("User"), who),
             (_("Operator"), ticket.operator_name or "–"), (_("Opened"), local(ticket.created_at)),
             (_("Taken"), local(ticket.taken_at)), (_("Closed"), local(ticket.closed_at)),
             (_("Rating"), str(ticket.rating or "–"))]  # fmt: skip
    return render(request, "ticket.html", {
        "ticket": ticket, "facts": facts, "exchange": exchange, "topic": mask_numbers(ticket.topic, region),
        "can_close": ticket.status == SupportStatus.WAITING.value, "error": request.query.get("error") == "reason",
        "max_reason": MAX_REASON,
    })  # fmt: skip


@allow(ADMIN, SUPPORT)
async def close(request: web.Request) -> web.Response:
    console = console_of(request)
    ticket = await _ticket(request)
    form = await request.post()
    reason = " ".join(str(form.get("reason") or "").split())[:MAX_REASON]
    if not reason:
        raise web.HTTPSeeOther(f"/tickets/{ticket.id}?error=reason")
    if ticket.status != SupportStatus.WAITING.value:
        return render(request, "error.html", {"title": _("Not closed"),
                      "message": _("Only a waiting ticket can be closed here.")}, status=409)  # fmt: skip
    user = request[USER]
    support = console.app.deps.support
    # As an operator would from the desk: the user is told, gets the bot back and is asked for a rating.
    closed = await support.close(ticket.id, "operator", user.username, only_waiting=True)
    if not closed.ok:
        return render(request, "error.html", {"title": _("Not closed"),
                      "message": _("Only a waiting ticket can be closed here.")}, status=409)  # fmt: skip
    await support.note(ticket.id, user.username, _("Closed from the console: {reason}").format(reason=reason))
    await console.record(request, "close_ticket", f"ticket {ticket.id}", reason=reason)
    raise web.HTTPSeeOther(f"/tickets/{ticket.id}")


def routes(router: web.UrlDispatcher) -> None:
    router.add_get("/tickets", listing)
    router.add_get(r"/tickets/{id:\d+}", one)
    router.add_post(r"/tickets/{id:\d+}/close", close)
