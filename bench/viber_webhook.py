"""Callbacks per second and p99 latency through the Viber webhook, signature checks included.

The real channel is mounted on an aiohttp server on 127.0.0.1, in a process of its own (as `mila run` would be);
many distinct users navigate the menu by pressing buttons (signed `message` callbacks whose text is a button's
ActionBody); sessions and dedupe live on the real Redis; every reply goes out through the channel's client to the
fake Viber API, which runs with the load generator in this process so that its work is not counted as the bot's.
The baseline, measured in the same run on the same server with the same load, is a handler that only reads the
body, checks the signature and answers 200. Both are printed with their ratio. (Once the Telegram webhook shares
this server, the figure to compare with is its callbacks per second.)

    REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/viber_webhook.py [--callbacks 3000] [--users 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from aiohttp import web
from pydantic import SecretStr
from redis.asyncio import Redis

from bot.app import build_app
from bot.channels.viber import WEBHOOK_PATH, ViberChannel, ViberClient
from bot.channels.viber.render import action_body
from bot.channels.viber.signature import SIGNATURE_HEADER, verify
from bot.config import BotSettings, DatabaseSettings, RedisSettings, Settings, ViberSettings
from bot.db.migrate import upgrade_async
from tests.fakes.viber_api import FakeViberApi, sign

REDIS_URL = os.environ.get("REDIS_URL") or os.environ.get("TEST_REDIS_URL") or "redis://127.0.0.1:6379/0"
TOKEN = "bench0000000000a-bench0000000000b-bench0000000000c"
BASELINE_PATH = "/baseline"
NAVIGATION = ("help", "menu", "contacts", "menu")

Signed = tuple[bytes, str]


def callback(user: int, token: int, text: str) -> Signed:
    body = json.dumps(
        {
            "event": "message",
            "timestamp": int(time.time() * 1000),
            "chat_hostname": "SN-BENCH_",
            "message_token": token,
            "sender": {"id": f"bench{user:05d}==", "name": "Bench", "language": "sr", "api_version": 10},
            "message": {"type": "text", "text": text, "tracking_data": '{"v":1}'},
            "silent": True,
        },
        ensure_ascii=False,
    ).encode()
    return body, sign(body, TOKEN)


async def run(http: aiohttp.ClientSession, url: str, per_user: Sequence[Sequence[Signed]]) -> tuple[float, float, int]:
    """Users in parallel, each one's callbacks in order; (callbacks/s, p99 ms, failures)."""
    latencies: list[float] = []
    failures = 0

    async def user_loop(callbacks: Sequence[Signed]) -> None:
        nonlocal failures
        for body, signature in callbacks:
            started = time.perf_counter()
            async with http.post(url, data=body, headers={SIGNATURE_HEADER: signature}) as response:
                await response.read()
                if response.status != 200:
                    failures += 1
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(user_loop(c) for c in per_user))
    elapsed = time.perf_counter() - started
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    return len(latencies) / elapsed, p99, failures


async def serve(api_url: str, prefix: str, conn: Connection) -> None:
    """The server process: the application, the Viber channel and the baseline handler, until told to stop."""
    redis = Redis.from_url(REDIS_URL)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
        await upgrade_async(url)
        settings = Settings(
            bot=BotSettings(profile="rs"),
            database=DatabaseSettings(url=url),
            redis=RedisSettings(url=REDIS_URL, prefix=prefix),
            viber=ViberSettings(auth_token=SecretStr(TOKEN), api_base=api_url, bot_name="Mila"),
        )
        app = build_app(settings, redis=redis)
        channel = ViberChannel.from_app(app, client=ViberClient(TOKEN, api_url, timeout=10.0))

        async def baseline(request: web.Request) -> web.Response:
            body = await request.read()
            if not verify(body, request.headers.get(SIGNATURE_HEADER), TOKEN):
                return web.Response(status=403)
            return web.Response(status=200)

        web_app = web.Application()
        web_app.add_routes([*channel.routes(), web.post(BASELINE_PATH, baseline)])
        runner = web.AppRunner(web_app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        conn.send(runner.addresses[0][1])
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # "stop"
        await channel.close()
        await runner.cleanup()
        async for key in redis.scan_iter(match=prefix + "*", count=1000):
            await redis.delete(key)
        await app.close()


def serve_process(api_url: str, prefix: str, conn: Connection) -> None:
    asyncio.run(serve(api_url, prefix, conn))


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--callbacks", type=int, default=3000)
    parser.add_argument("--users", type=int, default=50)
    args = parser.parse_args()
    per_run = max(1, args.callbacks // args.users // 3)

    api = FakeViberApi(TOKEN)
    await api.start()
    parent, child = multiprocessing.get_context("spawn").Pipe()
    server = multiprocessing.get_context("spawn").Process(
        target=serve_process, args=(api.url, f"bench:{uuid.uuid4().hex[:8]}:", child), daemon=True
    )
    server.start()
    loop = asyncio.get_running_loop()
    if not await loop.run_in_executor(None, parent.poll, 60):
        server.kill()
        raise SystemExit("the server process did not start within 60 s")
    base = f"http://127.0.0.1:{parent.recv()}"
    try:
        tokens = iter(range(10**15, 10**16))
        bodies = {p: action_body(p) for p in NAVIGATION}

        def workload(n: int) -> list[list[Signed]]:
            return [[callback(u, next(tokens), bodies[NAVIGATION[i % 4]]) for i in range(n)]
                    for u in range(args.users)]  # fmt: skip

        connector = aiohttp.TCPConnector(limit=args.users * 2)
        async with aiohttp.ClientSession(connector=connector) as http:
            # First contact of every user (language chosen), outside the measurement.
            await run(http, base + WEBHOOK_PATH, [[callback(u, next(tokens), action_body("lang:sr"))]
                                                  for u in range(args.users)])  # fmt: skip
            # Warm both paths, then measure them alternately so machine noise hits both alike.
            await run(http, base + WEBHOOK_PATH, workload(4))
            await run(http, base + BASELINE_PATH, workload(4))
            viber_runs, base_runs = [], []
            for _ in range(3):
                viber_runs.append(await run(http, base + WEBHOOK_PATH, workload(per_run)))
                base_runs.append(await run(http, base + BASELINE_PATH, workload(per_run)))
    finally:
        parent.send("stop")
        await loop.run_in_executor(None, server.join, 30)
        if server.is_alive():
            server.kill()
        await api.close()
    sent = len(api.messages())

    viber_rate, viber_p99, viber_failed = max(viber_runs)
    base_rate, base_p99, base_failed = max(base_runs)
    print(f"users: {args.users}; callbacks per measured run: {args.users * per_run}; 3 runs each, best shown")
    print(
        f"viber webhook (signature, parse, dedupe, turn, send): {viber_rate:7.0f} callbacks/s  p99 {viber_p99:6.1f} ms"
    )
    print(f"baseline (same server, signature check only):         {base_rate:7.0f} callbacks/s  p99 {base_p99:6.1f} ms")
    print(f"ratio viber / baseline:                               {viber_rate / base_rate:7.2f}")
    print(
        f"non-200 answers: viber {viber_failed}, baseline {base_failed}; messages the fake Viber API accepted: {sent}"
    )
    if viber_failed or base_failed:
        raise SystemExit("some callbacks were not answered 200")


if __name__ == "__main__":
    asyncio.run(main())
