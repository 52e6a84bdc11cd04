"""When a campaign may go (start time, quiet hours in the profile's time zone) and what Viber says came of it."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.server import take_receipts
from bot.services.campaigns import store
from tests.broadcasts.conftest import MakePlatforms
from tests.broadcasts.harness import Person, add_users, campaign_file, new_campaign, statuses
from tests.fakes.viber_api import ViberUser


async def test_nothing_goes_before_the_start_or_during_quiet_hours(
    sqlite_url: str, make_platforms: MakePlatforms
) -> None:
    world = await make_platforms(sqlite_url)
    users = [world.fake_telegram.user(7400 + i) for i in range(3)]
    await add_users(world.app.deps.sessionmaker, [Person("telegram", str(u.id)) for u in users])
    # 09:00 local on 1 December in Belgrade is 08:00 UTC; nothing between 21:00 and 09:00 local.
    raw = campaign_file(start="2026-12-01T09:00:00", quiet_hours="21:00-09:00")
    campaign_id = await new_campaign(world.app.deps.sessionmaker, raw, now=datetime(2026, 11, 30, 12, 0, tzinfo=UTC))
    worker = world.worker()

    world.now = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # the day before the start
    assert await worker.run_until_idle() == 0
    world.now = datetime(2026, 12, 1, 21, 30, tzinfo=UTC)  # 22:30 in Belgrade: night
    assert await worker.run_until_idle() == 0
    world.now = datetime(2026, 12, 2, 7, 55, tzinfo=UTC)  # 08:55 local: still quiet
    assert await worker.run_until_idle() == 0
    assert all(world.fake_telegram.bot_messages(u) == [] for u in users)
    assert await statuses(world.app.deps.sessionmaker, campaign_id) == {"pending": 3}

    world.now = datetime(2026, 12, 2, 8, 1, tzinfo=UTC)  # 09:01 local
    assert await worker.run_until_idle() == 3
    assert all(len(world.fake_telegram.bot_messages(u)) == 1 for u in users)


async def test_viber_receipts_count_delivered_and_seen(sqlite_url: str, make_platforms: MakePlatforms) -> None:
    world = await make_platforms(sqlite_url)
    await add_users(world.app.deps.sessionmaker, [Person("viber", "vbSeen01=="), Person("viber", "vbGot01==")])
    campaign_id = await new_campaign(world.app.deps.sessionmaker, campaign_file())
    await world.worker().run_until_idle()
    take_receipts(world.app, [world.viber, world.telegram])  # as `mila run` wires it
    web_app = web.Application()
    web_app.add_routes(world.viber.routes())
    server = TestServer(web_app, host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            url = str(server.make_url("/webhook/viber"))
            for receiver, events in (("vbSeen01==", ("delivered", "seen", "seen")), ("vbGot01==", ("delivered",))):
                user = ViberUser(world.fake_viber, url, http, receiver)
                for event in events:
                    status, _ = await user.post(
                        {"event": event, "timestamp": int(time.time() * 1000), "chat_hostname": "SN-FAKE_",
                         "message_token": world.fake_viber.tokens[receiver], "user_id": receiver}
                    )  # fmt: skip
                    assert status == 200
            other, _ = await ViberUser(world.fake_viber, url, http, "vbGot01==").post(
                {"event": "seen", "timestamp": int(time.time() * 1000), "message_token": 1, "user_id": "vbGot01=="}
            )  # a receipt of a message that was no campaign's
            assert other == 200
    finally:
        await server.close()
    async with world.app.deps.sessionmaker() as db:
        totals = await store.totals(db, campaign_id)
    assert (totals.delivered, totals.seen, totals.receipt_failed) == (2, 1, 0)
