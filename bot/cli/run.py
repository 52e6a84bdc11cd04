"""`mila run`: the bot as a service (channels, webhooks, /healthz, /metrics). See `bot.server`."""

from __future__ import annotations

import argparse
import asyncio

from bot import logs
from bot.config import load_settings
from bot.server import serve


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("run", help="run the configured channels and the HTTP server")
    parser.add_argument("--profile", choices=["rs", "tm"], help="operator profile (default: MILA_PROFILE or rs)")
    parser.add_argument(
        "--log-format", choices=["json", "text"], help="default: JSON lines unless stderr is a terminal"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    logs.configure(json_lines=None if args.log_format is None else args.log_format == "json")
    settings = load_settings()
    if args.profile:
        settings.bot.profile = args.profile
    return asyncio.run(serve(settings))
