"""`mila outbox run`: deliver waiting orders to PROVISIONING_URL and complaint e-mails to SMTP_URL;
`mila outbox list`: what waits or failed in either outbox, and why.

Both outboxes share one retry loop (bot.services.delivery); each runs only when its destination is configured,
otherwise its rows wait.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from datetime import datetime

from sqlalchemy import ColumnElement, select

from bot.cli.common import database, settings_for
from bot.db.base import make_engine, make_sessionmaker
from bot.db.models import DeliveryState, MailMessage, Order, OutboxMessage, Ticket
from bot.services.attachments import fetchers_for
from bot.services.delivery import Attempt
from bot.services.mail import MailWorker
from bot.services.outbox import OutboxWorker


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("outbox", help="deliver orders to the provisioning system and e-mails over SMTP")
    actions = parser.add_subparsers(dest="outbox_command", required=True, metavar="ACTION")
    job = actions.add_parser("run", help="deliver until stopped (Ctrl-C); on PostgreSQL several may run at once")
    job.add_argument("--once", action="store_true", help="one pass over what is due now, then exit")
    job.set_defaults(func=run)
    listing = actions.add_parser("list", help="orders and e-mails not delivered yet, or given up, with the reason")
    which = listing.add_mutually_exclusive_group()
    which.add_argument("--failed", action="store_true", help="only those given up")
    which.add_argument("--pending", action="store_true", help="only those still being tried")
    which.add_argument("--all", action="store_true", help="delivered ones too")
    listing.add_argument("--limit", type=int, default=50, help="at most this many of each outbox (default: 50)")
    listing.set_defaults(func=list_outbox)


def _delivered(attempts: list[Attempt]) -> int:
    return sum(1 for attempt in attempts if attempt.delivered)


def run(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    if settings.provisioning.url is None:
        print("PROVISIONING_URL is not set: orders wait in the outbox")
    if settings.mail.smtp_url is None:
        print("SMTP_URL is not set: complaint e-mails wait in the mail outbox")
    if settings.provisioning.url is None and settings.mail.smtp_url is None:
        return 0

    async def deliver() -> tuple[int, int]:
        engine = make_engine(settings.database.url)
        sessions = make_sessionmaker(engine)
        orders = OutboxWorker(sessions, settings.provisioning)
        mail = MailWorker(sessions, settings.mail, fetchers=fetchers_for(settings))
        try:
            if args.once:
                order_attempts, mail_attempts = await orders.run_once(), await mail.run_once()
                await orders.close()
                return _delivered(order_attempts), _delivered(mail_attempts)
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError):
                    loop.add_signal_handler(sig, stop.set)
            await asyncio.gather(*(w.run_forever(stop) for w in (orders, mail) if w.enabled))
            return 0, 0
        finally:
            await engine.dispose()

    orders_sent, mails_sent = asyncio.run(deliver())
    if args.once:
        if settings.provisioning.url is not None:
            print(f"delivered {orders_sent} orders")
        if settings.mail.smtp_url is not None:
            print(f"delivered {mails_sent} e-mails")
    return 0


LIST_COLUMNS = ("outbox", "id", "for", "status", "attempts", "created", "next attempt", "last error")


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def _state(row: DeliveryState) -> str:
    if row.delivered_at is not None:
        return "delivered"
    return "failed" if row.failed_at is not None else "pending"


def _which(model: type[OutboxMessage] | type[MailMessage], args: argparse.Namespace) -> list[ColumnElement[bool]]:
    if args.failed:
        return [model.failed_at.is_not(None)]
    if args.pending:
        return [model.delivered_at.is_(None), model.failed_at.is_(None)]
    return [] if args.all else [model.delivered_at.is_(None)]


def _line(name: str, row: OutboxMessage | MailMessage, what: str | None) -> tuple[str, ...]:
    waiting = row.delivered_at is None and row.failed_at is None
    return (name, str(row.id), what or "-", _state(row), str(row.attempts), _when(row.created_at),
            _when(row.next_attempt_at) if waiting else "-", row.last_error or "-")  # fmt: skip


def list_outbox(args: argparse.Namespace) -> int:
    """Each order (by its number) and e-mail (by its request's reference) that is waiting or was given up."""
    settings = settings_for(args)

    async def fetch() -> list[tuple[str, ...]]:
        orders = (select(OutboxMessage, Order.number).outerjoin(Order, Order.id == OutboxMessage.order_id)
                  .where(*_which(OutboxMessage, args)).order_by(OutboxMessage.id).limit(args.limit))  # fmt: skip
        mails = (select(MailMessage, Ticket.reference).outerjoin(Ticket, Ticket.id == MailMessage.ticket_id)
                 .where(*_which(MailMessage, args)).order_by(MailMessage.id).limit(args.limit))  # fmt: skip
        async with database(settings) as db:
            rows = [_line("orders", row, what) for row, what in (await db.execute(orders)).all()]
            rows += [_line("mail", row, what) for row, what in (await db.execute(mails)).all()]
        return rows

    rows = asyncio.run(fetch())
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(LIST_COLUMNS)]
    print("  ".join(c.ljust(w) for c, w in zip(LIST_COLUMNS, widths, strict=True)).rstrip())
    for line in rows:
        print("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip())
    print(f"({len(rows)} messages, times in UTC)")
    return 0
