"""`mila tickets list|show`: the conversations handed to operators, from the command line.

Phone numbers are never printed; a ticket shows its messages as they were relayed (and the operators' notes).
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import datetime

from sqlalchemy import select

from bot.cli.common import database, fail, settings_for
from bot.db.models import SupportStatus, SupportTicket
from bot.services.support.tickets import messages_of


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("tickets", help="conversations handed to a human operator")
    actions = parser.add_subparsers(dest="tickets_command", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="tickets, newest first: status, channel, operator, times, rating")
    listing.add_argument("--status", choices=[s.value for s in SupportStatus], help="only tickets in this status")
    listing.add_argument("--limit", type=_count, default=50, help="at most this many (default 50; 0: all)")
    listing.set_defaults(func=list_tickets)
    show = actions.add_parser("show", help="one ticket with its messages")
    show.add_argument("ticket", type=int, help="the ticket's number")
    show.set_defaults(func=show_ticket)


def _count(value: str) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative: give a number of tickets, or 0 for all")
    return number


COLUMNS = ("ticket", "status", "channel", "lang", "operator", "created", "taken", "closed", "by", "rating", "topic")


def _time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def _row(t: SupportTicket) -> tuple[str, ...]:
    topic = t.topic if len(t.topic) <= 40 else t.topic[:39] + "…"
    return (str(t.id), t.status + (" (after hours)" if t.after_hours else ""), t.channel, t.language,
            t.operator_name or "-", _time(t.created_at), _time(t.taken_at), _time(t.closed_at), t.closed_by or "-",
            str(t.rating) if t.rating else "-", topic.replace("\n", " "))  # fmt: skip


def list_tickets(args: argparse.Namespace) -> int:
    settings = settings_for(args)

    async def fetch() -> list[tuple[str, ...]]:
        query = select(SupportTicket).order_by(SupportTicket.created_at.desc(), SupportTicket.id.desc())
        if args.status:
            query = query.where(SupportTicket.status == args.status)
        if args.limit > 0:
            query = query.limit(args.limit)
        async with database(settings) as db:
            return [_row(t) for t in (await db.execute(query)).scalars()]

    rows = asyncio.run(fetch())
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(COLUMNS)]
    print("  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths, strict=True)).rstrip())
    for row in rows:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    print(f"({len(rows)} tickets, times in UTC)")
    return 0


_WHO = {"in": "user", "out": "operator", "note": "note"}


def show_ticket(args: argparse.Namespace) -> int:
    settings = settings_for(args)

    async def fetch() -> list[str] | None:
        async with database(settings) as db:
            ticket = await db.get(SupportTicket, args.ticket)
            if ticket is None:
                return None
            lines = [
                f"ticket #{ticket.id}: {ticket.status}{' (left after hours)' if ticket.after_hours else ''}",
                f"user: {ticket.channel} (language {ticket.language}), "
                f"{'identified' if ticket.subscriber_id else 'not identified'}",
                f"operator: {ticket.operator_name or '-'}; group {ticket.group_chat_id or '-'}, topic "
                f"{ticket.thread_id or '-'}",
                f"created {_time(ticket.created_at)}, taken {_time(ticket.taken_at)}, closed {_time(ticket.closed_at)}"
                f" by {ticket.closed_by or '-'}; rating {ticket.rating or '-'}",
                "",
            ]
            for message in await messages_of(db, ticket.id):
                who = _WHO.get(message.direction, message.direction)
                if message.author:
                    who += f" {message.author}"
                attachment = (
                    f" [{message.attachment_kind}: {message.attachment_name or '-'}]" if message.attachment_kind else ""
                )
                lines.append(f"{message.created_at:%Y-%m-%d %H:%M:%S} {who}: {message.text}{attachment}")
            return lines

    lines = asyncio.run(fetch())
    if lines is None:
        return fail(f"no ticket #{args.ticket}")
    print("\n".join(lines))
    return 0
