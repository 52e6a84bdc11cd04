"""The sending limits shared across processes: the 429 pause in Redis, per-chat pacing, update dedupe."""

from __future__ import annotations

import time

from redis.asyncio import Redis

from bot.channels.telegram.dedupe import Claim, UpdateDedupe
from bot.channels.telegram.sender import GlobalPause
from bot.core.outbound import ChatPace
from tests.conftest import REDIS_URL


async def test_a_pause_set_by_one_process_is_respected_by_another(redis_prefix: str) -> None:
    first, second = Redis.from_url(REDIS_URL), Redis.from_url(REDIS_URL)
    try:
        key = redis_prefix + "telegram:pause-until"
        here, there = GlobalPause(first, key, refresh=0), GlobalPause(second, key, refresh=0)
        assert await there.remaining() == 0
        await here.pause_for(5)
        assert 3 < await there.remaining() <= 5
        await there.pause_for(1)  # a shorter pause never shortens a longer one
        assert await here.remaining() > 3
    finally:
        await first.aclose()
        await second.aclose()


async def test_pacing_allows_a_burst_then_about_one_message_a_second_whichever_process_sends(
    redis_prefix: str,
) -> None:
    first, second = Redis.from_url(REDIS_URL), Redis.from_url(REDIS_URL)
    try:
        here = ChatPace(first, redis_prefix + "chat:", rate=1.0, burst=3)
        there = ChatPace(second, redis_prefix + "chat:", rate=1.0, burst=3)
        waits = [await here._pace(keys=[redis_prefix + "chat:1"], args=[here.interval_us, here.tolerance_us])
                 for _ in range(2)]  # fmt: skip
        waits.append(await there._pace(keys=[redis_prefix + "chat:1"], args=[there.interval_us, there.tolerance_us]))
        assert [int(w) for w in waits] == [0, 0, 0]  # the burst, shared by both processes
        fourth = int(await there._pace(keys=[redis_prefix + "chat:1"], args=[there.interval_us, there.tolerance_us]))
        assert 0.9e6 < fourth <= 1.0e6
        fifth = int(await here._pace(keys=[redis_prefix + "chat:1"], args=[here.interval_us, here.tolerance_us]))
        assert 1.9e6 < fifth <= 2.0e6
        assert await here.wait("2") == 0.0  # another chat has its own pace
    finally:
        await first.aclose()
        await second.aclose()


async def test_dedupe_claims_once_and_lets_a_failed_update_come_back(redis_prefix: str) -> None:
    redis = Redis.from_url(REDIS_URL)
    try:
        dedupe, other = UpdateDedupe(redis, redis_prefix), UpdateDedupe(redis, redis_prefix)
        assert await dedupe.claim(7) is Claim.NEW
        assert await other.claim(7) is Claim.IN_PROGRESS
        await dedupe.release(7)  # it failed: the re-delivery is handled
        assert await other.claim(7) is Claim.NEW
        await other.done(7)
        assert await dedupe.claim(7) is Claim.DONE
        ttl = await redis.ttl(redis_prefix + "telegram:update:7")
        assert ttl > 24 * 3600
    finally:
        await redis.aclose()


def test_pause_is_a_point_in_time() -> None:
    assert time.time() > 1_700_000_000  # the pause is stored as a Unix time, shared by every process's clock
