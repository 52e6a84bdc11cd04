"""`mila db …`: schema migrations and the demo data."""

from __future__ import annotations

import argparse
import asyncio

from bot.cli.common import add_profile_option, database, settings_for
from bot.config import load_settings
from bot.db.migrate import upgrade
from bot.profiles import load_profile
from bot.services.demo import seed_demo
from bot.services.demo_history import seed_history


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("db", help="database schema and data")
    actions = parser.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    up = actions.add_parser("upgrade", help="migrate the database to the newest schema")
    up.add_argument("revision", nargs="?", default="head")
    up.set_defaults(func=_upgrade)
    seed = actions.add_parser("seed-demo", help="load the demo subscribers of a profile (see the README)")
    add_profile_option(seed)
    seed.add_argument(
        "--history",
        action="store_true",
        help="also fill the last 30 days with invented conversations, orders, tickets and a finished campaign "
        "(for the console's analytics; replaces the history an earlier --history made)",
    )
    seed.set_defaults(func=_seed_demo)


def _upgrade(args: argparse.Namespace) -> int:
    settings = load_settings()
    upgrade(settings.database.url, args.revision)
    print("database is at the newest schema")
    return 0


def _seed_demo(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    profile = load_profile(settings.bot.profile)

    async def run() -> str:
        async with database(settings) as db:
            report = await seed_demo(db, profile, settings.security.key())
            summary = report.summary()
            if args.history:
                summary += "; " + (await seed_history(db, profile)).summary()
            await db.commit()
            return summary

    print(f"demo data for {profile.id}: {asyncio.run(run())}")
    return 0
