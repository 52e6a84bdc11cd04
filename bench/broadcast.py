"""Broadcasts must keep to the configured rate without a 429, and a worker's memory must not grow with the campaign.

1. Sustained send rate: one campaign worker (the real `CampaignWorker`, the real Telegram channel and aiogram,
   the shared Redis limiter) sends to the fake Bot API server of the tests, running in a process of its own and
   set to allow 30 messages/s, then 1000/s (paid broadcast). The figure is the rate the server accepted, between
   its first and its last message, as a share of the configured rate (target >= 0.95), and the 429s it answered
   (target 0).
2. Peak memory of a worker for 10,000 and for 200,000 recipients (target: within 20 % of each other), each in a
   child process of its own, with the platform call replaced by one that answers at once: what is measured is what
   the worker holds (rows are streamed in batches), not the network. The figure is the process's peak resident
   memory; the peak of Python's own allocations during the run (tracemalloc) is printed too — about a MiB, where a
   worker that loaded its recipients would hold a hundred more at 200,000.

A throwaway PostgreSQL database is created and dropped for each part.

    TEST_POSTGRES_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test .venv/bin/python bench/broadcast.py
        [--slow-count 600] [--fast-count 10000] [--memory 10000,200000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pydantic import SecretStr
from redis.asyncio import Redis
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import build_app
from bot.channels.telegram import TelegramChannel
from bot.config import BotSettings, BroadcastSettings, DatabaseSettings, RedisSettings, Settings, TelegramSettings
from bot.core.incoming import UserRef
from bot.core.outbound import RateLimiter
from bot.core.push import Delivery, PushResult
from bot.core.replies import Reply
from bot.db.base import make_engine, make_sessionmaker, utcnow
from bot.db.migrate import upgrade_async
from bot.db.models import ChannelUser, DeliveryStatus
from bot.metrics import Metrics
from bot.server import campaign_worker, settle_heap
from bot.services.campaigns import store
from bot.services.campaigns.spec import parse
from bot.services.campaigns.worker import CampaignWorker

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL") or os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
CAMPAIGN = {"name": "bench", "profile": "rs", "text": {"sr": "Nova tarifa Start: 20 GB za 990 dinara.", "tk": "Start"}}
FIRST_CHAT = 5_000_000


# --- a throwaway database --------------------------------------------------------------------------------------
@asynccontextmanager
async def database() -> AsyncIterator[str]:
    name = f"mila_bench_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        await upgrade_async(url)
        yield url
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


async def seed(url: str, count: int) -> int:
    """`count` Telegram users who agreed to tariff news, and a campaign to all of them, enqueued."""
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    now = utcnow()
    async with sessions() as db, db.begin():
        for start in range(0, count, 10_000):
            rows = [
                {"channel": "telegram", "external_id": str(FIRST_CHAT + i), "language": "sr", "marketing_consent": True,
                 "marketing_consent_at": now, "unreachable": False, "first_seen": now, "last_seen": now}
                for i in range(start, min(count, start + 10_000))
            ]  # fmt: skip
            await db.execute(insert(ChannelUser), rows)
        campaign = await store.create(db, parse(CAMPAIGN), profile="rs", timezone="Europe/Belgrade", now=now)
        await store.enqueue(db, campaign.id, "sr", now)
        campaign_id = campaign.id
    await engine.dispose()
    return campaign_id


# --- 1. rate ---------------------------------------------------------------------------------------------------
FAKE_SERVER = """
import asyncio, gc, json, sys
sys.path.insert(0, sys.argv[1])
from tests.fakes.telegram_api import FakeTelegram

async def main():
    rate, first, count = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    fake = FakeTelegram(per_chat_per_second=None, overall_per_second=30, retry_after=1)
    fake.paid_per_second = 1000 if rate > 30 else None
    fake.overall_per_second = 30 if rate <= 30 else None
    fake.record = False
    accepted = []
    original = fake._store
    def store(chat_id, content, markup):
        accepted.append(asyncio.get_running_loop().time())
        return original(chat_id, content, markup)
    fake._store = store
    for i in range(count):
        fake.user(first + i)
    gc.freeze()  # the fake's own collections would stall it and bunch up the arrivals it counts; Telegram's do not
    print(await fake.start(), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    print(json.dumps({"accepted": len(accepted), "first": accepted[0] if accepted else 0,
                      "last": accepted[-1] if accepted else 0, "too_many": fake.too_many}), flush=True)
    await fake.close()

asyncio.run(main())
"""


async def rate_run(rate: int, count: int) -> dict[str, Any]:
    root = str(ROOT)
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-c", FAKE_SERVER, root, str(rate), str(FIRST_CHAT), str(count),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert server.stdout is not None and server.stdin is not None
    base_url = (await server.stdout.readline()).decode().strip()
    prefix = f"mila-bench:{uuid.uuid4().hex[:8]}:"
    async with database() as url:
        campaign_id = await seed(url, count)
        settings = Settings(
            bot=BotSettings(profile="rs"),
            database=DatabaseSettings(url=url),
            redis=RedisSettings(url=REDIS_URL, prefix=prefix),
            telegram=TelegramSettings(
                bot_token=SecretStr("123456789:TEST-token-for-the-fake-bot-api"),
                api_base=base_url,
            ),
            broadcast=BroadcastSettings(TELEGRAM_BROADCAST_RATE=rate, TELEGRAM_PAID_BROADCAST=rate > 30),
        )
        app = build_app(settings)
        channel = TelegramChannel(app, Metrics())
        worker = campaign_worker(app, {"telegram": channel})  # as `mila run` builds it
        settle_heap()  # as `mila run` does before it starts its workers
        stop = asyncio.Event()
        started = time.perf_counter()
        task = asyncio.create_task(worker.run_forever(stop))
        async with app.deps.sessionmaker() as db:
            while (await store.totals(db, campaign_id)).done < count:
                await db.rollback()
                await asyncio.sleep(0.2)
        elapsed = time.perf_counter() - started
        stop.set()
        await task
        dropped = worker.limiters["telegram"].dropped
        await channel.close()
        await app.close()
        client = Redis.from_url(REDIS_URL)
        async for key in client.scan_iter(match=prefix + "*"):
            await client.delete(key)
        await client.aclose()
    server.stdin.write(b"stats\n")
    await server.stdin.drain()
    stats = json.loads(await server.stdout.readline())
    await server.wait()
    span = stats["last"] - stats["first"]
    sustained = (stats["accepted"] - 1) / span if span > 0 else 0.0
    return {"rate": rate, "count": count, "accepted": stats["accepted"], "sustained": sustained,
            "share": sustained / rate, "too_many": stats["too_many"], "elapsed": elapsed,
            "dropped": dropped}  # fmt: skip


# --- 2. memory -------------------------------------------------------------------------------------------------
class InstantPusher:
    """Answers at once: the worker's own memory is measured, not the network's."""

    name = "telegram"

    def __init__(self) -> None:
        self.sent = 0

    async def push(
        self,
        user: UserRef,
        replies: Sequence[Reply],
        *,
        purpose: str,
        paid_broadcast: bool = False,
        bulk: RateLimiter | None = None,
    ) -> PushResult:
        self.sent += 1
        return PushResult(Delivery.SENT, (str(self.sent),))


async def memory_child(count: int) -> dict[str, Any]:
    async with database() as url:
        campaign_id = await seed(url, count)
        prefix = f"mila-bench:{uuid.uuid4().hex[:8]}:"
        settings = Settings(
            bot=BotSettings(profile="rs"),
            database=DatabaseSettings(url=url),
            redis=RedisSettings(url=REDIS_URL, prefix=prefix),
        )
        app = build_app(settings)
        # No rate to keep here: the limiter is set far above what the loop can do.
        broadcast = BroadcastSettings.model_construct(**{**BroadcastSettings().model_dump(), "telegram_rate": 1e6})
        pusher = InstantPusher()
        worker = CampaignWorker(
            app.deps.sessionmaker, app.redis, prefix=prefix, settings=broadcast, profile="rs",
            timezone="Europe/Belgrade", i18n=app.deps.i18n, default_language="sr", pushers={"telegram": pusher},
        )  # fmt: skip
        tracemalloc.start()
        started = time.perf_counter()
        sent = await worker.run_until_idle()
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        async with app.deps.sessionmaker() as db:
            totals = await store.totals(db, campaign_id)
        await app.close()
        client = Redis.from_url(REDIS_URL)
        async for key in client.scan_iter(match=prefix + "*"):
            await client.delete(key)
        await client.aclose()
    assert sent == count == totals.count(DeliveryStatus.SENT), (sent, totals)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"count": count, "peak_traced_mib": peak / 2**20, "max_rss_mib": rss, "rows_per_s": count / elapsed}


def memory_run(count: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--memory-child", str(count)], check=True, capture_output=True, text=True
    ).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slow-count", type=int, default=600)
    parser.add_argument("--fast-count", type=int, default=10_000)
    parser.add_argument("--memory", default="10000,200000", help="recipient counts of the memory part; '' skips it")
    parser.add_argument("--no-rate", action="store_true", help="skip the rate part")
    parser.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        print(json.dumps(asyncio.run(memory_child(args.memory_child))))
        return 0

    ok = True
    if not args.no_rate:
        print("sustained send rate (one worker, the fake Bot API in its own process):")
    for rate, count in () if args.no_rate else ((30, args.slow_count), (1000, args.fast_count)):
        r = asyncio.run(rate_run(rate, count))
        too_many = sum(r["too_many"].values())
        print(f"  configured {rate:>5}/s: {r['accepted']:>6,} messages, sustained {r['sustained']:8.1f}/s = "
              f"{r['share']:.3f} of the configured rate (target >= 0.95), 429s {too_many} (target 0) "
              f"[{r['too_many']}], {r['elapsed']:.1f} s, {r['dropped']} slots missed by a held-up worker")  # fmt: skip
        ok = ok and r["share"] >= 0.95 and too_many == 0

    if not args.memory:
        print("OK" if ok else "TARGET MISSED")
        return 0 if ok else 1
    print("worker memory (platform call answering at once):")
    results = [memory_run(int(n)) for n in args.memory.split(",")]
    for r in results:
        print(f"  {r['count']:>8,} recipients: peak traced {r['peak_traced_mib']:6.1f} MiB, max RSS "
              f"{r['max_rss_mib']:6.1f} MiB, {r['rows_per_s']:,.0f} rows/s")  # fmt: skip
    small, large = results[0], results[-1]
    ratio = large["peak_traced_mib"] / small["peak_traced_mib"]
    rss_ratio = large["max_rss_mib"] / small["max_rss_mib"]
    growth = large["peak_traced_mib"] - small["peak_traced_mib"]
    print(f"  ratio {large['count']:,} / {small['count']:,}: max RSS {rss_ratio:.2f} (target <= 1.20); Python "
          f"allocations during the run: peak {ratio:.2f}× ({growth:+.1f} MiB: a worker holding the rows would add "
          f"about 100 MiB per 200,000)")  # fmt: skip
    ok = ok and rss_ratio <= 1.2 and growth < 10
    print("OK" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
