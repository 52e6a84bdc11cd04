"""The broadcast limiter on the real Redis: several workers together keep to one rate and respect a 429 pause."""

from __future__ import annotations

import asyncio
import itertools
import time

from redis.asyncio import Redis

from bot.core.outbound.limiter import BULK, REPLY, RateLimiter
from tests.conftest import REDIS_URL


async def test_workers_sharing_a_limit_together_send_at_the_rate(redis_prefix: str) -> None:
    clients = [Redis.from_url(REDIS_URL) for _ in range(3)]
    limiters = [RateLimiter(c, redis_prefix + "broadcast:telegram", 100.0) for c in clients]
    sent: list[float] = []

    async def worker(limiter: RateLimiter) -> None:
        for _ in range(40):
            await limiter.acquire()
            sent.append(time.monotonic())

    started = time.monotonic()
    await asyncio.gather(*(worker(limiter) for limiter in limiters))
    elapsed = time.monotonic() - started
    for client in clients:
        await client.aclose()
    assert 1.1 <= elapsed < 2.0, elapsed  # 120 slots 10 ms apart
    sent.sort()
    in_any_half_second = max(sum(1 for t in sent if s <= t < s + 0.5) for s in sent)
    assert in_any_half_second <= 55, in_any_half_second  # 50 and a little scheduling jitter


async def test_nobody_gets_a_slot_during_a_pause_and_new_slots_start_a_gap_later(redis_prefix: str) -> None:
    client = Redis.from_url(REDIS_URL)
    pause_key = redis_prefix + "telegram:pause-until"
    limiter = RateLimiter(client, redis_prefix + "broadcast:telegram", 30.0, pause_key=pause_key, gap_seconds=0.5)
    await client.set(pause_key, repr(time.time() + 1.0), px=5000)  # what GlobalPause writes on a 429
    started = time.monotonic()
    await limiter.acquire()
    waited = time.monotonic() - started
    await client.aclose()
    assert 1.4 <= waited < 2.2, waited


async def test_a_stalled_worker_drops_the_slots_it_missed_instead_of_sending_them_in_a_burst(
    redis_prefix: str,
) -> None:
    client = Redis.from_url(REDIS_URL)
    limiter = RateLimiter(client, redis_prefix + "broadcast:telegram", 100.0)
    sent: list[float] = []
    stalled = asyncio.Event()

    async def sender() -> None:
        for _ in range(10):
            await limiter.acquire()
            sent.append(time.monotonic())
            if len(sent) == 40 and not stalled.is_set():
                stalled.set()
                time.sleep(0.3)  # the whole process is held up: a busy loop, a garbage collection, a CPU taken

    await asyncio.gather(*(sender() for _ in range(20)))  # as many in flight as a worker at 400/s keeps
    await client.aclose()
    assert limiter.dropped >= 20, limiter.dropped  # every slot that fell in the stall
    in_any_tenth = max(sum(1 for t in sent if s <= t < s + 0.1) for s in sent)
    assert in_any_tenth <= 12, in_any_tenth  # 10 and a little jitter, not the twenty that were waiting


async def test_a_broadcast_yields_while_replies_hold_the_schedule_and_fills_what_they_leave(
    redis_prefix: str,
) -> None:
    client = Redis.from_url(REDIS_URL)
    try:
        key = redis_prefix + "outbound:telegram:rate"
        reply = RateLimiter(client, key, 50.0, priority=REPLY)
        bulk = RateLimiter(client, key, 50.0, priority=BULK)
        replies_done: list[float] = []
        bulk_done: list[float] = []

        async def replies() -> None:
            await asyncio.gather(*(reply.acquire() for _ in range(25)))  # half a second of the rate, at once
            replies_done.append(time.monotonic())

        async def broadcast(until: float) -> None:
            while time.monotonic() < until:
                await bulk.acquire()
                bulk_done.append(time.monotonic())

        start = time.monotonic()
        await asyncio.gather(replies(), broadcast(start + 1.0))
        assert replies_done[0] - start < 25 / 50 + 0.1  # as fast as if the broadcast were not there
        during = [t for t in bulk_done if t < replies_done[0]]
        after = [t for t in bulk_done if t > replies_done[0]]
        assert len(during) <= 2, len(during)  # the broadcast waited while the replies were queued
        assert len(after) > 15, len(after)  # then took the rest of the rate
        assert len(bulk_done) + 25 <= 50 * 1.0 + 2  # together never above the rate
    finally:
        await client.aclose()


async def test_a_reply_that_must_wait_for_its_chat_leaves_the_slots_it_passes_over_to_the_next_replies(
    redis_prefix: str,
) -> None:
    """A chat whose pace says "not before half a second from now" gets the first slot after that moment; the ten
    slots before it are not reserved and thrown away but go to the replies that ask next, in order, at the rate."""
    client = Redis.from_url(REDIS_URL)
    try:
        limiter = RateLimiter(client, redis_prefix + "outbound:telegram:rate", 20.0, priority=REPLY)
        start = time.monotonic()
        paced = await limiter.reserve_after(start + 0.5)
        others = [await limiter.reserve_after(0.0) for _ in range(12)]
        assert 0.45 <= paced - start < 0.6, paced - start
        before = [slot for slot in others if slot < paced]
        assert len(before) >= 8, [round(slot - start, 3) for slot in others]  # the holes, all used
        assert before == sorted(before)  # handed out first come, first served
        every = sorted([paced, *others])
        # Slots 50 ms apart, each read in this process's clock when its answer is handled (a loaded event loop
        # delays that by a few milliseconds): two replies given one slot would be under a millisecond apart.
        assert min(b - a for a, b in itertools.pairwise(every)) >= 0.05 - 0.02  # never above the rate
        assert every[-1] - every[0] >= 12 * 0.05 - 0.02
        assert every[-1] - start < 13 * 0.05 + 0.1  # 13 replies in 13 slots: none went unused
    finally:
        await client.aclose()


async def test_replies_racing_for_the_holes_each_get_their_own_slot(redis_prefix: str) -> None:
    """Dozens of replies from several processes at once: every hole and every slot goes to exactly one of them."""
    clients = [Redis.from_url(REDIS_URL) for _ in range(3)]
    try:
        key = redis_prefix + "outbound:telegram:rate"
        limiters = [RateLimiter(client, key, 50.0, priority=REPLY) for client in clients]
        start = time.monotonic()
        await limiters[0].reserve_after(start + 1.0)  # leaves about 50 holes before it
        slots = await asyncio.gather(*(limiters[n % 3].reserve_after(0.0) for n in range(60)))
        assert await clients[0].zcard(limiters[0].holes_key) == 0  # every hole was taken
        before = [slot for slot in slots if slot < start + 1.0]
        assert len(before) >= 45, len(before)  # the holes went to them, not to the end of the queue
        # Slots 20 ms apart; each is read in this process's clock when its answer is handled, which a loaded event
        # loop delays by a few milliseconds: two replies given the same slot would be under a millisecond apart.
        ordered = sorted(slots)
        assert min(b - a for a, b in itertools.pairwise(ordered)) >= 0.01, [round(t - start, 3) for t in ordered]
    finally:
        for client in clients:
            await client.aclose()
