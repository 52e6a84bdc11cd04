"""`mila orders list`: every order the chat placed, newest first, with its delivery state."""

from __future__ import annotations

import argparse
import asyncio
from datetime import datetime

from sqlalchemy import select

from bot.cli.common import database, settings_for
from bot.db.models import Order, OrderStatus, OutboxMessage


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("orders", help="orders placed through the chat")
    actions = parser.add_subparsers(dest="orders_command", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="list orders: number, kind, account, status, times")
    listing.add_argument("--status", choices=[s.value for s in OrderStatus], help="only orders in this status")
    listing.add_argument("--limit", type=int, default=0, help="at most this many (default: all)")
    listing.set_defaults(func=list_orders)


COLUMNS = ("number", "kind", "account", "status", "created", "due", "sent", "attempts")


def _time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def list_orders(args: argparse.Namespace) -> int:
    settings = settings_for(args)

    async def fetch() -> list[tuple[str, ...]]:
        query = (
            select(Order, OutboxMessage.attempts)
            .outerjoin(OutboxMessage, OutboxMessage.order_id == Order.id)
            .order_by(Order.created_at.desc(), Order.id.desc())
        )
        if args.status:
            query = query.where(Order.status == args.status)
        if args.limit > 0:
            query = query.limit(args.limit)
        async with database(settings) as db:
            result = await db.execute(query)
            return [
                (o.number, o.kind, o.account_number, o.status, _time(o.created_at), _time(o.due_at), _time(o.sent_at),
                 str(attempts or 0))
                for o, attempts in result
            ]  # fmt: skip

    rows = asyncio.run(fetch())
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(COLUMNS)]
    print("  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths, strict=True)).rstrip())
    for row in rows:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    print(f"({len(rows)} orders, times in UTC)")
    return 0
