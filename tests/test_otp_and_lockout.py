"""One-time codes and lockouts on the real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from bot.core.incoming import UserRef
from bot.services.lockout import Lockout, LockoutPolicy
from bot.services.otp import CodeCheck, OneTimeCodes
from bot.services.phones import BadPhone, mask_phone, normalize_phone
from tests.conftest import REDIS_URL

SECRET = b"test-secret"
ALICE = UserRef("telegram", "1001")
MALLORY = UserRef("viber", "mallory==")


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


async def test_a_code_works_once_and_only_in_its_chat(redis: Redis, redis_prefix: str) -> None:
    codes = OneTimeCodes(redis, redis_prefix, SECRET)
    code = await codes.issue(ALICE, "subscriber-7")
    assert len(code) == 6 and code.isdigit()
    assert (await codes.check(MALLORY, code)).status is CodeCheck.NONE  # another chat
    result = await codes.check(ALICE, f" {code[:3]} {code[3:]} ")  # typed with spaces
    assert result.status is CodeCheck.OK and result.subject == "subscriber-7"
    assert (await codes.check(ALICE, code)).status is CodeCheck.NONE  # single use


async def test_three_wrong_tries_end_the_code(redis: Redis, redis_prefix: str) -> None:
    codes = OneTimeCodes(redis, redis_prefix, SECRET)
    code = await codes.issue(ALICE, "s")
    wrong = "000000" if code != "000000" else "111111"
    first = await codes.check(ALICE, wrong)
    assert first.status is CodeCheck.WRONG and first.tries_left == 2
    assert (await codes.check(ALICE, wrong)).tries_left == 1
    assert (await codes.check(ALICE, wrong)).status is CodeCheck.EXHAUSTED
    assert (await codes.check(ALICE, code)).status is CodeCheck.NONE  # even the right one is gone now


async def test_a_code_expires(redis: Redis, redis_prefix: str) -> None:
    codes = OneTimeCodes(redis, redis_prefix, SECRET, ttl_seconds=1)
    code = await codes.issue(ALICE, "s")
    await asyncio.sleep(1.2)
    assert (await codes.check(ALICE, code)).status is CodeCheck.NONE


async def test_a_new_code_replaces_the_old_one(redis: Redis, redis_prefix: str) -> None:
    codes = OneTimeCodes(redis, redis_prefix, SECRET)
    old = await codes.issue(ALICE, "s")
    new = await codes.issue(ALICE, "s")
    if old != new:
        assert (await codes.check(ALICE, old)).status is CodeCheck.WRONG
    assert (await codes.check(ALICE, new)).status is CodeCheck.OK


async def test_redis_never_holds_the_code(redis: Redis, redis_prefix: str) -> None:
    code = await OneTimeCodes(redis, redis_prefix, SECRET).issue(ALICE, "s")
    async for key in redis.scan_iter(match=redis_prefix + "*"):
        values = await redis.hgetall(key)
        assert all(code.encode() not in v for v in values.values())


async def test_five_failures_lock_the_subscriber_in_every_chat(redis: Redis, redis_prefix: str) -> None:
    lockout = Lockout(redis, redis_prefix, SECRET, LockoutPolicy(threshold=5, lock_seconds=900))
    for n in range(5):
        assert await lockout.locked_for(MALLORY if n % 2 else ALICE, "+381641234567") == 0
        await lockout.failed(MALLORY if n % 2 else ALICE, "+381641234567")
    third_chat = UserRef("telegram", "3003")
    assert 890 <= await lockout.locked_for(third_chat, "+381641234567") <= 900
    assert await lockout.locked_for(third_chat, "+381649999999") == 0  # another subscriber is not affected


async def test_five_failures_lock_the_chat_for_every_subscriber(redis: Redis, redis_prefix: str) -> None:
    lockout = Lockout(redis, redis_prefix, SECRET)
    for n in range(5):
        await lockout.failed(MALLORY, f"+38164000000{n}")  # enumeration: a different number each time
    assert await lockout.locked_for(MALLORY, "+381641111111") > 0
    assert await lockout.locked_for(MALLORY) > 0
    assert await lockout.locked_for(ALICE, "+381641111111") == 0


async def test_success_clears_the_counters(redis: Redis, redis_prefix: str) -> None:
    lockout = Lockout(redis, redis_prefix, SECRET)
    for _ in range(4):
        await lockout.failed(ALICE, "x")
    await lockout.succeeded(ALICE, "x")
    await lockout.failed(ALICE, "x")
    assert await lockout.locked_for(ALICE, "x") == 0


async def test_a_flood_of_failures_pauses_everyone(redis: Redis, redis_prefix: str) -> None:
    lockout = Lockout(redis, redis_prefix, SECRET, LockoutPolicy(total_threshold=20))
    for n in range(20):
        await lockout.failed(UserRef("viber", f"bot{n}"), f"guess{n}")
    assert await lockout.locked_for(ALICE, "+381641234567") > 0


async def test_lockout_keys_hold_no_number(redis: Redis, redis_prefix: str) -> None:
    await Lockout(redis, redis_prefix, SECRET).failed(ALICE, "+381641234567")
    keys = [k.decode() async for k in redis.scan_iter(match=redis_prefix + "*")]
    assert keys and not any("381641234567" in k for k in keys)


@pytest.mark.parametrize(
    ("typed", "region", "e164"),
    [
        ("064 123 4567", "RS", "+381641234567"),
        ("+381 64 123-45-67", "RS", "+381641234567"),
        ("381641234567", "RS", "+381641234567"),  # Telegram contacts may lack the +
        ("011 123 4567", "RS", "+381111234567"),
        ("+993 66 300890", "TM", "+99366300890"),
        ("866300890", "TM", "+99366300890"),
    ],
)
def test_numbers_are_normalized(typed: str, region: str, e164: str) -> None:
    assert normalize_phone(typed, region) == e164


@pytest.mark.parametrize("typed", ["12", "hello", "+381 64", ""])
def test_bad_numbers(typed: str) -> None:
    with pytest.raises(BadPhone):
        normalize_phone(typed, "RS")


def test_numbers_are_shown_masked() -> None:
    assert mask_phone("+381641234567") == "+381 64 ••• •• 67"
