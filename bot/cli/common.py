"""What the data commands share: settings with a `--profile` override, a database session, the HMAC key."""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings, load_settings
from bot.db.base import make_engine, make_sessionmaker


def fail(message: object) -> int:
    """Each line of an error as `mila: …` on stderr; the exit code of a refused command."""
    for line in str(message).splitlines():
        print(f"mila: {line}", file=sys.stderr)
    return 1


def add_profile_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", help="operator profile: rs, tm or a profile file (default: MILA_PROFILE or rs)")


def settings_for(args: argparse.Namespace) -> Settings:
    settings = load_settings()
    if getattr(args, "profile", None):
        settings.bot.profile = args.profile
    return settings


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[AsyncSession]:
    """One session on DATABASE_URL; the command commits what it wants kept."""
    engine = make_engine(settings.database.url, echo=settings.database.echo)
    try:
        async with make_sessionmaker(engine)() as db:
            yield db
    finally:
        await engine.dispose()
