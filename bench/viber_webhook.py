"""Callbacks per second and p99 latency through `/webhook/viber` of `mila run`, against its Telegram webhook.

One `mila run` process serves both channels (Viber, and Telegram in webhook mode) on one HTTP server, with the real
Redis and the fake APIs of the tests; this process plays both messengers with the same workload: distinct users
(1,000 of each) navigating the menu by pressing buttons, a fixed number of requests in flight.

- Viber: signed `message` callbacks whose text is the pressed button's ActionBody; the bot checks the signature,
  parses, dedupes on `message_token`, runs the turn and sends the answer with `send_message`.
- Telegram: `callback_query` updates with the secret header (the code of bench/telegram_webhook.py); the bot
  dedupes on `update_id`, runs the turn, answers the query and edits the menu.

The two are measured alternately (best of three runs each, so machine noise hits both alike), then both at the same
steady rate (half the lower maximum) for p99. This process competes with the bot for CPU on a small machine, so
the bot's own CPU time per request is printed too: its ratio is the capacity ratio without the load generator.
Target: Viber ≥ 0.8 of the Telegram rate.

    REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/viber_webhook.py [--users 1000] [--requests 6000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from redis.asyncio import Redis

from bench.telegram_webhook import WEBHOOK_PATH as TELEGRAM_PATH
from bench.telegram_webhook import Telegram, first_contact, mila_telegram_env
from bench.webhooks import PAYLOADS, REDIS_URL, Load, Result, free_port, max_rate, start_mila, stop, wait_http
from bot.channels.viber import WEBHOOK_PATH as VIBER_PATH
from bot.channels.viber.render import action_body
from bot.channels.viber.signature import SIGNATURE_HEADER
from bot.db.migrate import upgrade_async
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.viber_api import FakeViberApi, sign

TOKEN = "bench0000000000a-bench0000000000b-bench0000000000c"

Signed = tuple[bytes, str]  # a callback's body and its signature


class Viber(Load[Signed]):
    """Posts signed callbacks to the webhook as Viber would; one text message per button pressed."""

    def __init__(self, url: str, users: list[str], concurrency: int) -> None:
        super().__init__(url, concurrency)
        self.users = users
        self.tokens = iter(range(6 * 10**18, 7 * 10**18))

    def next_request(self) -> Signed:
        user = self.users[self.turn % len(self.users)]
        payload = PAYLOADS[(self.turn // len(self.users)) % len(PAYLOADS)]
        self.turn += 1
        return self.press(user, payload)

    def press(self, user: str, payload: str) -> Signed:
        """The callback of a reply button: its ActionBody as the text, the last message's tracking data with it."""
        body = json.dumps(
            {
                "event": "message",
                "timestamp": int(time.time() * 1000),
                "chat_hostname": "SN-BENCH_",
                "message_token": next(self.tokens),
                "sender": {"id": user, "name": "Bench", "language": "sr", "country": "RS", "api_version": 10},
                "message": {"type": "text", "text": action_body(payload), "tracking_data": '{"v":1}'},
                "silent": True,
            },
            ensure_ascii=False,
        ).encode()
        return body, sign(body, TOKEN)

    async def post(self, request: Signed) -> tuple[float, bool]:
        body, signature = request
        started = time.perf_counter()
        headers = {SIGNATURE_HEADER: signature, "Content-Type": "application/json"}
        async with self.http.post(self.url, data=body, headers=headers) as response:
            await response.read()
            return time.perf_counter() - started, response.status == 200


def line(name: str, unit: str, best: Result, steady: Result, cpu_ms: float, concurrency: int) -> str:
    return (
        f"{name:8} max {best.rate:7.0f} {unit}/s (p50 {best.p50_ms:5.1f} ms, p99 {best.p99_ms:6.1f} ms, {concurrency} "
        f"in flight, {best.errors} errors); at {steady.rate:5.0f}/s: p50 {steady.p50_ms:5.1f} ms, p99 "
        f"{steady.p99_ms:6.1f} ms, {steady.errors} errors; CPU {cpu_ms:.2f} ms per {unit[:-1]}"
    )


async def compare(args: argparse.Namespace) -> None:
    fake = FakeTelegram(per_chat_per_second=None, overall_per_second=None)
    fake.record = False
    await fake.start()
    api = FakeViberApi(TOKEN)
    api.record = False
    await api.start()
    tg_users = [fake.user(7_000_000 + n) for n in range(args.users)]
    viber_users = [f"bench{n:06d}+AbCdEfGh==" for n in range(args.users)]
    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    redis = Redis.from_url(REDIS_URL)
    logs = tempfile.TemporaryDirectory()
    try:
        url = f"sqlite+aiosqlite:///{logs.name}/bench.sqlite3"
        await upgrade_async(url)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {
            "REDIS_URL": REDIS_URL, "REDIS_PREFIX": prefix, "DATABASE_URL": url, "HTTP_PORT": str(port),
            "VIBER_AUTH_TOKEN": TOKEN, "VIBER_API_BASE": api.url, "VIBER_WEBHOOK_URL": base + VIBER_PATH,
            **mila_telegram_env(fake, port),
        }  # fmt: skip
        log_path = Path(logs.name) / "mila.log"
        mila = await start_mila(env, log_path)
        telegram = Telegram(fake, base + TELEGRAM_PATH, tg_users, args.concurrency)
        viber = Viber(base + VIBER_PATH, viber_users, args.concurrency)
        try:
            await wait_http(base + "/healthz", mila)
            deadline = time.monotonic() + 60
            while api.webhook_url != base + VIBER_PATH:  # Viber's check callback came and got 200
                if time.monotonic() > deadline:
                    raise SystemExit(
                        f"mila did not register its Viber webhook:\n{(Path(logs.name) / 'mila.log').read_text()}"
                    )
                await asyncio.sleep(0.1)
            # First contact of every user (the language chosen), then a warm-up, outside the measurement.
            print(f"first contact of {args.users} users per channel, then the measurement …", flush=True)
            await first_contact(fake, telegram, tg_users, args.concurrency)
            for n in range(0, len(viber_users), args.concurrency):
                batch = viber_users[n : n + args.concurrency]
                await asyncio.gather(*(viber.post(viber.press(user, "lang:sr")) for user in batch))
            await telegram.closed_loop(args.users, args.concurrency)
            await viber.closed_loop(args.users, args.concurrency)

            tg_runs, viber_runs = [], []
            tg_calls, viber_calls = fake.succeeded, api.accepted
            for _ in range(args.rounds):
                tg_runs.append(await max_rate(telegram, args.requests, args.concurrency, mila.pid))
                viber_runs.append(await max_rate(viber, args.requests, args.concurrency, mila.pid))
            measured = args.rounds * args.requests
            tg_calls, viber_calls = (fake.succeeded - tg_calls) / measured, (api.accepted - viber_calls) / measured
            tg_best = max((r for r, _ in tg_runs), key=lambda r: r.rate)
            viber_best = max((r for r, _ in viber_runs), key=lambda r: r.rate)
            tg_cpu = min(cpu for _, cpu in tg_runs)
            viber_cpu = min(cpu for _, cpu in viber_runs)
            steady_rate = min(tg_best.rate, viber_best.rate) / 2
            tg_steady = await telegram.open_loop(steady_rate, args.seconds)
            viber_steady = await viber.open_loop(steady_rate, args.seconds)
        finally:
            await telegram.close()
            await viber.close()
            await stop(mila)

        print(f"users: {args.users} per channel; {args.requests} requests per run, best of {args.rounds}")
        print(line("viber", "callbacks", viber_best, viber_steady, viber_cpu, args.concurrency))
        print(line("telegram", "updates", tg_best, tg_steady, tg_cpu, args.concurrency))
        print(f"API calls per request: viber {viber_calls:.2f} (send_message), telegram {tg_calls:.2f} "
              "(answerCallbackQuery, editMessageText)")  # fmt: skip
        print(f"ratio viber / telegram: {viber_best.rate / tg_best.rate:.2f} (target >= 0.8)")
        print(
            f"CPU per request, telegram / viber: {tg_cpu / viber_cpu:.2f} (the same ratio without the load generator)"
        )
        errors = sum(r.errors for r in (tg_best, viber_best, tg_steady, viber_steady))
        if errors:
            raise SystemExit(f"{errors} requests were not answered 200")
        if api.problems:
            raise SystemExit(f"the bot sent what Viber would refuse: {api.problems[:3]}")
    finally:
        async for key in redis.scan_iter(match=prefix + "*", count=1000):
            await redis.delete(key)
        await redis.aclose()
        await api.close()
        await fake.close()
        logs.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=1000, help="users per channel")
    parser.add_argument("--requests", type=int, default=6000, help="requests per maximum-rate run")
    parser.add_argument("--rounds", type=int, default=3, help="maximum-rate runs per channel")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each steady-rate run")
    asyncio.run(compare(parser.parse_args()))


if __name__ == "__main__":
    main()
