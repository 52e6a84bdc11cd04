"""`mila chat`: talk to the bot in the terminal."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.app import build_app
from bot.channels.console import ConsoleChat, stdin_is_terminal, vouches_for_phone
from bot.cli.common import add_profile_option, settings_for
from bot.config import PROJECT_ROOT
from bot.core.i18n import LANGUAGES
from bot.db.migrate import upgrade_async


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("chat", help="chat with the bot in the terminal")
    add_profile_option(parser)
    parser.add_argument("--lang", choices=sorted(LANGUAGES), help="start in this language instead of asking")
    parser.add_argument("--user", default="local", help="who you are in the console channel (default: local)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_chat(args))


async def _chat(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    await upgrade_async(settings.database.url)
    app = build_app(settings)
    app.engine.understanding  # noqa: B018 - fitted before the first message, not at it
    interactive = stdin_is_terminal()
    if interactive:
        print(
            f"mila — profile {settings.bot.profile}. Choose by number or type; /phone NUMBER shares your number, "
            "/sticker or /photo send one, /quit leaves.\n"
        )
    try:
        downloads = PROJECT_ROOT / "var" / "downloads"
        chat = ConsoleChat(app.engine, args.user, sys.stdout, downloads, vouches=vouches_for_phone(settings))
        await chat.run(sys.stdin, language=args.lang, echo=not interactive)
    finally:
        await app.close()
    return 0
