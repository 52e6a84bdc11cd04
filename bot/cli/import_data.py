"""`mila import FILE.json`: load or refresh subscribers from the operator's export (see bot.services.importer)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bot.cli.common import add_profile_option, database, settings_for
from bot.profiles import load_profile
from bot.services.importer import ImportProblem, import_file


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("import", help="load or refresh subscribers from a JSON file (idempotent)")
    parser.add_argument("file", type=Path, help='the JSON export: {"profile": …, "subscribers": […]}')
    add_profile_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    profile = load_profile(settings.bot.profile)

    async def load() -> str:
        async with database(settings) as db:
            try:
                report = await import_file(db, args.file, profile, settings.security.key())
            except BaseException:
                await db.rollback()
                raise
            await db.commit()
            return report.summary()

    try:
        summary = asyncio.run(load())
    except ImportProblem as exc:
        print(f"mila import: {exc}; nothing was imported", file=sys.stderr)
        return 1
    print(f"imported {args.file.name}: {summary}")
    return 0
