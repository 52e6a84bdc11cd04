"""Turns per second of one process for menu navigation through the engine, sessions on the real Redis.

Baseline, measured in the same run: a bare loop doing the same Redis round trips (take the lock and read the
session, then save it and release the lock) with none of the bot's logic. Prints both rates, their ratio
(target ≥ 0.5) and the Redis round trips per turn (target ≤ 2).

    REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/turns.py [--turns 4000] [--users 50]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from redis.asyncio import Redis

from bot.app import build_app
from bot.config import BotSettings, DatabaseSettings, RedisSettings, Settings
from bot.core.incoming import Incoming, Kind, UserRef
from bot.core.session import Session
from bot.db.migrate import upgrade_async

REDIS_URL = os.environ.get("REDIS_URL") or os.environ.get("TEST_REDIS_URL") or "redis://127.0.0.1:6379/0"


class RoundTrips:
    """Counts the commands a Redis client sends (each is one round trip; scripts run server-side)."""

    def __init__(self, client: Redis) -> None:
        self.count = 0
        original = client.execute_command

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return await original(*args, **kwargs)

        client.execute_command = counted  # type: ignore[method-assign]


async def run_concurrently(users: int, turns: int, one_turn: Callable[[int, int], Awaitable[None]]) -> float:
    per_user = turns // users

    async def user_loop(u: int) -> None:
        for i in range(per_user):
            await one_turn(u, i)

    started = time.perf_counter()
    await asyncio.gather(*(user_loop(u) for u in range(users)))
    return per_user * users / (time.perf_counter() - started)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=4000)
    parser.add_argument("--users", type=int, default=50)
    args = parser.parse_args()

    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
        await upgrade_async(url)
        settings = Settings(
            bot=BotSettings(profile="rs"),
            database=DatabaseSettings(url=url),
            redis=RedisSettings(url=REDIS_URL, prefix=prefix),
        )
        redis = Redis.from_url(REDIS_URL)
        app = build_app(settings, redis=redis)
        users = [UserRef("bench", str(u)) for u in range(args.users)]
        for user in users:  # first contact: language chosen and stored, outside the measurement
            await app.engine.handle(Incoming(user, Kind.BUTTON, payload="lang:sr"))

        async def bot_turn(u: int, i: int) -> None:
            payload = ("help", "menu", "contacts", "menu")[i % 4]
            await app.engine.handle(Incoming(users[u], Kind.BUTTON, payload=payload))

        async def bare_turn(u: int, i: int) -> None:
            async with app.deps.sessions.locked(users[u]) as session:
                session.last_active = time.time()

        # Warm both paths, then measure them alternately so machine noise hits both alike.
        await run_concurrently(args.users, args.users * 4, bot_turn)
        await run_concurrently(args.users, args.users * 4, bare_turn)
        counter = RoundTrips(redis)
        bot_rates, bare_rates = [], []
        for _ in range(3):
            bot_rates.append(await run_concurrently(args.users, args.turns, bot_turn))
            bare_rates.append(await run_concurrently(args.users, args.turns, bare_turn))
        counter.count = 0
        await run_concurrently(args.users, args.users * 10, bot_turn)
        bot_trips = counter.count / (args.users * 10)

        bot_rate, bare_rate = max(bot_rates), max(bare_rates)
        print(f"engine turns/s (menu navigation, real Redis): {bot_rate:10.0f}")
        print(f"bare Redis loop, same round trips, turns/s:   {bare_rate:10.0f}")
        print(f"ratio engine / bare:                          {bot_rate / bare_rate:10.2f}   (target >= 0.5)")
        print(f"Redis round trips per engine turn:            {bot_trips:10.2f}   (target <= 2)")
        print(f"session size (bytes, JSON):                   {len(Session().to_json()):10d}")
        async for key in redis.scan_iter(match=prefix + "*", count=1000):
            await redis.delete(key)
        await app.close()


if __name__ == "__main__":
    asyncio.run(main())
