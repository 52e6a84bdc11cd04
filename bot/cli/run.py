"""`mila run`: the bot as a service (channels, webhooks, /healthz, /metrics). See `bot.server`."""

from __future__ import annotations

import argparse
import asyncio

from bot import logs
from bot.cli.common import add_profile_option, settings_for


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("run", help="run the configured channels and the HTTP server")
    add_profile_option(parser)
    parser.add_argument(
        "--log-format", choices=["json", "text"], help="default: JSON lines unless stderr is a terminal"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Imported here: the server loads both channels' libraries (seconds), which no other command should pay for.
    from bot.server import serve

    logs.configure(json_lines=None if args.log_format is None else args.log_format == "json")
    return asyncio.run(serve(settings_for(args)))
