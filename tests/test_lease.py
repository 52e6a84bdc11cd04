"""The dedupe claim's lease (`bot.channels.lease`): it lives while its block runs and ends with it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from bot.channels.lease import Lease
from tests.conftest import REDIS_URL


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


async def test_a_lease_ends_with_its_block_even_when_a_renewal_swallows_the_cancellation(
    redis: Redis, redis_prefix: str
) -> None:
    """Under a burst every Redis connection is taken and a renewal waits for one; a cancellation landing there can be
    swallowed (Python 3.11's timeouts inside the Redis client's pool). The renewal must not then go on for ever,
    keeping the update "in progress" and the turn that held it — and the user's later turns behind it — waiting."""
    lease = Lease(redis, 1)
    key = redis_prefix + "telegram:update:1"
    await redis.set(key, "p", ex=1)
    renewing = asyncio.Event()
    renew = lease._renew
    swallowed: list[bool] = []

    async def renewal_waiting_for_a_connection(**options: Any) -> Any:
        renewing.set()
        try:
            await asyncio.sleep(0.5)
        except asyncio.CancelledError:
            if swallowed:
                raise
            swallowed.append(True)  # once, as the pool's wait may do
        return await renew(**options)

    lease._renew = renewal_waiting_for_a_connection  # type: ignore[assignment]

    async def turn() -> None:
        async with lease.kept(key, "p"):
            await renewing.wait()  # the turn ends while its claim is being renewed

    holder = asyncio.create_task(turn())
    await asyncio.wait({holder}, timeout=5)
    ended = holder.done()
    holder.cancel()
    assert ended, "the turn never ended: its claim was renewed on and on"
    assert swallowed
    await asyncio.sleep(1.5)
    assert await redis.get(key) is None  # nothing renews it any more: it lapsed
