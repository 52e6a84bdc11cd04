"""`mila db …`: schema migrations."""

from __future__ import annotations

import argparse

from bot.config import load_settings
from bot.db.migrate import upgrade


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("db", help="database schema and data")
    actions = parser.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    up = actions.add_parser("upgrade", help="migrate the database to the newest schema")
    up.add_argument("revision", nargs="?", default="head")
    up.set_defaults(func=_upgrade)


def _upgrade(args: argparse.Namespace) -> int:
    settings = load_settings()
    upgrade(settings.database.url, args.revision)
    print("database is at the newest schema")
    return 0
