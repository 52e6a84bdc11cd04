"""`mila retention run`: delete what is older than MILA_RETENTION_DAYS (run it daily, e.g. from cron)."""

from __future__ import annotations

import argparse
import asyncio

from bot.cli.common import database, settings_for
from bot.db.base import utcnow
from bot.services.privacy import run_retention


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("retention", help="personal data retention")
    actions = parser.add_subparsers(dest="retention_command", required=True, metavar="ACTION")
    job = actions.add_parser(
        "run", help="delete old audit entries (the console's too), conversations, delivered outbox, silent chat users"
    )
    job.add_argument("--days", type=int, help="older than this many days (default: MILA_RETENTION_DAYS)")
    job.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    days = args.days or settings.security.retention_days

    async def job() -> str:
        async with database(settings) as db:
            report = await run_retention(db, days, utcnow())
            await db.commit()
            return report.summary()

    print(f"retention ({days} days): {asyncio.run(job())}")
    return 0
