"""`mila forget --channel C --user ID`: erase a chat user on request (the same erasure as the chat's /forget)."""

from __future__ import annotations

import argparse
import asyncio

from bot.app import make_redis
from bot.cli.common import database, settings_for
from bot.core.incoming import UserRef
from bot.core.session import SessionStore
from bot.services.privacy import forget


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("forget", help="delete a chat user's data and conversation (erasure request)")
    parser.add_argument("--channel", required=True, help="telegram, viber or console")
    parser.add_argument("--user", required=True, help="the user's id on that channel")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    user = UserRef(args.channel, str(args.user))

    async def erase() -> bool:
        redis = make_redis(settings.redis)
        sessions = SessionStore(redis, settings.redis.prefix, ttl_seconds=settings.bot.session_ttl_seconds)
        try:
            async with database(settings) as db:
                return await forget(db, sessions, user)
        finally:
            await redis.aclose()

    found = asyncio.run(erase())
    if found:
        print(f"forgot {user.channel} user {user.external_id}: profile deleted, orders kept unlinked, session erased")
    else:
        print(f"no profile for {user.channel} user {user.external_id}; any session keys were erased")
    return 0
