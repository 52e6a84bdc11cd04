"""Conversation replies and a campaign within Telegram's real limits, on the one outbound path.

The fake Bot API server of the tests, in a process of its own (so its work does not slow the bot's), enforces what
Telegram does: about one message a second per chat after a burst
of five, 30 a second in all, and 429 with `retry_after` (during which everything is refused). The real Telegram
channel of `mila run` (aiogram, the engine, real Redis, SQLite) takes a burst of updates — `--users` users sending
`--per-user` messages each, all at once, as webhook requests would arrive — while a campaign runs: the campaign
worker's own sending step (a slot of its `BULK` limiter on the channel's shared schedule, then the channel's
`push`, `in_flight` at a time), started a few seconds before the burst and kept going after it.

Printed:
- the 429s the bot brought on itself (target 0);
- users whose replies arrived out of the order of their turns (target 0);
- conversation reply latency beyond the earliest moment the limits allow (p50, p99, max; target p99 within 2 s).
  The earliest moments are computed for the same turns, from the moment each turn handed its reply to the channel
  (the turns' own work, thousands at once on a shared CPU, is printed apart, not counted against the path):
  each user's replies in
  order, each chat's burst and pace, and the global rate the bot keeps (`TELEGRAM_SEND_RATE` less
  `BROADCAST_RATE_MARGIN`), given to conversations first. With 2,000 replies and 30 a second, the limits decide
  how many replies can be out by each moment, not which: the k-th reply sent is compared with the k-th earliest
  moment (a schedule serving users round-robin and one serving each user's burst first are equally fast). The
  same figure against Telegram's own 30/s is printed too (it includes the margin the bot keeps on purpose), and,
  for information, the excess of each reply over its own earliest moment in the greedy schedule (which depends on
  who is served first);
- the campaign's rate alone before the burst (the baseline, against the rate it may use), while conversations were
  waiting, and after: the rate it achieved against what conversations left of the global rate.

    REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/limits.py [--users 200] [--per-user 10]
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import json
import os
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiogram.types import Update
from pydantic import SecretStr
from redis.asyncio import Redis

from bot.app import build_app
from bot.channels.base import UpdateNotProcessed
from bot.channels.telegram import TelegramChannel
from bot.config import BotSettings, DatabaseSettings, RedisSettings, Settings, TelegramSettings
from bot.core.engine import MENU_INTENT, START_COMMAND
from bot.core.incoming import Incoming, UserRef
from bot.core.outbound import BULK, RateLimiter, rate_key
from bot.core.replies import Text, TurnReplies
from bot.core.router import Router
from bot.core.turn import Turn
from bot.db.migrate import upgrade_async
from bot.metrics import Metrics
from tests.fakes.telegram_api import FakeTelegram

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("REDIS_URL") or os.environ.get("TEST_REDIS_URL") or "redis://127.0.0.1:6379/0"
PLATFORM_RATE = 30.0
CHAT_BURST = 5
CHAT_RATE = 1.0


FAKE_SERVER = """
import asyncio, gc, json, sys
sys.path.insert(0, sys.argv[1])
from tests.fakes.telegram_api import FakeTelegram

async def main():
    fake = FakeTelegram(chat_burst=int(sys.argv[2]), chat_rate=float(sys.argv[3]), overall_per_second=int(sys.argv[4]))
    for spec in sys.argv[5:]:
        first, count = (int(part) for part in spec.split(":"))
        for n in range(count):
            fake.user(first + n)
    gc.freeze()  # the fake's own collections would stall it and bunch up the arrivals it counts
    print(await fake.start(), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    calls = [[c.params.get("chat_id"), c.params.get("text"), c.at, c.status] for c in fake.calls
             if c.method == "sendMessage"]
    print(json.dumps({"calls": calls, "caused_429": fake.caused_429, "too_many": fake.too_many}), flush=True)
    await fake.close()

asyncio.run(main())
"""


@dataclass
class Sent:
    chat_id: str
    text: str
    at: float
    ok: bool


def echo_router(ran: dict[str, list[tuple[str, float]]]) -> Router:
    """One reply a turn, carrying the turn's words; the moment each turn ran is noted, in the order they ran."""
    router = Router()

    @router.command(START_COMMAND)
    async def echo(turn: Turn) -> None:
        ran.setdefault(turn.incoming.user.external_id, []).append((turn.incoming.text, time.monotonic()))
        turn.say(turn.incoming.text)

    @router.intent(MENU_INTENT, "meni")
    async def menu(turn: Turn) -> None:
        turn.say("Meni")

    return router


def earliest(ran: dict[str, list[tuple[str, float]]], rate: float) -> dict[tuple[str, str], float]:
    """The earliest moment of every reply under the limits, conversations alone on the global rate: each ready once
    its turn ran, after the user's previous reply and within the chat's burst and pace; the global slots go to the
    reply that is ready first."""
    interval, tolerance = 1 / rate, (CHAT_BURST - 1) / CHAT_RATE
    tat: dict[str, float] = {}
    position = dict.fromkeys(ran, 0)
    heap: list[tuple[float, str]] = []

    def ready(user: str) -> float:
        _, ran_at = ran[user][position[user]]
        return max(ran_at, tat.get(user, 0.0) - tolerance)

    for user in ran:
        heapq.heappush(heap, (ready(user), user))
    next_slot = 0.0
    out: dict[tuple[str, str], float] = {}
    while heap:
        at, user = heapq.heappop(heap)
        at = max(at, next_slot)
        next_slot = at + interval
        text, _ = ran[user][position[user]]
        out[(user, text)] = at
        tat[user] = max(tat.get(user, at), at) + 1 / CHAT_RATE
        position[user] += 1
        if position[user] < len(ran[user]):
            heapq.heappush(heap, (ready(user), user))
    return out


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--per-user", type=int, default=10)
    parser.add_argument("--readers", type=int, default=20_000, help="campaign recipients (more than it can reach)")
    parser.add_argument("--alone", type=float, default=4.0, help="seconds the campaign runs before and after")
    args = parser.parse_args()

    users_from, readers_from = 1_000, 10_000_000
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-c", FAKE_SERVER, str(ROOT), str(CHAT_BURST), str(CHAT_RATE), str(int(PLATFORM_RATE)),
        f"{users_from}:{args.users}", f"{readers_from}:{args.readers}",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=1 << 28,
    )  # fmt: skip
    assert server.stdout is not None and server.stdin is not None
    base_url = (await server.stdout.readline()).decode().strip()
    fake = FakeTelegram()  # here only to write the updates: the server is the child's
    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    redis = Redis.from_url(REDIS_URL)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
        await upgrade_async(url)
        settings = Settings(
            bot=BotSettings(profile="rs"),
            database=DatabaseSettings(url=url),
            redis=RedisSettings(url=REDIS_URL, prefix=prefix),
            telegram=TelegramSettings(bot_token=SecretStr(fake.token), api_base=base_url),
        )
        ran: dict[str, list[tuple[str, float]]] = {}
        app = build_app(settings, router=echo_router(ran))
        channel = TelegramChannel(app, Metrics())
        try:
            finished: dict[tuple[str, str], float] = {}  # the moment each turn's replies were handed to the channel
            handle = app.engine.handle

            async def timed_handle(incoming: Incoming, **options: Any) -> TurnReplies:
                replies = await handle(incoming, **options)
                finished[(incoming.user.external_id, incoming.text)] = time.monotonic()
                return replies

            setattr(app.engine, "handle", timed_handle)  # noqa: B010 - the bench's own probe
            bot_rate = settings.telegram.send_rate / (1 + settings.broadcast.margin)
            campaign = RateLimiter(
                app.redis, rate_key(prefix, "telegram"),
                settings.broadcast.telegram_rate / (1 + settings.broadcast.margin), priority=BULK,
            )  # fmt: skip
            readers = [fake.user(readers_from + n) for n in range(args.readers)]
            users = [fake.user(users_from + n) for n in range(args.users)]
            news_at: list[float] = []
            stop = asyncio.Event()
            queue = iter(readers)

            async def campaign_lane() -> None:
                for reader in queue:
                    if stop.is_set():
                        return
                    await campaign.acquire()
                    result = await channel.push(
                        UserRef("telegram", str(reader.id)), [Text("Nova tarifa")], purpose="campaign", bulk=campaign
                    )
                    if result.sent:
                        news_at.append(time.monotonic())

            lanes = [asyncio.create_task(campaign_lane()) for _ in range(2)]  # the worker's `in_flight` at 30/s
            await asyncio.sleep(args.alone)
            updates = [
                Update.model_validate(fake.send_text(user, f"u{user.id} t{turn}"))
                for turn in range(args.per_user)
                for user in users
            ]
            not_processed = 0

            async def as_telegram_delivers(update: Update) -> None:
                """A webhook request answered non-2xx (the user's lock not had in time, Redis too slow) comes back."""
                nonlocal not_processed
                while True:
                    try:
                        await channel.process(update)
                        return
                    except UpdateNotProcessed:
                        not_processed += 1
                        await asyncio.sleep(1.0)

            burst_at = time.monotonic()
            await asyncio.gather(*(as_telegram_delivers(update) for update in updates))
            burst_done = time.monotonic()
            await asyncio.sleep(args.alone)
            stop.set()
            await asyncio.gather(*lanes)
            end = time.monotonic()

            server.stdin.write(b"stats\n")
            await server.stdin.drain()
            stats = json.loads(await server.stdout.readline())
            await server.wait()
            by_chat: dict[str, list[Sent]] = {}
            for chat_id, text, at, status in stats["calls"]:
                if status == 200:
                    by_chat.setdefault(str(chat_id), []).append(Sent(str(chat_id), str(text), float(at), True))
            sent_at: dict[tuple[str, str], float] = {}
            out_of_order = 0
            for user in users:
                chat = str(user.id)
                calls = sorted(by_chat.get(chat, []), key=lambda sent: sent.at)
                for call in calls:
                    sent_at[(chat, call.text)] = call.at
                if [c.text for c in calls] != [text for text, _ in ran.get(chat, [])]:
                    out_of_order += 1
            handed = {user: [(text, finished[(user, text)]) for text, _ in turns] for user, turns in ran.items()}
            ideal = earliest(handed, bot_rate)
            ideal_platform = earliest(handed, PLATFORM_RATE)
            actual = sorted(sent_at[key] for key in ideal if key in sent_at)
            late = [a - b for a, b in zip(actual, sorted(ideal.values()), strict=False)]
            late_platform = [a - b for a, b in zip(actual, sorted(ideal_platform.values()), strict=False)]
            own = [sent_at[key] - at for key, at in ideal.items() if key in sent_at]
            missing = len(ideal) - len(actual)
            conv_sent = len(actual)

            before = [t for t in news_at if t < burst_at]
            during = [t for t in news_at if burst_at <= t <= burst_done]
            after = [t for t in news_at if t > burst_done]
            window = burst_done - burst_at
            left = max(0.0, bot_rate * window - conv_sent)
            alone_rate = len(before) / (before[-1] - before[0]) if len(before) > 1 else 0.0
            after_rate = len(after) / (end - burst_done)
            reply_rate = conv_sent / window
            used = (conv_sent + len(during)) / window
            p99 = percentile(late, 0.99)
            print(
                f"burst: {len(updates)} updates from {args.users} users ({args.per_user} each) while a campaign runs;"
            )
            print(f"  the fake Bot API enforces {CHAT_BURST} a chat at once then {CHAT_RATE:.0f}/s, "
                  f"{PLATFORM_RATE:.0f}/s in all; the bot keeps {bot_rate:.1f}/s")  # fmt: skip
            print(f"429s the bot brought on itself          {stats['caused_429']:8d}   (target 0)")
            print(f"users with replies out of turn order    {out_of_order:8d}   (target 0)")
            print(f"turns whose order was given up          {channel.outbound.order.skipped:8d}")
            print(f"conversation replies sent / expected    {conv_sent:8d} / {len(ideal)}  ({missing} missing)")
            print(f"updates answered non-2xx and re-sent    {not_processed:8d}")
            print("conversation replies beyond the earliest moment the limits allow (the k-th sent vs the k-th "
                  "earliest):")  # fmt: skip
            print(f"  p50 {percentile(late, 0.5):6.2f} s   p99 {p99:6.2f} s   max {max(late):6.2f} s   "
                  f"(target p99 <= 2 s: {'met' if p99 <= 2 else 'NOT met'})")  # fmt: skip
            print(f"  against Telegram's own {PLATFORM_RATE:.0f}/s (the margin kept on purpose included): "
                  f"p99 {percentile(late_platform, 0.99):.2f} s")  # fmt: skip
            print(f"  each reply against its own moment in the greedy schedule (who goes first differs): "
                  f"p50 {percentile(own, 0.5):.2f} s, p99 {percentile(own, 0.99):.2f} s")  # fmt: skip
            print(f"  the turns themselves: the last handed its reply {max(finished.values()) - burst_at:.1f} s "
                  "after the burst began")  # fmt: skip
            print(f"burst took {window:.1f} s; conversations alone at the bot's rate would need "
                  f"{max(ideal.values()) - burst_at:.1f} s")  # fmt: skip
            print(f"replies during the burst            {reply_rate:6.1f}/s of {bot_rate:.1f}/s   "
                  f"ratio {reply_rate / bot_rate:5.2f}")  # fmt: skip
            print(f"campaign alone, before (baseline)   {alone_rate:6.1f}/s of {campaign.rate:.1f}/s   "
                  f"ratio {alone_rate / campaign.rate:5.2f}")  # fmt: skip
            fill = f"   fill {len(during) / left:5.2f}" if left >= 10 else ""
            print(f"campaign while users were waiting   {len(during):6d} messages of the {left:.0f} the replies left "
                  f"({left / window:.1f}/s){fill}")  # fmt: skip
            print(f"rate used during the burst          {used:6.1f}/s of {bot_rate:.1f}/s   "
                  f"ratio {used / bot_rate:5.2f}")  # fmt: skip
            print(f"campaign after the burst            {after_rate:6.1f}/s of {campaign.rate:.1f}/s   "
                  f"ratio {after_rate / campaign.rate:5.2f}, {after_rate / alone_rate if alone_rate else 0:5.2f} of "
                  "the baseline")  # fmt: skip
            print(f"reply slots missed by a busy event loop and taken again: {channel.outbound.limiter.dropped}")
        finally:  # also when something failed: the database threads, the fake and the keys go
            if server.returncode is None:
                server.kill()
            await channel.close()
            async for key in app.redis.scan_iter(match=prefix + "*", count=1000):
                await app.redis.delete(key)
            await app.close()
    await redis.aclose()


if __name__ == "__main__":
    asyncio.run(main())
