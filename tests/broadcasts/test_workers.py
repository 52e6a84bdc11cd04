"""Campaigns sent by several `mila run` processes on PostgreSQL through the fake platforms, as in production.

The fake Bot API allows 30 messages a second to all chats and the fake Viber API 30 a second (each answers 429 /
status 12 beyond that and counts them); the workers share one limit per platform through Redis.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from bot.db.models import Campaign, CampaignDelivery, ChannelUser
from tests.broadcasts.harness import CYRILLIC, TEXTS, Person, add_users_at, campaign_file
from tests.broadcasts.service import Worker, cli_env, mila, start_worker
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.viber_api import FakeViberApi

pytestmark = pytest.mark.postgres

LANGUAGES = ("sr", "sr-Cyrl", "tk")
EXPECTED = {"sr": TEXTS["sr"], "sr-Cyrl": CYRILLIC, "tk": TEXTS["tk"]}


async def counts(url: str, campaign_id: int) -> Counter[str]:
    engine = create_async_engine(url)
    try:
        async with async_sessionmaker(engine)() as db:
            rows = await db.execute(
                select(CampaignDelivery.status, func.count())
                .where(CampaignDelivery.campaign_id == campaign_id)
                .group_by(CampaignDelivery.status)
            )
            return Counter({status: int(n) for status, n in rows})
    finally:
        await engine.dispose()


async def campaign_status(url: str, campaign_id: int) -> str:
    engine = create_async_engine(url)
    try:
        async with async_sessionmaker(engine)() as db:
            return (await db.execute(select(Campaign.status).where(Campaign.id == campaign_id))).scalar_one()
    finally:
        await engine.dispose()


async def rows_by_user(url: str, campaign_id: int) -> dict[str, str]:
    engine = create_async_engine(url)
    try:
        async with async_sessionmaker(engine)() as db:
            rows = await db.execute(
                select(ChannelUser.external_id, CampaignDelivery.status)
                .join(ChannelUser, ChannelUser.id == CampaignDelivery.channel_user_id)
                .where(CampaignDelivery.campaign_id == campaign_id)
            )
            return dict(rows.all())
    finally:
        await engine.dispose()


async def sending_claimed(url: str, campaign_id: int, *, after: datetime) -> int:
    """Rows still being sent that were claimed after `after`."""
    engine = create_async_engine(url)
    try:
        async with async_sessionmaker(engine)() as db:
            d = CampaignDelivery
            query = select(func.count()).where(
                d.campaign_id == campaign_id, d.status == "sending", d.claimed_at > after
            )
            return int((await db.execute(query)).scalar_one())
    finally:
        await engine.dispose()


async def create_and_send(env: dict[str, str], tmp_path: Path, raw: dict[str, object], *, detach: bool) -> int:
    path = tmp_path / "campaign.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    code, out = await mila("campaign", "create", str(path), env=env)
    assert code == 0, out
    match = re.search(r"campaign (\d+) created", out)
    assert match, out
    campaign_id = int(match.group(1))
    if detach:
        code, out = await mila("campaign", "send", str(campaign_id), "--detach", env=env)
        assert code == 0, out
    return campaign_id


_running: list[Worker] = []


@pytest.fixture(autouse=True)
async def no_worker_left_behind() -> AsyncIterator[None]:
    """Whatever a test asserts, the processes it started do not outlive it."""
    yield
    while _running:
        worker = _running.pop()
        if worker.process.returncode is None:
            worker.process.kill()
            await worker.process.wait()


async def workers(n: int, fake_telegram: FakeTelegram, viber_api: FakeViberApi, url: str, prefix: str,
                  tmp_path: Path, **env: str) -> list[Worker]:  # fmt: skip
    tmp_path.mkdir(exist_ok=True)
    # The default margin (3 %): three workers and both fake platforms share two cores here, and a worker held up by
    # them drops the slots it missed rather than catching up in a burst the fakes would answer with a 429.
    started = list(
        await asyncio.gather(*(start_worker(fake_telegram, viber_api, database_url=url, redis_prefix=prefix,
                                            log_path=tmp_path / f"worker-{i}.log", **env) for i in range(n)))
    )  # fmt: skip
    _running.extend(started)
    return started


async def stop_all(processes: list[Worker]) -> None:
    codes = await asyncio.gather(*(p.stop() for p in processes))
    assert codes == [0] * len(processes), [p.logs()[-3000:] for p in processes]


async def test_two_thousand_users_on_both_platforms_get_it_once_in_their_language_within_the_limits(
    fake_telegram: FakeTelegram, viber_api: FakeViberApi, pg_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    fake_telegram.overall_per_second = 30
    viber_api.rate_limit(30)
    people = []
    for i in range(1000):
        fake_telegram.user(900_000 + i)
        people.append(Person("telegram", str(900_000 + i), LANGUAGES[i % 3]))
        people.append(Person("viber", f"vb{i:05d}Ab+/cD==", LANGUAGES[i % 3]))
    await add_users_at(pg_url, people)
    processes = await workers(3, fake_telegram, viber_api, pg_url, redis_prefix, tmp_path)
    env = cli_env(pg_url, redis_prefix)
    campaign_id = await create_and_send(env, tmp_path, campaign_file(), detach=False)

    code, out = await mila("campaign", "send", str(campaign_id), env=env, timeout=150)
    assert code == 0, out
    assert "sent 2,000" in out and "failed 0" in out, out  # the progress bar's last state
    await stop_all(processes)

    assert await counts(pg_url, campaign_id) == {"sent": 2000}
    for i in range(1000):
        user = fake_telegram.chats[900_000 + i]
        texts = [m["text"] for m in user.messages.values()]
        assert texts == [EXPECTED[LANGUAGES[i % 3]]], (i, texts)
    by_receiver = Counter(m["receiver"] for m in viber_api.messages())
    assert len(by_receiver) == 1000 and set(by_receiver.values()) == {1}
    for message in viber_api.messages():
        i = int(message["receiver"][2:7])
        assert message["text"] == EXPECTED[LANGUAGES[i % 3]]
    assert fake_telegram.caused_429 == 0, fake_telegram.too_many
    assert viber_api.too_many == 0
    times = sorted(c.at for c in fake_telegram.accepted_sends())
    rate = (len(times) - 1) / (times[-1] - times[0])
    assert 20 <= rate <= 30, f"{rate:.1f} Telegram messages/s (the limit is 30, the margin 3 %)"


async def test_a_429_pauses_every_worker_then_all_is_sent_once(
    fake_telegram: FakeTelegram, viber_api: FakeViberApi, pg_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    users = [fake_telegram.user(910_000 + i) for i in range(240)]
    await add_users_at(pg_url, [Person("telegram", str(u.id)) for u in users])
    processes = await workers(3, fake_telegram, viber_api, pg_url, redis_prefix, tmp_path)
    fake_telegram.limit_all_after(60, retry_after=3)
    env = cli_env(pg_url, redis_prefix)
    campaign_id = await create_and_send(env, tmp_path, campaign_file(), detach=True)

    async def finished() -> bool:
        return (await counts(pg_url, campaign_id))["sent"] == 240

    deadline = time.monotonic() + 60
    while not await finished():
        assert time.monotonic() < deadline, await counts(pg_url, campaign_id)
        await asyncio.sleep(0.2)
    await stop_all(processes)

    assert fake_telegram.too_many["injected"] == 1
    (paused_at,) = fake_telegram.injected_at
    during = [c for c in fake_telegram.accepted_sends() if paused_at <= c.at < paused_at + 3]
    assert during == [], f"{len(during)} messages went out during the pause"
    # Messages already on their way when the 429 came meet the pause too; nothing else does, and nothing is too fast.
    assert fake_telegram.too_many["paused"] <= 6 and fake_telegram.too_many["rate"] == 0, fake_telegram.too_many
    assert all(len(fake_telegram.bot_messages(u)) == 1 for u in users)


async def test_a_worker_killed_half_way_never_causes_a_duplicate_and_the_rest_is_sent(
    fake_telegram: FakeTelegram, viber_api: FakeViberApi, pg_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    users = [fake_telegram.user(920_000 + i) for i in range(300)]
    await add_users_at(pg_url, [Person("telegram", str(u.id)) for u in users])
    batch = 10
    # This test is about a crash, not the rate: a wider margin keeps a 429 pause (which holds every worker for two
    # seconds and would pass for "settled" below) out of it.
    margin = {"BROADCAST_RATE_MARGIN": "0.15"}
    processes = await workers(3, fake_telegram, viber_api, pg_url, redis_prefix, tmp_path, BROADCAST_BATCH=str(batch),
                              **margin)  # fmt: skip
    env = cli_env(pg_url, redis_prefix)
    campaign_id = await create_and_send(env, tmp_path, campaign_file(), detach=True)

    deadline = time.monotonic() + 60
    while (await counts(pg_url, campaign_id))["sent"] < 150:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    victim = processes.pop(0)
    victim.process.kill()  # SIGKILL: no clean-up of any kind
    await victim.process.wait()
    killed_at = datetime.now(UTC)  # every row the victim claimed was claimed before this moment
    processes += await workers(1, fake_telegram, viber_api, pg_url, redis_prefix, tmp_path / "restarted", **margin)

    # Waited for by what the rows say, not by the clock: on a loaded machine a worker may stall for seconds.
    deadline = time.monotonic() + 180
    while (await counts(pg_url, campaign_id))["pending"] > 0:
        assert time.monotonic() < deadline, await counts(pg_url, campaign_id)
        await asyncio.sleep(0.2)
    # The surviving workers finish the batches they hold: first every one they claimed after the kill ...
    while await sending_claimed(pg_url, campaign_id, after=killed_at):
        assert time.monotonic() < deadline, await counts(pg_url, campaign_id)
        await asyncio.sleep(0.2)
    # ... then the few they had claimed just before it, which leave "sending" by the time the count stands still
    # for four seconds (longer than any pause); only the killed worker's rows are then left "sending".
    settled, previous = 0, -1
    while settled < 8:
        assert time.monotonic() < deadline, await counts(pg_url, campaign_id)
        current = (await counts(pg_url, campaign_id)).get("sending", 0)
        settled, previous = (settled + 1, current) if current == previous else (0, current)
        await asyncio.sleep(0.5)
    await stop_all(processes)

    final = await counts(pg_url, campaign_id)
    rows = await rows_by_user(pg_url, campaign_id)
    received = {str(u.id): len(fake_telegram.bot_messages(u)) for u in users}
    assert max(received.values()) == 1, "somebody got the news twice"
    assert set(final) <= {"sent", "sending"} and final["sent"] + final["sending"] == 300, final
    # At this rate a worker claims in two lanes side by side, a batch each: that is what a kill can strand.
    lost = final["sending"]
    assert await sending_claimed(pg_url, campaign_id, after=killed_at) == 0, "a survivor's row was left sending"
    assert lost <= 2 * batch, f"{lost} rows lost with the killed worker (two lanes of a batch of {batch})"
    # Rows just left "sending" may still be on their way as far as the others know: the campaign stays open a while.
    assert await campaign_status(pg_url, campaign_id) == ("sending" if lost else "done")
    assert all(received[user] == 1 for user, status in rows.items() if status == "sent")
