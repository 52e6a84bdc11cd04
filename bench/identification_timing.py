"""Does the time of the answer to a customer code tell whether the code is a subscriber's?

Through the real engine (sessions and one-time codes on the real Redis, the demo data in SQLite or, with
`--postgres`, PostgreSQL), new chats type a known customer code and an unknown one, alternately, and the turn
that answers the code is timed. The codes go to an HTTP SMS gateway served from a thread of its own (a remote
gateway costs this process only the request it sends, which leaves a random moment later and so lands on
whichever turns run then, of either kind). Prints, for known and unknown, the median and mean in
milliseconds, their ratio and Welch's t of the two samples (|t| < 2: no difference this run can tell), and how
many SMS the gateway got for each (only known codes get one). The guards against guessing and SMS flooding are
raised out of the way: they are not what this measures.

    REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/identification_timing.py [--tries 150] [--postgres]
        [--no-spread] [--resend]

`--no-spread` sends each SMS at once, as before the gateway spread its sends: what the spread is for shows as
a known code answered later than an unknown one. With `--postgres`, a throwaway database on the server of
`TEST_POSTGRES_URL` (created, migrated and dropped). With `--resend`, the turn timed is "send a new code" pressed
after the code was typed: the number is found again among the subscriber's own, nobody's the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiohttp import web
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import App, build_app
from bot.config import BotSettings, DatabaseSettings, IdentificationSettings, RedisSettings, Settings
from bot.core.incoming import Incoming, Kind, UserRef
from bot.db.migrate import upgrade_async
from bot.services.demo import seed_demo
from bot.services.sms import HttpSmsGateway

REDIS_URL = os.environ.get("REDIS_URL") or os.environ.get("TEST_REDIS_URL") or "redis://127.0.0.1:6379/0"
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
KNOWN = "1234567"  # Petar's customer code in the demo data (rs)


class ThreadedGateway:
    """A stand-in for the operator's SMS gateway, on its own event loop in its own thread."""

    def __init__(self) -> None:
        self.received: list[str] = []
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def handle(request: web.Request) -> web.Response:
            self.received.append(str((await request.json())["to"]))
            return web.json_response({"ok": True})

        async def start() -> None:
            app = web.Application()
            app.router.add_post("/sms", handle)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            host, port = runner.addresses[0][:2]
            self.url = f"http://{host}:{port}/sms"
            self._ready.set()

        self._loop.run_until_complete(start())
        self._loop.run_forever()

    @contextmanager
    def running(self) -> Iterator[ThreadedGateway]:
        self._thread.start()
        self._ready.wait(10)
        try:
            yield self
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)


async def _admin(sql: str) -> None:
    engine = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(sql))
    await engine.dispose()


def welch_t(a: list[float], b: list[float]) -> float:
    variance = statistics.variance(a) / len(a) + statistics.variance(b) / len(b)
    return (statistics.fmean(a) - statistics.fmean(b)) / math.sqrt(variance) if variance else 0.0


def unguarded(app: App) -> None:
    """The guards against guessing and SMS flooding out of the way: this measures the answer, not them."""
    lockout = app.deps.lockout
    lockout.policy = replace(lockout.policy, threshold=10**6, total_threshold=10**9)
    quota = app.deps.code_quota
    quota.policy = replace(quota.policy, per_number=10**6, per_chat=10**6, total=10**9)


async def one_try(app: App, user: UserRef, code: str, *, resend: bool = False) -> float:
    """A new chat at the customer-code question; the time of the turn that answers the code (or, `resend`, of
    "send a new code" pressed after it), in ms."""
    handle = app.engine.handle
    await handle(Incoming(user, Kind.START))
    for payload in ("lang:sr", "news:off", "account", "idm:code"):
        await handle(Incoming(user, Kind.BUTTON, payload=payload))
    if resend:
        await handle(Incoming(user, Kind.TEXT, text=code))
    started = time.perf_counter()
    if resend:
        await handle(Incoming(user, Kind.BUTTON, payload="idresend"))
    else:
        await handle(Incoming(user, Kind.TEXT, text=code))
    return (time.perf_counter() - started) * 1000


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tries", type=int, default=150)
    parser.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL database, not SQLite")
    parser.add_argument("--no-spread", action="store_true", help="send each SMS at once, without the random wait")
    parser.add_argument("--resend", action="store_true", help='time "send a new code", not the typed code')
    args = parser.parse_args()

    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    redis = Redis.from_url(REDIS_URL)
    with tempfile.TemporaryDirectory() as tmp, ThreadedGateway().running() as gateway:
        url = f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
        database = f"mila_bench_timing_{uuid.uuid4().hex[:8]}"
        if args.postgres:
            await _admin(f'CREATE DATABASE "{database}"')
            url = POSTGRES_URL.rsplit("/", 1)[0] + f"/{database}"
        await upgrade_async(url)
        settings = Settings(
            bot=BotSettings(profile="rs"),
            database=DatabaseSettings(url=url),
            redis=RedisSettings(url=REDIS_URL, prefix=prefix),
            identification=IdentificationSettings(sms_gateway_url=gateway.url),
        )
        app = build_app(settings, redis=redis)
        try:
            async with app.deps.sessionmaker() as db:
                await seed_demo(db, app.deps.profile, settings.security.key())
                await db.commit()
            unguarded(app)
            if args.no_spread and isinstance(app.deps.sms, HttpSmsGateway):
                app.deps.sms.spread = (0.0, 0.0)
            rng = random.Random(19)
            timings: dict[str, list[float]] = {"known": [], "unknown": []}
            for n in range(3):  # warm-up: caches, prepared statements, the first connection to the gateway
                await one_try(app, UserRef("bench", f"warm{n}"), KNOWN)
                await one_try(app, UserRef("bench", f"warm-u{n}"), f"9{n:06d}")
            await asyncio.sleep(1.5)  # the gateway's sends wait up to a second before they leave
            gateway.received.clear()
            for n in range(args.tries):
                order = ["known", "unknown"]
                rng.shuffle(order)
                for kind in order:
                    code = KNOWN if kind == "known" else str(rng.randrange(7_000_000, 7_999_999))
                    user = UserRef("bench", f"{kind}{n}")
                    timings[kind].append(await one_try(app, user, code, resend=args.resend))
                    await asyncio.sleep(0.005)
            await asyncio.sleep(1.5)
        finally:
            await app.close()
            cleaner = Redis.from_url(REDIS_URL)
            async for key in cleaner.scan_iter(match=prefix + "*", count=1000):
                await cleaner.delete(key)
            await cleaner.aclose()
            if args.postgres:
                await _admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    known, unknown = timings["known"], timings["unknown"]
    spread = "SMS sent at once" if args.no_spread else "SMS sent a random moment later"
    what = '"send a new code" after a customer code' if args.resend else "customer code typed"
    print(f"{what}, {args.tries} tries each, {'PostgreSQL' if args.postgres else 'SQLite'}, {spread}")
    print(f"  known    median {statistics.median(known):6.2f} ms  mean {statistics.fmean(known):6.2f} ms")
    print(f"  unknown  median {statistics.median(unknown):6.2f} ms  mean {statistics.fmean(unknown):6.2f} ms")
    print(f"  ratio of medians unknown/known {statistics.median(unknown) / statistics.median(known):.3f}")
    print(f"  Welch t (known - unknown) {welch_t(known, unknown):+.2f}  (|t| < 2: no difference this run can tell)")
    sent = args.tries * (2 if args.resend else 1)
    print(f"  SMS at the gateway: {len(gateway.received)} (for the {sent} codes of known customer codes only)")


if __name__ == "__main__":
    asyncio.run(main())
