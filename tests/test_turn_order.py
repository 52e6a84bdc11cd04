"""One user's replies in the order of their turns across processes (`bot.core.outbound.order`): a turn whose
sending takes longer than its process's "alive" key lives keeps its place, as long as the process lives.

Two `TurnOrder`s with Redis clients of their own stand for two `mila run` processes. The alive key's life is cut
to a fraction of a second here (3 s in production), so that a turn "slower than the key" takes a second, not many.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from redis.asyncio import BlockingConnectionPool, Redis

from bot.core.outbound import TurnOrder
from tests.conftest import REDIS_URL

ALIVE = 0.3  # seconds: the alive key's life without a renewal
SLOW = 5 * ALIVE  # a turn that takes five of them to send its replies


@pytest.fixture
async def orders(redis_prefix: str) -> AsyncIterator[list[TurnOrder]]:
    """Two processes' orders: the first on a Redis pool of two connections (as a busy process has none to spare)."""
    small = Redis(connection_pool=BlockingConnectionPool.from_url(REDIS_URL, max_connections=2, timeout=10))
    other = Redis.from_url(REDIS_URL)
    made = [TurnOrder(client, f"{redis_prefix}order:", ttl_seconds=60, grace_seconds=ALIVE, alive_seconds=ALIVE)
            for client in (small, other)]  # fmt: skip
    yield made
    for order in made:
        await order.close()
    await small.aclose()
    await other.aclose()


async def run_two_turns(here: TurnOrder, there: TurnOrder, slow_sending: Callable[[], Awaitable[None]]) -> list[str]:
    """Turn 1 runs here and sends once `slow_sending()` is done; turn 2, run after it, is sent by the other process."""
    sent: list[str] = []
    await here.claim("viber:u1", 1)  # inside the user's session lock, as the engine numbers the turn

    async def first() -> None:
        async with here.turn("viber:u1", 1) as gate:
            await slow_sending()
            await gate.reserved()
            await gate.previous_sent()
            sent.append("turn 1")

    async def second() -> None:
        await asyncio.sleep(0.05)  # its turn ran after the first one's
        await there.claim("viber:u1", 2)
        async with there.turn("viber:u1", 2) as gate:
            await gate.reserved()
            await gate.previous_sent()
            sent.append("turn 2")

    await asyncio.gather(first(), second())
    return sent


async def test_a_turn_slower_than_the_alive_key_keeps_its_place(orders: list[TurnOrder]) -> None:
    here, there = orders
    started = time.monotonic()
    sent = await run_two_turns(here, there, lambda: asyncio.sleep(SLOW))
    assert sent == ["turn 1", "turn 2"]
    assert there.skipped == 0 and time.monotonic() - started >= SLOW


async def test_a_turn_keeps_its_place_while_its_process_has_no_redis_connection_to_spare(
    orders: list[TurnOrder],
) -> None:
    """A burst takes every connection of the process's pool for longer than the alive key lives (slow commands, a
    queue of turns): the renewal of the key must not wait in that queue, or the process passes for dead and the
    user's next turn, sent elsewhere, overtakes this one."""
    here, there = orders

    async def busy() -> None:  # once turn 1 was claimed, every connection of the pool taken for a while
        await asyncio.gather(*(here.redis.blpop([f"{here.prefix}nothing:{n}"], timeout=SLOW) for n in range(2)))

    sent = await run_two_turns(here, there, busy)
    assert sent == ["turn 1", "turn 2"]
    assert there.skipped == 0
